"""What a provider plugs into the engine: its settings, auth, API description and streams.

A provider package builds one :class:`Provider`; the engine reads it and knows no provider.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import requests

if TYPE_CHECKING:
    from pathlib import Path

    from singer_sdk import typing as th

    from tap_invoicing.core.bookmark import BookmarkScope
    from tap_invoicing.core.listing import Listing
    from tap_invoicing.core.plans import ChangePlan
    from tap_invoicing.core.run_settings import RunSettings


class Transport(Protocol):
    """The run's requests, as an authenticator that needs its own (a token request) sees them:
    throttled by the run's gate, retried and redacted like every other request."""

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """Send one request through the run's session, gate and retries."""
        ...


class Authenticator(requests.auth.AuthBase):
    """A provider's authentication of each request, with what the client asks of it besides."""

    def secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """Values it put into ``request`` (tokens, signatures), to be masked in any error."""
        return []

    def renewed_after_refusal(self, request: requests.PreparedRequest) -> bool:
        """After a 401: whether one more try, with renewed credentials, is worth it."""
        return False


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
    keyed: tuple[str, Callable[[list[Mapping[str, Any]]], list[str]]] | None = None
    """A field the tap fills with a key of each entry, and the function that derives the keys
    of a whole list (for entries whose own id is sometimes absent)."""

    @property
    def row_key(self) -> str:
        """The key field that tells one invoice's rows apart (not its invoice's id)."""
        (key,) = [name for name in self.primary_keys if name != self.parent_id]
        return key


@dataclass(frozen=True)
class ListRequest:
    """How one page of the list is asked for."""

    method: str
    path: str
    params: Mapping[str, Any]
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Pass:
    """How one run reads the list: the listing that pages it, the plan that decides which
    invoices to read, and fields every record of the pass carries (the pass's own replication
    value, where the API gives invoices none)."""

    listing: Listing
    plan: ChangePlan
    stamp: Mapping[str, Any] = field(default_factory=dict)


class InvoiceApi(abc.ABC):
    """One provider's invoice endpoints, as the engine uses them: made per run, from the run's
    settings."""

    list_path: str

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """This run's listing and change plan. Raises BookmarkMismatchError when the bookmark
        was made for another run (the engine then begins again without it)."""

    @abc.abstractmethod
    def page_items(self, payload: Any) -> list[dict[str, Any]]:
        """The invoices of one list page."""

    @abc.abstractmethod
    def missing_from_page(self, payload: Any) -> list[str]:
        """What a well-formed list page lacks: such a page is retried."""

    @abc.abstractmethod
    def missing_from_detail(self, payload: Any) -> list[str]:
        """What a well-formed detail lacks: such a detail is retried."""

    @abc.abstractmethod
    def item_id(self, item: Mapping[str, Any]) -> str:
        """The id that addresses a listed invoice's detail."""

    @abc.abstractmethod
    def detail_path(self, invoice_id: str) -> str:
        """The path of one invoice's detail, already URL-encoded."""

    def list_params(self) -> dict[str, Any]:
        """Query parameters every list page carries."""
        return {}

    def list_request(self, query: Mapping[str, Any]) -> ListRequest:
        """The request for the page the listing chose: by default a GET of the list path."""
        return ListRequest("GET", self.list_path, {**self.list_params(), **query})

    def detail_params(self) -> dict[str, Any]:
        """Query parameters every detail request carries."""
        return {}

    def page_total(self, payload: Any) -> int | None:
        """How many invoices the whole list holds, when the API says."""
        return None

    def is_complete(self, item: Mapping[str, Any]) -> bool:
        """Whether a list item already is the whole invoice, so no detail is requested."""
        return False

    def invoice_date(self, invoice: Mapping[str, Any]) -> datetime | None:
        """The date ``start_date`` and ``end_date`` select invoices by (``start_date_meaning``
        says which), read from a list item (to skip the detail of an invoice outside the range)
        or from the invoice itself; None when this one does not say (the detail decides, and
        an invoice with no date at all is emitted). None by default: every invoice is kept."""
        return None

    def finish_record(self, invoice: dict[str, Any]) -> dict[str, Any]:
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
    settings: tuple[th.Property[Any], ...]
    """The settings only this provider has (credentials, options)."""
    credential_settings: tuple[str, ...]
    account_settings: tuple[str, ...]
    """The settings that tell one account from another: a bookmark serves only its account."""
    check_settings: Callable[[Mapping[str, Any]], list[str]]
    """Checks of this provider's settings a JSON schema cannot express, one line per problem."""
    make_auth: Callable[[RunSettings, Transport], Authenticator]
    make_api: Callable[[RunSettings], InvoiceApi]
    invoice_key: str
    replication_key: str
    children: tuple[ChildSpec, ...]
    max_page_size: int
    default_page_size: int
    start_date_meaning: str
    """Which date of an invoice ``start_date`` and ``end_date`` select by (``invoice_date``),
    and where the range is applied: a clause of ``start_date``'s description, e.g. "its
    creation (createdDate), compared by the tap"."""
    default_max_requests_per_second: float | None = None
    """The request rate the API documents as its limit, if it documents one."""
    pacing_margin: float = 0.0
    """How far under the rate cap requests are paced (0.1: 10%), for an API that counts
    arrivals over any sliding second, where network jitter bunches evenly sent requests."""
    correlation_id_field: str | None = None
    """The field of the API's error bodies that identifies the failure to its support, logged
    with every retry and failure (PayPal's ``debug_id``)."""
    pages_capped: bool = False
    """Whether the API serves a list only up to some page number, so that the shared
    ``max_list_pages`` setting applies to it (its description names these providers)."""
    schemas_dir: Path | None = None
    """Where its streams' JSON schemas are (``<stream>.json``); None: the tap's own
    ``schemas/<name>/``."""
