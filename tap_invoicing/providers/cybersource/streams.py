"""CyberSource Invoicing v2: the invoice list and details, their line items and history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from singer_sdk import StreamSchema

from tap_invoicing.client import InvoiceChildStream, InvoicesStream
from tap_invoicing.incremental import parse_time
from tap_invoicing.schema_files import provider_schemas

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

LIST_PATH = "/invoicing/v2/invoices"
CLOSED_STATUSES = frozenset({"PAID", "CANCELED"})
"""Once paid or cancelled an invoice can no longer be updated, sent or cancelled."""

SCHEMAS = provider_schemas("cybersource")


class CyberSourceInvoicesStream(InvoicesStream):
    """Invoices: the list endpoint pages summaries, each changed invoice's detail is the record."""

    provider_name = "cybersource"
    path = LIST_PATH
    primary_keys = ("id",)
    replication_key = "submitTimeUtc"
    schema = StreamSchema(SCHEMAS)

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        """``offset`` is a record offset; ``limit`` is at most 1000."""
        return {"offset": next_page_token or 0, "limit": self.page_size}

    def missing_fields(self, payload: Any, response: requests.Response) -> list[str]:
        """A list page needs its invoices with ids; a detail needs its id and status."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        if urlsplit(response.url).path.endswith(LIST_PATH):
            invoices = payload.get("invoices")
            if not isinstance(invoices, list):
                return ["invoices"]
            if not all(isinstance(item, dict) and item.get("id") for item in invoices):
                return ["invoices[].id"]
            return []
        return [field for field in ("id", "status") if not payload.get(field)]

    def page_items(self, payload: Any) -> list[dict]:
        """The ``invoices`` array."""
        return payload["invoices"]

    def page_total(self, payload: Any) -> int | None:
        """``totalInvoices``, which grows if invoices are created while we page."""
        total = payload.get("totalInvoices")
        if isinstance(total, str) and total.isdigit():
            return int(total)
        return total if isinstance(total, int) else None

    def page_server_time(self, payload: Any) -> str | None:
        """``submitTimeUtc`` is the server's clock at the response."""
        return payload.get("submitTimeUtc")

    def summary_id(self, summary: Mapping) -> str:
        """Details are addressed by the list's ``id`` (which may differ from invoiceNumber)."""
        return str(summary["id"])

    def summary_created(self, summary: Mapping) -> datetime | None:
        """``createdDate``, absent from some list items."""
        return parse_time(summary.get("createdDate"))

    def invoice_status(self, invoice: Mapping) -> str:
        """Upper-cased, as the filter values are."""
        return str(invoice.get("status") or "").upper()

    def is_open(self, status: str) -> bool:
        """Everything but PAID and CANCELED can still change (PENDING included)."""
        return status not in CLOSED_STATUSES

    def detail_url(self, invoice_id: str) -> str:
        """``GET /invoicing/v2/invoices/{id}``."""
        return f"{self.url_base}{LIST_PATH}/{quote(invoice_id, safe='')}"

    def last_activity(self, invoice: Mapping) -> datetime | None:
        """The newest ``invoiceHistory`` date: the detail has no other per-invoice time."""
        dates = [parse_time(event.get("date")) for event in invoice.get("invoiceHistory") or []]
        return max((date for date in dates if date), default=None)

    def is_end_of_list(self, payload: Any) -> bool:
        """The list answers past its end with 404 ``"No invoices found."``; a route that does
        not exist answers 404 too, with another message."""
        message = payload.get("message") if isinstance(payload, dict) else None
        return isinstance(message, str) and message.startswith("No invoices found")


class CyberSourceLineItemsStream(InvoiceChildStream):
    """One record per ``orderInformation.lineItems[]`` entry."""

    name = "invoice_line_items"
    parent_stream_type = CyberSourceInvoicesStream
    primary_keys = ("invoiceId", "position")
    schema = StreamSchema(SCHEMAS)

    def records_of(self, invoice: Mapping) -> Iterable[dict]:
        """Each line item with its invoice id and 0-based position."""
        items = (invoice.get("orderInformation") or {}).get("lineItems") or []
        for position, item in enumerate(items):
            yield {**item, "invoiceId": invoice["id"], "position": position}


class CyberSourceHistoryStream(InvoiceChildStream):
    """One record per ``invoiceHistory[]`` event."""

    name = "invoice_history"
    parent_stream_type = CyberSourceInvoicesStream
    primary_keys = ("invoiceId", "sequence")
    schema = StreamSchema(SCHEMAS)

    def records_of(self, invoice: Mapping) -> Iterable[dict]:
        """Events oldest first, numbered from the oldest: the API lists newest first and only
        ever adds events, so a sequence counted from the oldest never changes."""
        events = invoice.get("invoiceHistory") or []
        for sequence, event in enumerate(reversed(events), start=1):
            yield {**event, "invoiceId": invoice["id"], "sequence": sequence}
