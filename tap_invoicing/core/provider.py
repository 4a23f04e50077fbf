"""What a provider plugs into the engine: its settings, auth, API description and streams.

A provider package builds one :class:`Provider`; the engine reads it and knows no provider.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import logging
    from pathlib import Path

    import requests
    from singer_sdk import typing as th

    from tap_invoicing.core.bookmark import BookmarkScope
    from tap_invoicing.core.listing import Listing
    from tap_invoicing.core.plans import ChangePlan


class Transport(Protocol):
    """The run's requests, as an authenticator that needs its own (a token request) sees them:
    throttled by the run's gate, retried and redacted like every other request."""

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """Send one request through the run's session, gate and retries."""
        ...


@dataclass(frozen=True)
class ChildSpec:
    """A child stream declared as data: one record per entry of a list nested in the invoice."""

    name: str
    items_at: tuple[str, ...]
    """Where the list sits in the invoice record, e.g. ``("orderInformation", "lineItems")``."""
    primary_keys: tuple[str, ...]
    parent_id: str = "invoiceId"
    """The field each record carries its invoice's id in."""
    numbered: str | None = None
    """A field numbering the entries (for lists whose entries have no id of their own)."""
    number_from: int = 0
    oldest_first: bool = False
    """Reverse a newest-first list before numbering, so numbers never change as it grows."""
    keyed: tuple[str, Callable[[list[Mapping]], list[str]]] | None = None
    """A field the tap fills with a key of each entry, and the function that derives the keys
    of a whole list (for entries whose own id is sometimes absent)."""


@dataclass(frozen=True)
class ListRequest:
    """How one page of the list is asked for."""

    method: str
    path: str
    params: Mapping[str, Any]
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RunStart:
    """What a run starts from, for the provider to choose its listing and change plan."""

    bookmark: Mapping
    """The invoices stream's state ({} on a first run, or when it does not fit this run)."""
    scope: BookmarkScope
    account_settings: str
    """The names of the settings that tell accounts apart, for a mismatch's message."""
    page_size: int
    config: Mapping
    logger: logging.Logger


class InvoiceApi(abc.ABC):
    """One provider's invoice endpoints, as the engine uses them."""

    list_path: str

    def __init__(self, config: Mapping) -> None:
        self.config = config

    @abc.abstractmethod
    def begin(self, run: RunStart) -> tuple[Listing, ChangePlan]:
        """This run's listing and change plan. Raises BookmarkMismatchError when the bookmark
        was made for another run (the engine then begins again without it)."""

    @abc.abstractmethod
    def page_items(self, payload: Any) -> list[dict]:
        """The invoices of one list page."""

    @abc.abstractmethod
    def missing_fields(self, payload: Any, *, listed: bool) -> list[str]:
        """Fields a well-formed list page (``listed``) or detail lacks: such a body is retried."""

    @abc.abstractmethod
    def item_id(self, item: Mapping) -> str:
        """The id that addresses a listed invoice's detail."""

    @abc.abstractmethod
    def detail_path(self, invoice_id: str) -> str:
        """The path of one invoice's detail, already URL-encoded."""

    def list_params(self) -> dict[str, Any]:
        """Query parameters every list page carries."""
        return {}

    @property
    def list_paths(self) -> tuple[str, ...]:
        """Every path a list page is asked for at (a search endpoint, say)."""
        return (self.list_path,)

    def list_request(self, query: Mapping[str, Any]) -> ListRequest:
        """The request for the page the listing chose: by default a GET of the list path."""
        return ListRequest("GET", self.list_path, {**self.list_params(), **query})

    def detail_params(self) -> dict[str, Any]:
        """Query parameters every detail request carries."""
        return {}

    def page_total(self, payload: Any) -> int | None:
        """How many invoices the whole list holds, when the API says."""
        return None

    def is_complete(self, item: Mapping) -> bool:
        """Whether a list item already is the whole invoice, so no detail is requested."""
        return False

    def last_activity(self, invoice: Mapping) -> datetime | None:
        """The latest thing that happened to an invoice, for ``start_date`` (None: the API
        filters by start date itself, or cannot tell)."""
        return None

    def finish_record(self, invoice: dict) -> dict:
        """The conformed invoice as the record to emit (normalised companions, the replication
        value): called on the fetch workers."""
        return invoice


@dataclass(frozen=True)
class Provider:
    """One invoicing API: the tap's settings and streams are driven by this description."""

    name: str
    label: str
    environments: Mapping[str, str]
    default_environment: str
    settings: tuple[th.Property, ...]
    """The settings only this provider has (credentials, options)."""
    credential_settings: tuple[str, ...]
    account_settings: tuple[str, ...]
    """The settings that tell one account from another: a bookmark serves only its account."""
    check_settings: Callable[[Mapping], list[str]]
    """Checks of this provider's settings a JSON schema cannot express, one line per problem."""
    make_auth: Callable[[Mapping, Transport], requests.auth.AuthBase]
    """The provider's authenticator. It may also offer ``secrets_of(request)`` (values it put into
    a request, to be masked in any error) and ``renewed_after_refusal(request)`` (whether a 401
    is worth one more try, with renewed credentials)."""
    make_api: Callable[[Mapping], InvoiceApi]
    invoice_key: str
    replication_key: str
    children: tuple[ChildSpec, ...]
    max_page_size: int
    default_page_size: int
    start_date_meaning: str
    """What ``start_date`` does for this provider, a clause of the setting's description: "not
    applied", "invoices whose latest activity is earlier are not emitted"."""
    default_max_requests_per_second: float | None = None
    """The request rate the API documents as its limit, if it documents one."""
    pacing_margin: float = 0.0
    """How far under the rate cap requests are paced (0.1: 10%), for an API that counts
    arrivals over any sliding second, where network jitter bunches evenly sent requests."""
    extra_fields: str | None = None
    """The record field that keeps top-level fields the schema does not declare (None: such
    fields are dropped, with a warning)."""
    correlation_id_field: str | None = None
    """The field of the API's error bodies that identifies the failure to its support, logged
    with every retry and failure (PayPal's ``debug_id``)."""
    pages_capped: bool = False
    """Whether the API serves a list only up to some page number, so that the shared
    ``max_list_pages`` setting applies to it (its description names these providers)."""
    schemas_dir: Path | None = None
    """Where its streams' JSON schemas are (``<stream>.json``); None: the tap's own
    ``schemas/<name>/``."""
