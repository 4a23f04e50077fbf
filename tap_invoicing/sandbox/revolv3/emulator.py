"""The Revolv3 invoices API emulation: static-token authentication, the v1 list and the detail
routes with their validation, plus the data access and state changes tests use.

Where the docs are silent this answers as an ASP.NET Core API would: routes match without
regard to case and with an optional trailing slash, another method on a known route is a 405,
and unknown query parameters are ignored.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar, Literal, cast
from urllib.parse import unquote

from tap_invoicing.sandbox.fakedata import shuffle_key, to_amount
from tap_invoicing.sandbox.options import LIST_SHAPE, MAX_PAGE, EmulatorOption
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.revolv3 import lifecycle
from tap_invoicing.sandbox.revolv3.auth import Credentials
from tap_invoicing.sandbox.revolv3.data import ADDABLE_STATUSES, InvoiceFactory
from tap_invoicing.sandbox.revolv3.query import (
    MAX_INVOICE_ID,
    ListQuery,
    QueryError,
    parse_boolean,
    parse_list_query,
)
from tap_invoicing.sandbox.revolv3.record import StoredInvoice
from tap_invoicing.sandbox.server import ApiRequest, ApiResponse, RouteInfo, json_response
from tap_invoicing.sandbox.store import RecordStore, StoredInvoices, find

ListShape = Literal["summary", "full"]
PastMaxPage = Literal["400", "empty"]
DefaultOrder = Literal["id_desc", "id_asc", "last_update_desc", "shuffled"]
DEFAULT_ORDERS = ("id_desc", "id_asc", "last_update_desc", "shuffled")
DEFAULT_RATE_LIMITS = (RateLimit(20, 1.0), RateLimit(20_000, 900.0))
"""20 requests per second and 20,000 per rolling 15 minutes, per IP [R13][R12]."""
JSON_TYPE = "application/json; charset=utf-8"
INVOICES_PATH = re.compile(r"/api/invoices/([^/]+)/?", re.IGNORECASE)
VERSION_SEGMENT = re.compile(r"v(.*)", re.IGNORECASE)
INTEGER_SEGMENT = re.compile(r"[+-]?\d{1,19}")
VALIDATION_FAILED = "One or more validation errors occurred."
UNAUTHORIZED = {"message": "Unauthorized"}
RATE_LIMITED = {
    "error": "Too Many Requests",
    "message": "Rate limit exceeded. Please retry after a few seconds.",
}


def boolean(value: str) -> bool:
    """``true`` or ``false`` (any case), as the command line gives a boolean option."""
    if value.strip().lower() not in {"true", "false"}:
        raise ValueError(value)
    return value.strip().lower() == "true"


LAST_ATTEMPT_ONLY_DEFAULT = EmulatorOption(
    "last_attempt_only_default",
    "with --list-shape full: whether a list request without lastAttemptOnly gets only each "
    "invoice's last attempt (its default is undocumented; default false)",
    type=boolean,
    metavar="true|false",
)
ADDED_HISTORY = timedelta(minutes=10)
"""How far back the attempts of an invoice made by ``add`` reach (all before now)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _message(status: int, message: str, errors: list[str] | None = None) -> ApiResponse:
    """The error body Revolv3 clients decode: ``{"message": ..., "errors": [...] | null}``."""
    return json_response(status, {"message": message, "errors": errors}, content_type=JSON_TYPE)


def _not_found() -> ApiResponse:
    return _message(404, "Not Found")


class Revolv3Emulator(StoredInvoices[StoredInvoice]):
    """A seeded Revolv3 merchant with invoices, served as the Revolv3 REST API.

    ``list_shape`` decides what a list item is: the documented "summary" or the "full" detail
    (the docs disagree; see the api-notes). ``max_page`` caps the page number, answering a
    higher one with a 400 or, with ``past_max_page="empty"``, ``[]``. Without ``orderBy`` the
    list comes in ``default_order``, which no client may rely on. The list's ``lastAttemptOnly``
    trims full items to their last attempt; its default is undocumented, so
    ``last_attempt_only_default`` decides what a request that does not send it gets.
    ``invoiceStatusEnum`` is not served: no example shows it and its integer-to-name mapping is
    undocumented.
    """

    name = "revolv3"
    cli_options: ClassVar[tuple[EmulatorOption, ...]] = (
        LIST_SHAPE,
        MAX_PAGE,
        LAST_ATTEMPT_ONLY_DEFAULT,
    )
    secret_patterns: ClassVar[tuple[re.Pattern[str], ...]] = ()

    @staticmethod
    def credentials_for_seed(seed: int) -> tuple[str, ...]:
        """The static token the sandbox accepts with ``seed``."""
        return tuple(asdict(Credentials.for_seed(seed)).values())

    def __init__(
        self,
        *,
        invoices: int,
        seed: int,
        list_shape: ListShape = "summary",
        max_page: int | None = 1000,
        past_max_page: PastMaxPage = "400",
        default_order: DefaultOrder = "id_desc",
        last_attempt_only_default: bool = False,
        rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS,
    ) -> None:
        if list_shape not in {"summary", "full"}:
            raise ValueError(f"list_shape must be 'summary' or 'full', not {list_shape!r}")
        if max_page is not None and max_page < 1:
            raise ValueError("max_page must be None or >= 1")
        if past_max_page not in {"400", "empty"}:
            raise ValueError(f"past_max_page must be '400' or 'empty', not {past_max_page!r}")
        if default_order not in DEFAULT_ORDERS:
            raise ValueError(f"default_order must be one of {DEFAULT_ORDERS}")
        if not isinstance(last_attempt_only_default, bool):
            raise ValueError("last_attempt_only_default must be True or False")
        self.credentials = Credentials.for_seed(seed)
        self.rate_limits = tuple(rate_limits)
        self._seed = seed
        self._list_shape = list_shape
        self._max_page = max_page
        self._past_max_page = past_max_page
        self._default_order = default_order
        self._last_attempt_only_default = last_attempt_only_default
        self._factory = InvoiceFactory(seed)
        self._rng = random.Random(f"{seed}:changes")
        initial = self._factory.initial(invoices, _now())
        self._store = RecordStore([(invoice.id, invoice) for invoice in initial])
        self._next_index = invoices

    # --- HTTP ------------------------------------------------------------------------------

    def classify(self, method: str, path: str) -> RouteInfo:
        """The v1 list and the detail reads are what a sync is made of; the rest is "other"."""
        match = INVOICES_PATH.fullmatch(path)
        if method != "GET" or match is None:
            return RouteInfo("other")
        segment = unquote(match.group(1))
        version = VERSION_SEGMENT.fullmatch(segment)
        if version is None:
            return RouteInfo("detail", segment)
        return RouteInfo("list") if version.group(1) == "1" else RouteInfo("other")

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Authenticate every request, then route."""
        if not self.credentials.accepts(request.headers):
            return json_response(401, UNAUTHORIZED, content_type=JSON_TYPE)
        match = INVOICES_PATH.fullmatch(request.path)
        if match is None:
            return _not_found()
        segment = unquote(match.group(1))
        version = VERSION_SEGMENT.fullmatch(segment)
        if version is not None and version.group(1) != "1":
            return _not_found()
        if request.method != "GET":
            return _message(405, "Method Not Allowed")
        if version is not None:
            return self._list(request.query)
        return self._detail(segment, request.query)

    def fault_response(self, status: int) -> ApiResponse:
        """Vendor-shaped error bodies for injected status faults."""
        if status == 401:
            return json_response(401, UNAUTHORIZED, content_type=JSON_TYPE)
        if status == 429:
            return self.rate_limited_response()
        if status == 400:
            return _message(400, VALIDATION_FAILED, ["The request is invalid."])
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _message(status, phrase)

    def skeleton_response(self) -> ApiResponse:
        """``{}``: the list expects an array, the detail an ``invoiceId``."""
        return json_response(200, {}, content_type=JSON_TYPE)

    def rate_limited_response(self) -> ApiResponse:
        """The documented 429 body; no ``Retry-After`` header, as none is documented."""
        return json_response(429, RATE_LIMITED, content_type=JSON_TYPE)

    def _list(self, params: dict[str, str]) -> ApiResponse:
        """A bare array, no total or links; past the last page (or the cap, in "empty" mode)
        an empty one."""
        capped = self._max_page if self._past_max_page == "400" else None
        try:
            query = parse_list_query(params, capped)
        except QueryError as invalid:
            return _message(400, VALIDATION_FAILED, invalid.errors)
        if self._max_page is not None and query.page > self._max_page:
            return json_response(200, [], content_type=JSON_TYPE)
        start = (query.page - 1) * query.page_size
        last_attempt_only = query.last_attempt_only
        if last_attempt_only is None:
            last_attempt_only = self._last_attempt_only_default
        now = _now()
        with self._store.locked() as records:
            matching = [invoice for invoice in records.values() if _matches(invoice, query)]
            chosen = self._ordered(matching, query.order_by)[start : start + query.page_size]
            if self._list_shape == "summary":
                page = [invoice.summary() for invoice in chosen]
            else:
                page = [
                    invoice.served(
                        now,
                        raw=query.raw_processor_response,
                        last_attempt_only=last_attempt_only,
                    )
                    for invoice in chosen
                ]
            # Encoded while the store is locked, so the served views need no copy.
            return json_response(200, page, content_type=JSON_TYPE)

    def _detail(self, segment: str, params: dict[str, str]) -> ApiResponse:
        if not INTEGER_SEGMENT.fullmatch(segment) or not 1 <= int(segment) <= MAX_INVOICE_ID:
            rule = f"invoiceId must be between 1 and {MAX_INVOICE_ID}"
            return _message(400, VALIDATION_FAILED, [rule])
        errors: list[str] = []
        raw = parse_boolean(params, "includeRawProcessorResponse", errors)
        if errors:
            return _message(400, VALIDATION_FAILED, errors)
        with self._store.locked() as records:
            invoice = records.get(str(int(segment)))
            if invoice is None:
                return _message(404, "Invoice not found.")
            body = invoice.served(_now(), raw=raw, last_attempt_only=False)
            return json_response(200, body, content_type=JSON_TYPE)

    def _ordered(self, invoices: list[StoredInvoice], order_by: str | None) -> list[StoredInvoice]:
        """``orderBy`` ascending (ties by id), else the default order."""
        number = _number
        if order_by == "billing_date":
            return sorted(invoices, key=lambda i: (i.billing_day, number(i)))
        if order_by == "last_update":
            return sorted(invoices, key=lambda i: (i.last_update, number(i)))
        if order_by == "invoice_id" or self._default_order == "id_asc":
            return sorted(invoices, key=number)
        if self._default_order == "id_desc":
            return sorted(invoices, key=number, reverse=True)
        if self._default_order == "last_update_desc":
            return sorted(invoices, key=lambda i: (i.last_update, number(i)), reverse=True)
        return sorted(invoices, key=lambda invoice: shuffle_key(self._seed, invoice.id))

    # --- data access and state changes -----------------------------------------------------

    def last_update(self, invoice_id: str) -> datetime:
        """The hidden last-update time the list's ``lastUpdate*`` filters compare."""
        with self._store.locked() as records:
            return find(records, invoice_id).last_update

    def set_last_update(self, invoice_id: str, when: datetime) -> None:
        """Put the last update at ``when`` (timezone-aware), e.g. exactly on a window's edge."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        with self._store.locked() as records:
            find(records, invoice_id).last_update = when.astimezone(UTC)

    def add(self, n: int = 1, status: str = "Pending") -> list[str]:
        """Create ``n`` invoices now, with attempts fitting ``status``; returns their ids."""
        if status not in ADDABLE_STATUSES:
            raise ValueError(f"cannot add a {status!r} invoice; use one of {ADDABLE_STATUSES}")
        added = []
        with self._store.locked() as records:
            for _ in range(n):
                now = _now()
                invoice = self._factory.build(
                    self._next_index, now - ADDED_HISTORY, now, status, awkward=False
                )
                invoice.last_update = now
                self._next_index += 1
                records[invoice.id] = invoice
                added.append(invoice.id)
        return added

    def add_attempt(self, invoice_id: str, *, success: bool, processor: str | None = None) -> str:
        """A billing attempt now (see ``lifecycle.add_attempt``); returns the attempt id."""
        with self._store.locked() as records:
            return lifecycle.add_attempt(
                find(records, invoice_id),
                self._factory,
                self._rng,
                _now(),
                success=success,
                processor=processor,
            )

    def pay(self, invoice_id: str) -> str:
        """A successful attempt, e.g. an invoice paid after a failed attempt; the attempt id."""
        return self.add_attempt(invoice_id, success=True)

    def void(self, invoice_id: str) -> None:
        """Void the invoice."""
        with self._store.locked() as records:
            lifecycle.void(find(records, invoice_id), _now())

    def refund(self, invoice_id: str, amount: Decimal | str | float | None = None) -> str:
        """Refund a paid invoice (what is left of it if ``amount`` is None): a new invoice with
        ``parentInvoiceId``, Refund or PartialRefund; the original is updated too."""
        with self._store.locked() as records:
            parent = find(records, invoice_id)
            refunded = sum(
                (
                    child.detail["total"]
                    for child in records.values()
                    if child.detail["parentInvoiceId"] == parent.detail["invoiceId"]
                    and child.status in {"Refund", "PartialRefund", "RefundPending"}
                ),
                Decimal(0),
            )
            value = parent.detail["total"] - refunded if amount is None else to_amount(amount)
            status = lifecycle.refund_status(parent, refunded, value)
            now = _now()
            child = self._factory.refund(
                self._next_index, parent, now, now, status=status, amount=value
            )
            self._next_index += 1
            child.last_update = parent.last_update = now
            records[child.id] = child
            return child.id

    def edit_line_item(self, invoice_id: str, line_item_id: str, **changes: Any) -> None:
        """Change a line item's ``name``, ``description`` or ``value``; totals follow."""
        with self._store.locked() as records:
            lifecycle.edit_line_item(find(records, invoice_id), line_item_id, changes, _now())


def _matches(invoice: StoredInvoice, query: ListQuery) -> bool:
    """Whether the invoice passes every filter of the query (all bounds inclusive)."""
    if query.last_update_start is not None and invoice.last_update < query.last_update_start:
        return False
    if query.last_update_end is not None and invoice.last_update > query.last_update_end:
        return False
    if query.billing_start is not None and invoice.billing_day < query.billing_start:
        return False
    if query.billing_end is not None and invoice.billing_day > query.billing_end:
        return False
    wanted = query.merchant_customer_ref_id
    return wanted is None or invoice.detail["merchantCustomerRefId"] == wanted


def _number(invoice: StoredInvoice) -> int:
    """The invoice id as the number it is on the wire."""
    return cast("int", invoice.detail["invoiceId"])
