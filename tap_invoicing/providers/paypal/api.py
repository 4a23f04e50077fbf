"""PayPal Invoicing v2 as the engine reads it.

The list (``GET /v2/invoicing/invoices``) serves summaries, up to its page cap; past it, the
account is read through ``POST /v2/invoicing/search-invoices`` in ``creation_date_range`` windows
split until each fits. With ``start_date`` or ``end_date``, the search is read from the first
page, its creation window being the run's date range: PayPal leaves out what was created outside
it.

There is no change filter, but a settled invoice (paid, refunded, cancelled) changes only in ways
its summary shows (status, paid, due and refunded amounts), so the settled-buckets plan reads open
invoices every run and settled ones only when their bucket of summaries changed. A search returns
the invoice's collections (its payments' and refunds' totals among them) only when its ``fields``
asks for them, so the tap asks for every one: a summary found by the search then means what the same
summary from the list means.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import WindowedListing, iso_seconds
from tap_invoicing.core.plans.settled_buckets import SettledBucketsPlan, SummaryRules
from tap_invoicing.core.plans.windows import WINDOW_TARGET
from tap_invoicing.core.provider import InvoiceApi, ListRequest, Pass

if TYPE_CHECKING:
    from tap_invoicing.core.bookmark import BookmarkScope

LIST_PATH = "/v2/invoicing/invoices"
SEARCH_PATH = "/v2/invoicing/search-invoices"
OAUTH_PATH = "/v1/oauth2/token"
SETTLED_STATUSES = frozenset(
    {"PAID", "MARKED_AS_PAID", "PARTIALLY_REFUNDED", "REFUNDED", "MARKED_AS_REFUNDED", "CANCELLED"}
)
"""Statuses in which an invoice can only be refunded (which its summary shows) or not change at
all. Every other status (DRAFT, SENT, SCHEDULED, UNPAID, PARTIALLY_PAID, PAYMENT_PENDING, and any
status PayPal adds) can change in ways a summary does not show: such invoices are read every run."""
EARLIEST_CREATION = datetime(2000, 1, 1, tzinfo=UTC)
"""Where creation windows are split from: older than PayPal's Invoicing v2."""
WINDOW_START, WINDOW_END = "creation_start", "creation_end"
SECOND = timedelta(seconds=1)
SEARCH_FIELDS = ("items", "payments", "refunds", "additional_recipients_info", "attachments")
"""What a search is asked to return in full ([S1] ``search_data.fields``): ``payments`` and
``refunds`` hold the totals ``fingerprint`` reads; ``items`` make a whole invoice complete
(``is_complete``); with the additional recipients and attachments too, a whole invoice found by
the search is the one the list or the detail serves, so no record depends on where it was read."""


def _at(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def changes_unseen(summary: Mapping[str, Any]) -> bool:
    """Whether an invoice in its listed status can change without its summary showing it."""
    return summary.get("status") not in SETTLED_STATUSES


def fingerprint(summary: Mapping[str, Any]) -> str:
    """What of a settled invoice's summary changes with every change it can have."""
    return json.dumps(
        [
            summary.get("status"),
            _at(summary, "amount", "value"),
            _at(summary, "due_amount", "value"),
            _at(summary, "payments", "paid_amount", "value"),
            _at(summary, "refunds", "refund_amount", "value"),
            _at(summary, "detail", "metadata", "last_update_time"),
        ],
        default=str,
    )


def created(summary: Mapping[str, Any]) -> datetime | None:
    """``detail.metadata.create_time``: what the search's ``creation_date_range`` selects by."""
    return parse_time(_at(summary, "detail", "metadata", "create_time"))


RULES = SummaryRules(changes_unseen=changes_unseen, fingerprint=fingerprint, created=created)


def transaction_keys(transactions: list[Mapping[str, Any]], id_field: str) -> list[str]:
    """A key per payment or refund that never changes as others are added: the API's own id
    (``payment_id``, ``refund_id``) when it gives one; for an external one, which has none, a
    digest of what it records, numbered among identical ones in list order."""
    keys, seen = [], Counter[str]()
    for transaction in transactions:
        own = transaction.get(id_field)
        if isinstance(own, str) and own:
            keys.append(own)
            continue
        content = json.dumps(
            {key: value for key, value in transaction.items() if key != id_field},
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        seen[digest] += 1
        keys.append(f"EXTERNAL-{digest}-{seen[digest]}")
    return keys


def payment_keys(transactions: list[Mapping[str, Any]]) -> list[str]:
    """Keys of ``payments.transactions[]``."""
    return transaction_keys(transactions, "payment_id")


def refund_keys(transactions: list[Mapping[str, Any]]) -> list[str]:
    """Keys of ``refunds.transactions[]``."""
    return transaction_keys(transactions, "refund_id")


class PayPalApi(InvoiceApi):
    """``GET /v2/invoicing/invoices``, ``POST /v2/invoicing/search-invoices`` and
    ``GET /v2/invoicing/invoices/{id}``."""

    list_path = LIST_PATH

    def begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """The whole list (then creation windows past the cap), or with a date range its
        creation window through the search; and the settled-buckets plan. A first pass reads
        windows of a bounded size, for small checkpoints; a run resuming one searches from
        where it had listed to."""
        started = datetime.now(UTC).replace(microsecond=0)
        plan = SettledBucketsPlan.for_run(stream_state, scope, RULES, started)
        start, end = self._creation_window(started)
        resumes_from = plan.resumes_from
        if resumes_from is not None and (start is None or start < resumes_from):
            start = resumes_from
        listing = WindowedListing(
            self.settings.page_size,
            start=start,
            end=end,
            start_param=WINDOW_START,
            end_param=WINDOW_END,
            max_pages=self.settings.max_list_pages,
            floor=EARLIEST_CREATION,
            windowless_first=not self.settings.dates.bounded and resumes_from is None,
            split_above=WINDOW_TARGET if plan.first_pass else None,
            size_param="page_size",
        )
        return Pass(listing, plan)

    def _creation_window(self, started: datetime) -> tuple[datetime | None, datetime]:
        """The search's ``creation_date_range`` for the run's dates, sent to the second: a
        second wider than the range at its start and the end rounded up, since PayPal does not
        say whether its ends are inclusive (the engine keeps exactly the range). The end is the
        run's start at the latest, rounded up too: an invoice created in the second the run
        started is listed now (or, created after the search read its page, by the next run)."""
        dates = self.settings.dates
        start = dates.start.replace(microsecond=0) - SECOND if dates.start else None
        end = started + SECOND
        if dates.end is not None:
            rounded_up = dates.end.replace(microsecond=0)
            if rounded_up < dates.end:
                rounded_up += SECOND
            end = min(end, rounded_up)
        if start is not None and end <= start:
            end = start + SECOND  # a range in the future: nothing was created in it yet
        return start, end

    def list_request(self, query: Mapping[str, Any]) -> ListRequest:
        """A page of the list, or of a creation window through the search."""
        params = {"page": query["page"], "page_size": query["page_size"], "total_required": "true"}
        if WINDOW_END not in query:
            return ListRequest("GET", LIST_PATH, params)
        window = {"start": query.get(WINDOW_START) or iso_seconds(EARLIEST_CREATION)}
        body = {
            "creation_date_range": {**window, "end": query[WINDOW_END]},
            "fields": list(SEARCH_FIELDS),
        }
        return ListRequest("POST", SEARCH_PATH, params, body)

    def missing_from_page(self, payload: Any) -> list[str]:
        """A page holds ``items``, each with an id."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        items = payload.get("items")
        if not isinstance(items, list):
            return ["items"]
        if not all(isinstance(item, dict) and item.get("id") for item in items):
            return ["items[].id"]
        return []

    def missing_from_detail(self, payload: Any) -> list[str]:
        """A detail holds its id and status."""
        if not isinstance(payload, dict):
            return ["JSON object"]
        return [field for field in ("id", "status") if not payload.get(field)]

    def page_items(self, payload: Any) -> list[dict[str, Any]]:
        """The ``items`` array."""
        items: list[dict[str, Any]] = payload["items"]
        return items

    def page_total(self, payload: Any) -> int | None:
        """``total_items`` (asked for with ``total_required``), for the progress line only."""
        total = payload.get("total_items")
        return total if type(total) is int else None

    def item_id(self, item: Mapping[str, Any]) -> str:
        """``id``, e.g. ``INV2-RF6D-L66T-D7H2-CRU7``."""
        return str(item["id"])

    def is_complete(self, item: Mapping[str, Any]) -> bool:
        """A list item with the invoicer and the items is the whole invoice."""
        return "invoicer" in item and "items" in item

    def detail_path(self, invoice_id: str) -> str:
        """``/v2/invoicing/invoices/{id}``."""
        return f"{LIST_PATH}/{quote(invoice_id, safe='')}"

    def invoice_date(self, invoice: Mapping[str, Any]) -> datetime | None:
        """When the invoice was created, in summaries and details alike (``created``)."""
        return created(invoice)

    def finish_record(self, invoice: dict[str, Any]) -> dict[str, Any]:
        """``last_update_time`` at the top, the replication key: the invoice's own
        ``detail.metadata.last_update_time``, else its creation time."""
        metadata = _at(invoice, "detail", "metadata") or {}
        invoice["last_update_time"] = metadata.get("last_update_time") or metadata.get(
            "create_time"
        )
        return invoice
