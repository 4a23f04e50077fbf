"""CyberSource Invoicing v2 as the engine reads it: offset pages of summaries, one detail per
changed invoice, and open-invoice tracking, since the list has no change filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import OffsetListing
from tap_invoicing.core.plans.open_invoices import OpenInvoicePlan, OpenInvoiceRules, PreviousRun
from tap_invoicing.core.provider import InvoiceApi

if TYPE_CHECKING:
    from tap_invoicing.core.provider import RunStart

LIST_PATH = "/invoicing/v2/invoices"
CLOSED_STATUSES = frozenset({"PAID", "CANCELED"})
"""Once paid or cancelled an invoice can no longer be updated, sent or cancelled."""


def invoice_status(invoice: Mapping) -> str:
    """The status of a summary or a detail, upper-cased as the filter values are."""
    return str(invoice.get("status") or "").upper()


def is_open(invoice: Mapping) -> bool:
    """Everything but PAID and CANCELED can still change (PENDING included)."""
    return invoice_status(invoice) not in CLOSED_STATUSES


def summary_created(summary: Mapping) -> datetime | None:
    """``createdDate``, absent from some list items."""
    return parse_time(summary.get("createdDate"))


def server_time(payload: Any) -> str | None:
    """``submitTimeUtc`` is the server's clock at the response."""
    return payload.get("submitTimeUtc")


RULES = OpenInvoiceRules(is_open=is_open, created=summary_created, server_time=server_time)


class CyberSourceApi(InvoiceApi):
    """``GET /invoicing/v2/invoices`` (offset, limit) and ``GET /invoicing/v2/invoices/{id}``."""

    list_path = LIST_PATH

    def begin(self, run: RunStart) -> tuple[OffsetListing, OpenInvoicePlan]:
        """Offset pages; details for invoices open now, open last time, or new."""
        previous = PreviousRun.from_state(run.bookmark, run.scope, run.account_settings)
        listing = OffsetListing(run.page_size, is_end_answer=self.is_end_of_list)
        return listing, OpenInvoicePlan(previous, run.scope, RULES)

    def missing_fields(self, payload: Any, *, listed: bool) -> list[str]:
        """A list page needs its invoices with ids; a detail needs its id and status."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        if listed:
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

    def item_id(self, item: Mapping) -> str:
        """Details are addressed by the list's ``id`` (which may differ from invoiceNumber)."""
        return str(item["id"])

    def detail_path(self, invoice_id: str) -> str:
        """``/invoicing/v2/invoices/{id}``."""
        return f"{LIST_PATH}/{quote(invoice_id, safe='')}"

    def last_activity(self, invoice: Mapping) -> datetime | None:
        """The newest ``invoiceHistory`` date: the detail has no other per-invoice time."""
        dates = [parse_time(event.get("date")) for event in invoice.get("invoiceHistory") or []]
        return max((date for date in dates if date), default=None)

    def is_end_of_list(self, payload: Any) -> bool:
        """The list answers past its end with 404 ``"No invoices found."``; a route that does
        not exist answers 404 too, with another message."""
        message = payload.get("message") if isinstance(payload, dict) else None
        return isinstance(message, str) and message.startswith("No invoices found")
