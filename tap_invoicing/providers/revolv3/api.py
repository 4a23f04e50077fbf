"""Revolv3 invoices as the engine reads them: the list filtered by the API's last-update window,
paged by number and split into smaller windows past the API's page cap, asking for every attempt;
a detail request for list items not known to be the whole invoice; normalised companions of the
non-ISO dates. ``start_date`` and ``end_date`` select by ``billingDate``, compared by the tap on
the list items (see ``invoice_date``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tap_invoicing.core.listing import WindowedListing
from tap_invoicing.core.plans.update_window import UpdateWindowPlan
from tap_invoicing.core.provider import InvoiceApi, Pass
from tap_invoicing.providers.revolv3.dates import attempt_time_iso, billing_date_iso

if TYPE_CHECKING:
    from tap_invoicing.core.bookmark import BookmarkScope

LIST_PATH = "/api/Invoices/v1"
DETAIL_PATH = "/api/Invoices"
DEFAULT_LOOKBACK_MINUTES = 5
EARLIEST_UPDATE = datetime(2000, 1, 1, tzinfo=UTC)
"""Where a window without a start is split from: older than any Revolv3 account."""
FULL_INVOICE_FIELDS = ("invoiceAttempts", "invoiceLineItems")
"""A list item holding these is a full invoice (the list's schema says items are; its example
and guide show summaries without them)."""
EVERY_ATTEMPT = {"lastAttemptOnly": "false"}
"""The v1 list's ``lastAttemptOnly`` trims a full item's ``invoiceAttempts`` to the last one,
and its default is undocumented: every list page asks for every attempt, so that a full item
can be taken as the whole invoice."""


class Revolv3Api(InvoiceApi):
    """``GET /api/Invoices/v1`` (page, pageSize, lastUpdateStartDate/EndDate) and
    ``GET /api/Invoices/{invoiceId}``."""

    list_path = LIST_PATH

    def begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """The window from the bookmark (less the lookback) to now, read by page number; every
        record carries the window's end as its replication value."""
        minutes = self.settings.options.get("lookback_minutes")
        lookback = timedelta(minutes=DEFAULT_LOOKBACK_MINUTES if minutes is None else minutes)
        plan = UpdateWindowPlan.for_run(stream_state, scope, lookback=lookback)
        listing = WindowedListing(
            self.settings.page_size,
            start=plan.window.start,
            end=plan.window.end,
            start_param="lastUpdateStartDate",
            end_param="lastUpdateEndDate",
            max_pages=self.settings.max_list_pages,
            floor=EARLIEST_UPDATE,
            split_at=plan.window.split_at,
        )
        window_end = plan.window.end.isoformat().replace("+00:00", "Z")
        return Pass(listing, plan, stamp={"lastUpdateEndDate": window_end})

    def _raw_responses(self) -> dict[str, str]:
        wanted = self.settings.options.get("include_raw_processor_response")
        return {"includeRawProcessorResponse": "true"} if wanted else {}

    def list_params(self) -> dict[str, Any]:
        """``lastAttemptOnly=false`` always; ``includeRawProcessorResponse`` when asked for."""
        return {**EVERY_ATTEMPT, **self._raw_responses()}

    def detail_params(self) -> dict[str, Any]:
        """``includeRawProcessorResponse`` when asked for."""
        return self._raw_responses()

    def missing_from_page(self, payload: Any) -> list[str]:
        """A list page is a bare array of invoices with ids."""
        if not isinstance(payload, list):
            return ["JSON array"]
        if not all(isinstance(item, dict) and _has_id(item) for item in payload):
            return ["[].invoiceId"]
        return []

    def missing_from_detail(self, payload: Any) -> list[str]:
        """A detail is an invoice with an id."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        return [] if _has_id(payload) else ["invoiceId"]

    def page_items(self, payload: Any) -> list[dict[str, Any]]:
        """The page is the array itself."""
        items: list[dict[str, Any]] = payload
        return items

    def item_id(self, item: Mapping[str, Any]) -> str:
        """``invoiceId``."""
        return str(item["invoiceId"])

    def is_complete(self, item: Mapping[str, Any]) -> bool:
        """A list item is known to be the whole invoice only when it holds attempts and line
        items and the list was asked for every attempt (a trimmed item looks just like a whole
        one); anything else gets a detail request."""
        asked_every_attempt = all(
            self.list_params().get(name) == value for name, value in EVERY_ATTEMPT.items()
        )
        return asked_every_attempt and all(field in item for field in FULL_INVOICE_FIELDS)

    def detail_path(self, invoice_id: str) -> str:
        """``/api/Invoices/{invoiceId}``."""
        return f"{DETAIL_PATH}/{quote(invoice_id, safe='')}"

    def invoice_date(self, invoice: Mapping[str, Any]) -> datetime | None:
        """``billingDate``, the day Revolv3 billed the invoice (its last billing attempt, so a
        retry on a later day moves it there), as that day's start in UTC, the zone the list's
        billing filter compares in. The API has no creation date. The list's own billing filter
        (``billingStartDate``/``billingEndDate``) is not used: ``billingDate`` can be null, and
        what the filter does with such an invoice is undocumented; list items carry the date,
        so the range costs list pages, never a detail."""
        day = billing_date_iso(invoice.get("billingDate"))
        return datetime.combine(date.fromisoformat(day), time(), UTC) if day else None

    def finish_record(self, invoice: dict[str, Any]) -> dict[str, Any]:
        """ISO companions of the dates that are not ISO."""
        invoice["billingDateIso"] = billing_date_iso(invoice.get("billingDate"))
        for attempt in invoice.get("invoiceAttempts") or []:
            attempt["invoiceAttemptDateIso"] = attempt_time_iso(attempt.get("invoiceAttemptDate"))
            attempt["processorResponseDateTimeIso"] = attempt_time_iso(
                attempt.get("processorResponseDateTime")
            )
        return invoice


def _has_id(item: Mapping[str, Any]) -> bool:
    invoice_id = item.get("invoiceId")
    return type(invoice_id) is int or (isinstance(invoice_id, str) and bool(invoice_id.strip()))
