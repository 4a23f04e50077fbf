"""CyberSource Invoicing v2 as the engine reads it: offset pages of summaries, one detail per
changed invoice, and open-invoice tracking, since the list has no change filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import OffsetListing
from tap_invoicing.core.plans.open_invoices import OpenInvoicePlan, OpenInvoiceRules
from tap_invoicing.core.provider import InvoiceApi, Pass

if TYPE_CHECKING:
    from tap_invoicing.core.bookmark import BookmarkScope

LIST_PATH = "/invoicing/v2/invoices"
CLOSED_STATUSES = frozenset({"PAID", "CANCELED"})
"""Once paid or cancelled an invoice can no longer be updated, sent or cancelled."""
END_OF_LIST_MESSAGES = frozenset({"no invoices found", "invoice does not exist"})
"""The list's 404 past its end, normalised: the spec describes it as "No invoices found.", its
example body says "Invoice does not exist." (api-notes section 6)."""
NOT_FOUND_STATUS = "NOTFOUND"


def invoice_status(invoice: Mapping[str, Any]) -> str:
    """The status of a summary or a detail, upper-cased as the filter values are."""
    return str(invoice.get("status") or "").upper()


def is_open(invoice: Mapping[str, Any]) -> bool:
    """Everything but PAID and CANCELED can still change (PENDING included)."""
    return invoice_status(invoice) not in CLOSED_STATUSES


def summary_created(summary: Mapping[str, Any]) -> datetime | None:
    """``createdDate``, absent from some list items."""
    return parse_time(summary.get("createdDate"))


def created_by_history(detail: Mapping[str, Any]) -> datetime | None:
    """The date of a detail's oldest ``invoiceHistory`` event (whatever order the list is in)."""
    history = detail.get("invoiceHistory")
    events = history if isinstance(history, list) else []
    dates = [parse_time(event.get("date")) for event in events if isinstance(event, Mapping)]
    return min((date for date in dates if date), default=None)


def server_time(payload: Any) -> str | None:
    """``submitTimeUtc`` is the server's clock at the response."""
    value = payload.get("submitTimeUtc")
    return value if isinstance(value, str) else None


def is_end_of_list_answer(payload: Any) -> bool:
    """Whether a list 404 is the invoicing service's own end-of-list answer: status ``NOTFOUND``
    with either documented message. ``reason`` is not relied on (the example says
    ``NOT_FOUND``, the spec's enum lists only the 400's reasons); the message is what tells this
    answer from a route that does not exist (a wrong ``base_url`` path), which must fail the run
    rather than end it empty."""
    if not isinstance(payload, dict) or payload.get("status") != NOT_FOUND_STATUS:
        return False
    message = payload.get("message")
    if not isinstance(message, str):
        return False
    return message.strip().rstrip(".").strip().casefold() in END_OF_LIST_MESSAGES


RULES = OpenInvoiceRules(is_open=is_open, created=summary_created, server_time=server_time)


class CyberSourceApi(InvoiceApi):
    """``GET /invoicing/v2/invoices`` (offset, limit) and ``GET /invoicing/v2/invoices/{id}``."""

    list_path = LIST_PATH

    def begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """Offset pages; details for invoices open now, open last time, or new."""
        listing = OffsetListing(self.settings.page_size, is_end_answer=self.is_end_of_list)
        return Pass(listing, OpenInvoicePlan.for_run(stream_state, scope, RULES))

    def missing_from_page(self, payload: Any) -> list[str]:
        """A list page needs its invoices, each with an id."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        invoices = payload.get("invoices")
        if not isinstance(invoices, list):
            return ["invoices"]
        if not all(isinstance(item, dict) and item.get("id") for item in invoices):
            return ["invoices[].id"]
        return []

    def missing_from_detail(self, payload: Any) -> list[str]:
        """A detail needs its id and status."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        return [field for field in ("id", "status") if not payload.get(field)]

    def page_items(self, payload: Any) -> list[dict[str, Any]]:
        """The ``invoices`` array."""
        invoices: list[dict[str, Any]] = payload["invoices"]
        return invoices

    def page_total(self, payload: Any) -> int | None:
        """``totalInvoices``, which grows if invoices are created while we page."""
        total = payload.get("totalInvoices")
        if isinstance(total, str) and total.isdigit():
            return int(total)
        return total if isinstance(total, int) else None

    def item_id(self, item: Mapping[str, Any]) -> str:
        """Details are addressed by the list's ``id`` (which may differ from invoiceNumber)."""
        return str(item["id"])

    def detail_path(self, invoice_id: str) -> str:
        """``/invoicing/v2/invoices/{id}``."""
        return f"{LIST_PATH}/{quote(invoice_id, safe='')}"

    def invoice_date(self, invoice: Mapping[str, Any]) -> datetime | None:
        """When the invoice was created: the list item's ``createdDate`` ("Date and time (UTC)
        the invoice was created", absent from some items), else, in the detail (which has no
        ``createdDate``), its oldest ``invoiceHistory`` event: the DRAFT or CREATE that made it."""
        return summary_created(invoice) or created_by_history(invoice)

    def is_end_of_list(self, payload: Any) -> bool:
        """See ``is_end_of_list_answer``."""
        return is_end_of_list_answer(payload)
