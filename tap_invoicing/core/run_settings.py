"""The settings every provider shares, read once per run into a frozen ``RunSettings``.

The defaults live here and nowhere else: the settings schema (``tap_invoicing.settings``) quotes
them in its descriptions, and the engine reads only the parsed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tap_invoicing.core.bookmark import BookmarkScope
from tap_invoicing.core.concurrency import AdaptiveLimit, ConcurrencyLimit, FixedLimit
from tap_invoicing.core.dates import DateRange, parse_time

if TYPE_CHECKING:
    from tap_invoicing.core.provider import Provider

AUTO = "auto"
"""``max_workers``' default: adapt the concurrency while the run goes."""
DEFAULT_MAX_WORKERS_CEILING = 64
DEFAULT_MAX_LIST_PAGES = 1000
"""The page cap the Revolv3 reference shows and PayPal documents (``1 <= page <= 1000``)."""
DEFAULT_REQUEST_TIMEOUT = 60
"""Seconds: a silent server costs a minute, not the SDK's 5 minutes."""


def fixed_workers(value: object) -> int | None:
    """A fixed ``max_workers``: an integer, or one written as text (Meltano passes strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def api_root(config: Mapping[str, Any], provider: Provider) -> str:
    """The API root URL: the ``base_url`` override when set, else the environment's host."""
    if config.get("base_url"):
        return str(config["base_url"]).rstrip("/")
    return provider.environments[config.get("environment", provider.default_environment)]


@dataclass(frozen=True)
class RunSettings:
    """One run's settings, checked beforehand by ``tap_invoicing.settings``."""

    api_root: str
    page_size: int
    start_date: datetime | None
    end_date: datetime | None
    """Exclusive: the invoices dated before it (see ``dates``)."""
    max_list_pages: int
    request_timeout: float
    fixed_workers: int | None
    """``max_workers`` as a number; None for ``auto``."""
    max_workers_ceiling: int
    max_requests_per_second: float | None
    log_request_metrics: bool
    account: tuple[str, ...]
    """The values of the provider's account settings (they tell accounts apart)."""
    options: Mapping[str, Any]
    """The whole config, for the settings only one provider has (credentials, options)."""

    @classmethod
    def parse(cls, config: Mapping[str, Any], provider: Provider) -> RunSettings:
        """The settings of a run of ``provider``, with its defaults where unset."""
        rate = config.get("max_requests_per_second")
        return cls(
            api_root=api_root(config, provider),
            page_size=int(config.get("page_size") or provider.default_page_size),
            start_date=parse_time(config.get("start_date")),
            end_date=parse_time(config.get("end_date")),
            max_list_pages=int(config.get("max_list_pages") or DEFAULT_MAX_LIST_PAGES),
            request_timeout=float(config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT),
            fixed_workers=fixed_workers(config.get("max_workers", AUTO)),
            max_workers_ceiling=int(
                config.get("max_workers_ceiling") or DEFAULT_MAX_WORKERS_CEILING
            ),
            max_requests_per_second=(
                float(rate) if rate is not None else provider.default_max_requests_per_second
            ),
            log_request_metrics=bool(config.get("log_request_metrics", False)),
            account=tuple(str(config.get(name, "")) for name in provider.account_settings),
            options=dict(config),
        )

    @property
    def dates(self) -> DateRange:
        """The invoices this run selects by their date (each provider's, ``invoice_date``)."""
        return DateRange(self.start_date, self.end_date)

    def concurrency_limit(self) -> ConcurrencyLimit:
        """A fixed pool for a number, else (``auto``) a limit adapting up to the ceiling."""
        if self.fixed_workers is not None:
            return FixedLimit(self.fixed_workers)
        return AdaptiveLimit(ceiling=self.max_workers_ceiling)

    def bookmark_scope(self, provider: Provider, streams: list[str]) -> BookmarkScope:
        """What this run's bookmark is made for: provider, API root, account, dates, streams."""
        return BookmarkScope(
            provider=provider.name,
            api_root=self.api_root,
            account=BookmarkScope.account_digest(list(self.account)),
            start_date=self.start_date,
            streams=tuple(streams),
            end_date=self.end_date,
            account_settings=", ".join(provider.account_settings),
        )
