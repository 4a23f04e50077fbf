"""The CyberSource Invoicing v2 emulation: authentication, routes and response bodies, plus the
data access and state changes the ``Sandbox`` offers to tests."""

from __future__ import annotations

import copy
import random
import re
import time
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

import simplejson

from tap_invoicing.sandbox.cybersource import lifecycle
from tap_invoicing.sandbox.cybersource.data import STATUSES, InvoiceFactory
from tap_invoicing.sandbox.cybersource.record import StoredInvoice, created_date
from tap_invoicing.sandbox.cybersource.signature import Credentials, SignatureVerifier
from tap_invoicing.sandbox.emulator import ActionNotAllowedError
from tap_invoicing.sandbox.options import EmulatorOption
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.server import ApiRequest, ApiResponse, RouteInfo, json_response
from tap_invoicing.sandbox.store import RecordStore, StoredInvoices, find

LIST_PATH = re.compile(r"/invoicing/v2/invoices/?")
DETAIL_PATH = re.compile(r"/invoicing/v2/invoices/([^/]+)")
ACTION_PATH = re.compile(r"/invoicing/v2/invoices/([^/]+)/(publication|delivery|cancelation)")
NON_NEGATIVE_INTEGER = re.compile(r"[0-9]+")
MAX_LIMIT = 1000
HAL_TYPE = "application/hal+json;charset=utf-8"
AUTH_FAILED = {"response": {"rmsg": "Authentication Failed"}}
SUMMARY_CUSTOMER_FIELDS = ("name", "merchantCustomerId")
SUMMARY_INVOICE_FIELDS = ("dueDate", "expirationDate", "paymentLink")
EndOfList = Literal["no-invoices-found", "invoice-does-not-exist"]
END_OF_LIST_MESSAGES: dict[str, str] = {
    "no-invoices-found": "No invoices found.",
    "invoice-does-not-exist": "Invoice does not exist.",
}
"""The list's 404 past its end: the spec describes it as "No invoices found.", while its example
body says "Invoice does not exist." (api-notes section 6); the real API may send either."""
UNKNOWN_ROUTE_MESSAGE = "The requested resource does not exist."
"""What a route the API lacks answers. The real API's answer is undocumented (its gateway
answers a failed authentication in another envelope altogether); the sandbox's keeps the
invoicing error shape but never an end-of-list message, so a wrong ``base_url`` path cannot
pass for an empty list."""
END_OF_LIST = EmulatorOption(
    "end_of_list",
    "the list's 404 past its end: the spec's description, 'No invoices found.' (default), or "
    "its example's 'Invoice does not exist.'",
    choices=tuple(END_OF_LIST_MESSAGES),
)


def now_ms() -> int:
    """Wall-clock milliseconds: the resolution of invoice history dates."""
    return time.time_ns() // 1_000_000


def submit_time_utc() -> str:
    """The response time with a nanosecond fraction, as real responses carry it."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def _error(status: int, kind: str, reason: str, message: str, **extra: Any) -> ApiResponse:
    """The invoicing error body: ``{submitTimeUtc, status, reason, message[, details]}``."""
    body = {
        "submitTimeUtc": submit_time_utc(),
        "status": kind,
        "reason": reason,
        "message": message,
    }
    return json_response(status, {**body, **extra})


def _not_found(message: str) -> ApiResponse:
    return _error(404, "NOTFOUND", "NOT_FOUND", message)


def _page_link(offset: int, limit: int) -> dict[str, str]:
    """Relative, without ``/invoicing`` and without the status filter, as the real API has it."""
    return {"href": f"/v2/invoices/?offset={offset}&limit={limit}", "method": "GET"}


class CyberSourceEmulator(StoredInvoices[StoredInvoice]):
    """A seeded CyberSource merchant with invoices, served as the Invoicing v2 REST API.

    ``end_of_list`` picks which of the two documented 404 bodies the list answers past its end
    (and on an account without invoices)."""

    name = "cybersource"
    rate_limits: tuple[RateLimit, ...] = ()
    """CyberSource publishes no rate limits for invoicing (api-notes section 6)."""
    cli_options: ClassVar[tuple[EmulatorOption, ...]] = (END_OF_LIST,)
    secret_patterns: ClassVar[tuple[re.Pattern[str], ...]] = (re.compile('signature="'),)
    """An HTTP Signature header's signature (recomputed per request, so found by its look)."""

    @staticmethod
    def credentials_for_seed(seed: int) -> tuple[str, ...]:
        """The merchant id, key id and shared secret the sandbox accepts with ``seed``."""
        return tuple(asdict(Credentials.for_seed(seed)).values())

    def __init__(
        self, *, invoices: int, seed: int, end_of_list: EndOfList = "no-invoices-found"
    ) -> None:
        if end_of_list not in END_OF_LIST_MESSAGES:
            choices = ", ".join(map(repr, END_OF_LIST_MESSAGES))
            raise ValueError(f"end_of_list must be one of {choices}, not {end_of_list!r}")
        self._end_of_list_message = END_OF_LIST_MESSAGES[end_of_list]
        self.credentials = Credentials.for_seed(seed)
        self._verifier = SignatureVerifier(self.credentials)
        self._factory = InvoiceFactory(seed)
        self._rng = random.Random(f"{seed}:changes")
        initial = self._factory.initial(invoices, now_ms())
        self._store = RecordStore([(invoice.id, invoice) for invoice in initial])
        self._next_index = invoices

    def classify(self, method: str, path: str) -> RouteInfo:
        """List and detail reads are what a sync is made of; everything else is "other"."""
        if method == "GET" and LIST_PATH.fullmatch(path):
            return RouteInfo("list")
        match = DETAIL_PATH.fullmatch(path)
        if method == "GET" and match:
            return RouteInfo("detail", unquote(match.group(1)))
        return RouteInfo("other")

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Authenticate, then route."""
        if not self._verifier.verify(request, datetime.now(UTC)):
            return json_response(401, AUTH_FAILED)
        route = self.classify(request.method, request.path)
        if route.kind == "list":
            return self._list(request.query)
        if route.kind == "detail" and route.invoice_id is not None:
            return self._detail(route.invoice_id)
        detail = DETAIL_PATH.fullmatch(request.path)
        if request.method == "PUT" and detail:
            return self._put(unquote(detail.group(1)), request.body)
        action = ACTION_PATH.fullmatch(request.path)
        if request.method == "POST" and action:
            return self._action(unquote(action.group(1)), action.group(2))
        return _not_found(UNKNOWN_ROUTE_MESSAGE)

    def fault_response(self, status: int) -> ApiResponse:
        """Vendor-shaped error bodies for injected status faults."""
        if status == 401:
            return json_response(401, AUTH_FAILED)
        if status == 404:
            return _not_found(UNKNOWN_ROUTE_MESSAGE)
        if status >= 500:
            return _error(status, "SERVER_ERROR", "SYSTEM_ERROR", "Error - General system failure.")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        reason = phrase.upper().replace(" ", "_")
        return _error(status, reason, reason, phrase)

    def skeleton_response(self) -> ApiResponse:
        """Valid JSON that lacks every field a client expects."""
        return json_response(200, {"submitTimeUtc": submit_time_utc()}, content_type=HAL_TYPE)

    def rate_limited_response(self) -> ApiResponse:
        """Never needed while ``rate_limits`` is empty; shaped like any other 429."""
        return self.fault_response(429)

    def _list(self, query: dict[str, str]) -> ApiResponse:
        details = []
        offset = query.get("offset")
        limit = query.get("limit")
        for field, value in (("offset", offset), ("limit", limit)):
            if value is None:
                details.append({"field": field, "reason": "MISSING_FIELD"})
            elif not NON_NEGATIVE_INTEGER.fullmatch(value) or (
                field == "limit" and not 1 <= int(value) <= MAX_LIMIT
            ):
                details.append({"field": field, "reason": "INVALID_DATA"})
        if details or offset is None or limit is None:
            fields = ", ".join(detail["field"] for detail in details)
            return _error(
                400, "BADREQUEST", "VALIDATION_ERROR", f"Invalid {fields}.", details=details
            )
        status = query.get("status")
        if status is not None and status not in STATUSES:
            return _error(
                400,
                "BADREQUEST",
                "VALIDATION_ERROR",
                "Invalid invoice status",
                details=[{"field": "status", "reason": "INVALID_DATA"}],
            )
        start, size = int(offset), int(limit)
        with self._store.locked() as records:
            matching = [
                invoice
                for invoice in reversed(records.values())
                if status is None or invoice.status == status
            ]
            page = [self._summary(invoice) for invoice in matching[start : start + size]]
        total = len(matching)
        if start >= total:
            return _not_found(self._end_of_list_message)
        links = {"self": _page_link(start, size)}
        if start + size < total:
            links["next"] = _page_link(start + size, size)
        if start > 0:
            links["previous"] = _page_link(max(start - size, 0), size)
        body = {
            "_links": links,
            "submitTimeUtc": submit_time_utc(),
            "totalInvoices": total,
            "invoices": page,
        }
        return json_response(200, body, content_type=HAL_TYPE)

    @staticmethod
    def _summary(invoice: StoredInvoice) -> dict[str, Any]:
        """A list item: a subset of the detail, plus ``createdDate`` (absent on some items)."""
        detail = invoice.detail
        item: dict[str, Any] = {"_links": copy.deepcopy(detail["_links"]), "id": invoice.id}
        item["status"] = invoice.status
        if invoice.list_created_date:
            item["createdDate"] = created_date(invoice.created_ms)
        customer = detail["customerInformation"]
        item["customerInformation"] = {
            key: customer[key] for key in SUMMARY_CUSTOMER_FIELDS if key in customer
        }
        info = detail["invoiceInformation"]
        item["invoiceInformation"] = {
            key: info[key] for key in SUMMARY_INVOICE_FIELDS if key in info
        }
        amounts = invoice.amounts
        item["orderInformation"] = {
            "amountDetails": {
                "totalAmount": amounts["totalAmount"],
                "currency": amounts["currency"],
            }
        }
        return item

    def _detail(self, invoice_id: str) -> ApiResponse:
        with self._store.locked() as records:
            invoice = records.get(invoice_id)
            if invoice is None:
                return _not_found("Invoice does not exist.")
            # Encoded while the store is locked, so no copy is needed to keep it consistent.
            return json_response(200, self._served(invoice.detail), content_type=HAL_TYPE)

    def _action(self, invoice_id: str, action: str) -> ApiResponse:
        """publication / delivery / cancelation: the change, answered like the detail minus
        its history."""
        try:
            if action == "publication":
                self.publish(invoice_id)
            elif action == "delivery":
                self.send(invoice_id)
            else:
                self.cancel(invoice_id)
        except KeyError:
            return _not_found("Invoice does not exist.")
        except ActionNotAllowedError as refusal:
            return _error(400, "BADREQUEST", "ACTION_NOT_ALLOWED", str(refusal))
        body = self._served(self.invoice(invoice_id))
        del body["invoiceHistory"]
        return json_response(200, body, content_type=HAL_TYPE)

    def _put(self, invoice_id: str, body: bytes) -> ApiResponse:
        """The update: the request replaces what it sends (its order replaces the order's line
        items and amounts), answered like the detail minus its history; a 400 when it is
        invalid or a payment was made."""
        try:
            request = simplejson.loads(body or b"null", use_decimal=True)
        except ValueError:
            request = None
        with self._store.locked() as records:
            invoice = records.get(invoice_id)
            if invoice is None:
                return _not_found("Invoice does not exist.")
            try:
                lifecycle.update_request(invoice, request, now_ms())
            except lifecycle.InvalidRequestError as invalid:
                details = [{"field": invalid.field, "reason": invalid.reason}]
                message = str(invalid)
                return _error(400, "BADREQUEST", "VALIDATION_ERROR", message, details=details)
            except ActionNotAllowedError as refusal:
                return _error(400, "BADREQUEST", "ACTION_NOT_ALLOWED", str(refusal))
            # A new dict over the stored values, encoded while the store is locked.
            served = self._served(invoice.detail)
            del served["invoiceHistory"]
            return json_response(200, served, content_type=HAL_TYPE)

    @staticmethod
    def _served(detail: dict[str, Any]) -> dict[str, Any]:
        """The detail with this response's ``submitTimeUtc`` in its place after ``id`` (a new
        dict over the same values: encode it before the store changes)."""
        rest = {key: value for key, value in detail.items() if key not in {"_links", "id"}}
        head = {"_links": detail["_links"], "id": detail["id"]}
        return {**head, "submitTimeUtc": submit_time_utc(), **rest}

    def pay(self, invoice_id: str, amount: Decimal | str | float | None = None) -> None:
        """Pay the balance, or ``amount`` of it (see ``lifecycle.pay``)."""
        with self._store.locked() as records:
            lifecycle.pay(find(records, invoice_id), amount, now_ms(), self._rng)

    def cancel(self, invoice_id: str) -> None:
        """Cancel an unpaid invoice."""
        with self._store.locked() as records:
            lifecycle.cancel(find(records, invoice_id), now_ms())

    def update(self, invoice_id: str, **changes: Any) -> None:
        """Edit an unpaid invoice's fields (see ``lifecycle.UPDATE_FIELDS``); ``line_items``
        (dicts shaped like the detail's) replaces its lines, and the amounts follow, as
        ``PUT /invoicing/v2/invoices/{id}`` does. ActionNotAllowedError once it is paid."""
        with self._store.locked() as records:
            lifecycle.update(find(records, invoice_id), changes, now_ms())

    def publish(self, invoice_id: str) -> None:
        """DRAFT -> CREATED."""
        with self._store.locked() as records:
            lifecycle.publish(find(records, invoice_id), now_ms(), self._rng)

    def send(self, invoice_id: str) -> None:
        """Send or resend by email."""
        with self._store.locked() as records:
            lifecycle.send(find(records, invoice_id), now_ms(), self._rng)

    def remind(self, invoice_id: str) -> None:
        """Send a reminder for a sent, open invoice."""
        with self._store.locked() as records:
            lifecycle.remind(find(records, invoice_id), now_ms())

    def add(self, n: int = 1, status: str = "SENT") -> list[str]:
        """Create ``n`` invoices now, at the head of the list, with histories fitting ``status``."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {STATUSES}")
        added = []
        with self._store.locked() as records:
            for _ in range(n):
                index = self._next_index
                self._next_index += 1
                until = now_ms()
                variant = 0
                invoice = self._factory.build(index, until - 1000, until, status)
                while invoice.status != status:
                    variant += 1
                    invoice = self._factory.build(index, until - 1000, until, status, variant)
                records[invoice.id] = invoice
                added.append(invoice.id)
        return added
