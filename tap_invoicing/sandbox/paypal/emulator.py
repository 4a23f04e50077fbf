"""The PayPal Invoicing v2 emulation: OAuth client credentials, list, search and detail with
their validation, PayPal-shaped errors, plus the data access and state changes tests use.

Besides reading, the removals PayPal documents ([S1]): DELETE of a draft or scheduled invoice,
DELETE of a recorded (EXTERNAL) payment or refund, and PUT, the full update that replaces an
invoice (its items included); each answers 204 (PUT: 200 and the invoice), 404 for an unknown
invoice or transaction, and 422 UNPROCESSABLE_ENTITY where PayPal refuses the change.

Where the docs are silent this answers as PayPal plausibly does: an unknown path is a 404
RESOURCE_NOT_FOUND and another method on a known route a 405 METHOD_NOT_SUPPORTED (both after
authentication, like every route); error responses carry their ``debug_id`` in a
``Paypal-Debug-Id`` header too; a 401 for a bad bearer token has no ``debug_id`` nor
``details``, as PayPal's own don't; ``fields=none`` on the list leaves only ``id``, ``status``
and ``links`` ("only the ID, name and default attributes"); pagination links (``self``,
``prev``, ``next``) name the host the request was sent to.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar, Literal, cast
from urllib.parse import parse_qs, unquote, urlencode

from tap_invoicing.sandbox.fakedata import shuffle_key
from tap_invoicing.sandbox.options import LIST_SHAPE, MAX_PAGE, EmulatorOption
from tap_invoicing.sandbox.paypal import lifecycle
from tap_invoicing.sandbox.paypal.auth import (
    ACCESS_TOKEN,
    TOKEN_LIFETIME,
    Credentials,
    TokenIssuer,
    bearer_token,
)
from tap_invoicing.sandbox.paypal.data import STATUSES, InvoiceFactory
from tap_invoicing.sandbox.paypal.lifecycle import RefusalError
from tap_invoicing.sandbox.paypal.query import (
    Paging,
    QueryError,
    SearchFilter,
    detail_entry,
    parse_fields,
    parse_paging,
    parse_search,
)
from tap_invoicing.sandbox.paypal.record import StoredInvoice, trimmed, without_external_ids
from tap_invoicing.sandbox.paypal.update import replacement
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.server import ApiRequest, ApiResponse, RouteInfo, json_response
from tap_invoicing.sandbox.store import RecordStore, StoredInvoices, find

ListShape = Literal["summary", "full"]
SearchFields = Literal["filtered", "all"]
SEARCH_FIELDS = EmulatorOption(
    "search_fields",
    "what a search item leaves out: the collections its fields do not ask for (filtered, "
    "default), or nothing a list item holds (all)",
    choices=("filtered", "all"),
)
DefaultOrder = Literal["create_desc", "create_asc", "shuffled"]
DEFAULT_ORDERS = ("create_desc", "create_asc", "shuffled")
JSON_TYPE = "application/json"
TOKEN_PATH = "/v1/oauth2/token"  # noqa: S105  (a path, not a password)
LIST_PATH = "/v2/invoicing/invoices"
SEARCH_PATH = "/v2/invoicing/search-invoices"
DETAIL_PATH = re.compile(r"/v2/invoicing/invoices/([^/]+)")
TRANSACTION_PATH = re.compile(r"/v2/invoicing/invoices/([^/]+)/(payments|refunds)/([^/]+)")
"""An invoice's recorded payment or refund, which DELETE deletes."""
MAX_ID_LENGTH = 30
NO_CONTENT = ApiResponse(204, b"")
"""PayPal's answer to a deletion: 204 and no body."""
SCOPE = " ".join(
    (
        "https://uri.paypal.com/services/invoicing",
        "https://uri.paypal.com/services/invoicing/invoices/read",
        "https://uri.paypal.com/services/invoicing/invoices/readwrite",
        "https://uri.paypal.com/services/reporting/search/read",
        "openid",
    )
)
APP_ID = "APP-80W284485P519543T"
ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to invalid authentication credentials or a missing "
        "Authorization header.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    405: ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error has occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}
"""PayPal's error names and messages per status ([S1] error schemas, [S3], [S4])."""
ADDED_HISTORY = timedelta(minutes=10)
"""How far back the history of an invoice made by ``add`` reaches (all before now)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _info_link(name: str) -> dict[str, str]:
    return {
        "href": f"https://developer.paypal.com/docs/api/invoicing/v2/#error-{name}",
        "rel": "information_link",
        "method": "GET",
    }


def error_response(status: int, details: list[dict[str, Any]] | None = None) -> ApiResponse:
    """PayPal's error body: name, message, a fresh 13-hex-digit ``debug_id``, details, links."""
    if status in ERRORS:
        name, message = ERRORS[status]
    else:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        name, message = phrase.upper().replace(" ", "_"), f"{phrase}."
    debug_id = secrets.token_hex(7)[:13]
    body = {
        "name": name,
        "message": message,
        "debug_id": debug_id,
        "details": details or [],
        "links": [_info_link(name)],
    }
    return json_response(
        status, body, content_type=JSON_TYPE, headers={"Paypal-Debug-Id": debug_id}
    )


def _not_found(name: str, value: str) -> ApiResponse:
    """404 RESOURCE_NOT_FOUND naming the path parameter whose resource does not exist."""
    entry = detail_entry(
        name, value, "path", "INVALID_RESOURCE_ID", "Requested resource ID was not found."
    )
    return error_response(404, [entry])


def _unprocessable(refusal: RefusalError) -> ApiResponse:
    """422 UNPROCESSABLE_ENTITY with the refusal's issue."""
    return error_response(422, [{"issue": refusal.issue, "description": refusal.description}])


def _authentication_failure() -> ApiResponse:
    name, message = ERRORS[401]
    body = {"name": name, "message": message, "links": [_info_link(name)]}
    return json_response(401, body, content_type=JSON_TYPE)


def _oauth_error(status: int, error: str, description: str) -> ApiResponse:
    return json_response(
        status, {"error": error, "error_description": description}, content_type=JSON_TYPE
    )


class PayPalEmulator(StoredInvoices[StoredInvoice]):
    """A seeded PayPal merchant account with invoices, served as PayPal's REST API.

    ``token_lifetime`` (seconds) is how long an access token works. ``max_page`` caps ``page``
    (PayPal's is 1000). ``list_shape`` decides what a list or search item is: the "summary" of
    PayPal's samples, or the "full" invoice; ``summary_last_update`` adds
    ``detail.metadata.last_update_time`` to summaries. A search's ``fields`` asks for the
    collections (items, payments, refunds, additional recipients, attachments) in full; with
    ``search_fields`` "filtered" (the default, as the spec suggests: "field filtering is
    required") a search item leaves out those it does not ask for, the payments' and refunds'
    totals included, while with "all" it holds all a list item does. The list comes in
    ``default_order``, which no client may rely on (PayPal documents none). PayPal publishes no
    rate limits, so there are none unless ``rate_limits`` says so. Recorded (EXTERNAL) payments
    and refunds carry the ``EXTR-`` id that recording returns and deleting takes; with
    ``external_ids`` false they are served without it (the spec requires an id of PAYPAL ones
    only), though the sandbox's own methods still know it.
    """

    name = "paypal"
    cli_options: ClassVar[tuple[EmulatorOption, ...]] = (
        LIST_SHAPE,
        MAX_PAGE,
        TOKEN_LIFETIME,
        SEARCH_FIELDS,
    )
    secret_patterns: ClassVar[tuple[re.Pattern[str], ...]] = (ACCESS_TOKEN,)

    @staticmethod
    def credentials_for_seed(seed: int) -> tuple[str, ...]:
        """The client id and secret the sandbox accepts with ``seed``."""
        return tuple(asdict(Credentials.for_seed(seed)).values())

    def __init__(
        self,
        *,
        invoices: int,
        seed: int,
        token_lifetime: float = 32400.0,
        max_page: int = 1000,
        list_shape: ListShape = "summary",
        summary_last_update: bool = False,
        default_order: DefaultOrder = "create_desc",
        rate_limits: tuple[RateLimit, ...] = (),
        external_ids: bool = True,
        search_fields: SearchFields = "filtered",
    ) -> None:
        if list_shape not in {"summary", "full"}:
            raise ValueError(f"list_shape must be 'summary' or 'full', not {list_shape!r}")
        if max_page < 1:
            raise ValueError("max_page must be >= 1")
        if search_fields not in {"filtered", "all"}:
            raise ValueError(f"search_fields must be 'filtered' or 'all', not {search_fields!r}")
        if default_order not in DEFAULT_ORDERS:
            raise ValueError(f"default_order must be one of {DEFAULT_ORDERS}")
        self.credentials = Credentials.for_seed(seed)
        self.rate_limits = tuple(rate_limits)
        self._tokens = TokenIssuer(token_lifetime)
        self._seed = seed
        self._max_page = max_page
        self._list_shape = list_shape
        self._summary_last_update = summary_last_update
        self._default_order = default_order
        self._external_ids = external_ids
        self._search_fields = search_fields
        self._factory = InvoiceFactory(seed)
        initial = self._factory.initial(invoices, _now())
        self._store = RecordStore([(invoice.id, invoice) for invoice in initial])
        self._next_index = invoices

    # --- HTTP ------------------------------------------------------------------------------

    def classify(self, method: str, path: str) -> RouteInfo:
        """Token requests, the list (GET list and POST search) and detail reads; changes to an
        invoice (DELETE, PUT) are "other", with the invoice's id."""
        if method == "POST" and path == TOKEN_PATH:
            return RouteInfo("token")
        if (method, path) in {("GET", LIST_PATH), ("POST", SEARCH_PATH)}:
            return RouteInfo("list")
        match = DETAIL_PATH.fullmatch(path) or TRANSACTION_PATH.fullmatch(path)
        if match is None:
            return RouteInfo("other")
        invoice_id = unquote(match.group(1))
        is_read = method == "GET" and match.re is DETAIL_PATH
        return RouteInfo("detail" if is_read else "other", invoice_id)

    def handle(self, request: ApiRequest) -> ApiResponse:
        """The token endpoint takes the client credentials; every other route a valid token."""
        path, method = request.path, request.method
        if path == TOKEN_PATH:
            return self._token(request) if method == "POST" else error_response(405)
        if not self._tokens.valid(bearer_token(request.headers)):
            return _authentication_failure()
        detail = DETAIL_PATH.fullmatch(path)
        transaction = TRANSACTION_PATH.fullmatch(path)
        routes: dict[str, Callable[[], ApiResponse]] = {}
        if path == LIST_PATH:
            routes["GET"] = lambda: self._list(request)
        elif path == SEARCH_PATH:
            routes["POST"] = lambda: self._search(request)
        elif detail is not None:
            invoice_id = unquote(detail.group(1))
            routes["GET"] = lambda: self._detail(invoice_id)
            routes["DELETE"] = lambda: self._delete_invoice(invoice_id)
            routes["PUT"] = lambda: self._replace(request, invoice_id)
        elif transaction is not None:
            invoice_id, collection, transaction_id = transaction.groups()
            routes["DELETE"] = lambda: self._delete_transaction(
                unquote(invoice_id), collection, unquote(transaction_id)
            )
        if not routes:
            return error_response(404)
        serve = routes.get(method)
        return serve() if serve is not None else error_response(405)

    def fault_response(self, status: int) -> ApiResponse:
        """PayPal-shaped error bodies for injected status faults."""
        if status == 401:
            return _authentication_failure()
        if status == 429:
            return self.rate_limited_response()
        return error_response(status)

    def skeleton_response(self) -> ApiResponse:
        """``{}``: the list expects ``items``, the detail an ``id``, the token an access token."""
        return json_response(200, {}, content_type=JSON_TYPE)

    def rate_limited_response(self) -> ApiResponse:
        """429 RATE_LIMIT_REACHED; no ``Retry-After``, as PayPal promises none."""
        return error_response(429)

    def _token(self, request: ApiRequest) -> ApiResponse:
        """Client authentication first (401 invalid_client), then the grant (400)."""
        if not self.credentials.accepts(request.headers):
            return _oauth_error(401, "invalid_client", "Client Authentication failed")
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        grant = form.get("grant_type", [""])[0]
        if grant != "client_credentials":
            description = "Grant Type is NULL" if not grant else f"unsupported grant_type {grant}"
            return _oauth_error(400, "unsupported_grant_type", description)
        now = _now()
        body = {
            "scope": SCOPE,
            "access_token": self._tokens.issue(),
            "token_type": "Bearer",
            "app_id": APP_ID,
            "expires_in": int(self._tokens.lifetime),
            "nonce": now.strftime("%Y-%m-%dT%H:%M:%SZ") + secrets.token_urlsafe(32),
        }
        return json_response(200, body, content_type=JSON_TYPE)

    def _list(self, request: ApiRequest) -> ApiResponse:
        details: list[dict[str, Any]] = []
        paging = parse_paging(request.query, self._max_page, details)
        full_fields = parse_fields(request.query, details)
        if details:
            return error_response(400, details)
        return self._page(request, paging, SearchFilter(), full_fields, searched=False)

    def _search(self, request: ApiRequest) -> ApiResponse:
        details: list[dict[str, Any]] = []
        paging = parse_paging(request.query, self._max_page, details)
        try:
            search = parse_search(request.body)
        except QueryError as invalid:
            details.extend(invalid.details)
            search = SearchFilter()
        if details:
            return error_response(400, details)
        return self._page(request, paging, search, True, searched=True)

    def _page(
        self,
        request: ApiRequest,
        paging: Paging,
        search: SearchFilter,
        full_fields: bool,
        *,
        searched: bool,
    ) -> ApiResponse:
        """One page of the matching invoices (``items: []`` past the last one), the totals if
        asked, and links."""
        start = (paging.page - 1) * paging.page_size
        with self._store.locked() as records:
            matching = self._ordered([i for i in records.values() if search.matches(i)])
            chosen = matching[start : start + paging.page_size]
            items = [
                self._item(invoice, search, full_fields, searched=searched) for invoice in chosen
            ]
            body: dict[str, Any] = {}
            if paging.total_required:
                body["total_items"] = len(matching)
                body["total_pages"] = math.ceil(len(matching) / paging.page_size)
            body["items"] = items
            body["links"] = self._page_links(request, paging, len(matching))
            # Encoded while the store is locked, so the served views need no copy.
            return json_response(200, body, content_type=JSON_TYPE)

    def _item(
        self, invoice: StoredInvoice, search: SearchFilter, full_fields: bool, *, searched: bool
    ) -> dict[str, Any]:
        """A list or search item in the list shape; a filtered search leaves out the
        collections its ``fields`` do not ask for."""
        if not full_fields:
            return {key: invoice.detail[key] for key in ("id", "status", "links")}
        leave_out = searched and self._search_fields == "filtered"
        if self._list_shape == "full":
            full = invoice.detail
            return self._served(trimmed(full, search.collections) if leave_out else full)
        summary = invoice.summary(
            last_update=self._summary_last_update,
            collections=search.collections,
            leave_out=leave_out,
        )
        return self._served(summary)

    def _served(self, body: dict[str, Any]) -> dict[str, Any]:
        """A detail or list item as served: without external ids unless they are shown."""
        return body if self._external_ids else without_external_ids(body)

    def _page_links(self, request: ApiRequest, paging: Paging, total: int) -> list[dict[str, str]]:
        """``self``, and ``prev``/``next`` where such a page exists (within the cap)."""
        host = request.headers.get("Host", "127.0.0.1")
        method = request.method

        def link(page: int, rel: str) -> dict[str, str]:
            query = {**request.query, "page": str(page), "page_size": str(paging.page_size)}
            return {
                "href": f"http://{host}{request.path}?{urlencode(query)}",
                "rel": rel,
                "method": method,
            }

        links = [link(paging.page, "self")]
        if paging.page > 1:
            links.append(link(paging.page - 1, "prev"))
        if paging.page * paging.page_size < total and paging.page < self._max_page:
            links.append(link(paging.page + 1, "next"))
        return links

    @staticmethod
    def _stored(records: dict[str, StoredInvoice], invoice_id: str) -> StoredInvoice | None:
        """The invoice a path names, if there is one."""
        return records.get(invoice_id) if len(invoice_id) <= MAX_ID_LENGTH else None

    def _detail(self, invoice_id: str) -> ApiResponse:
        with self._store.locked() as records:
            invoice = self._stored(records, invoice_id)
            if invoice is None:
                return _not_found("invoice_id", invoice_id)
            return json_response(200, self._served(invoice.detail), content_type=JSON_TYPE)

    def _delete_invoice(self, invoice_id: str) -> ApiResponse:
        """DELETE of a draft or scheduled invoice: gone from the list, search and detail."""
        with self._store.locked() as records:
            invoice = self._stored(records, invoice_id)
            if invoice is None:
                return _not_found("invoice_id", invoice_id)
            try:
                lifecycle.check_deletable(invoice)
            except RefusalError as refusal:
                return _unprocessable(refusal)
            del records[invoice_id]
        return NO_CONTENT

    def _replace(self, request: ApiRequest, invoice_id: str) -> ApiResponse:
        """PUT, the full update: 404 for an unknown invoice, 400 for a body PayPal's schema
        refuses (with the notification flags), 422 for an invoice past updating; else 200 and
        the invoice as it now is."""
        details: list[dict[str, Any]] = []
        for flag in ("send_to_recipient", "send_to_invoicer"):
            value = request.query.get(flag, "true")
            if value.strip().lower() not in {"true", "false"}:
                details.append(
                    detail_entry(
                        flag,
                        value,
                        "query",
                        "INVALID_PARAMETER_SYNTAX",
                        "The value of a field does not conform to the expected format.",
                    )
                )
        with self._store.locked() as records:
            invoice = self._stored(records, invoice_id)
            if invoice is None:
                return _not_found("invoice_id", invoice_id)
            try:
                new = replacement(request.body, invoice_id)
            except QueryError as invalid:
                details.extend(invalid.details)
            if details:
                return error_response(400, details)
            try:
                lifecycle.replace(invoice, new, _now())
            except RefusalError as refusal:
                return _unprocessable(refusal)
            return json_response(200, self._served(invoice.detail), content_type=JSON_TYPE)

    def _delete_transaction(
        self, invoice_id: str, collection: str, transaction_id: str
    ) -> ApiResponse:
        """DELETE of a recorded payment or refund; an unknown one is a 404 naming it."""
        with self._store.locked() as records:
            invoice = self._stored(records, invoice_id)
            if invoice is None:
                return _not_found("invoice_id", invoice_id)
            try:
                lifecycle.delete_transaction(invoice, collection, transaction_id, _now())
            except KeyError:
                return _not_found("transaction_id", transaction_id)
            except RefusalError as refusal:
                return _unprocessable(refusal)
        return NO_CONTENT

    def _ordered(self, invoices: list[StoredInvoice]) -> list[StoredInvoice]:
        """The store keeps creation order, oldest first."""
        if self._default_order == "create_asc":
            return invoices
        if self._default_order == "create_desc":
            return invoices[::-1]
        return sorted(invoices, key=lambda invoice: shuffle_key(self._seed, invoice.id))

    # --- tokens, data access and state changes ---------------------------------------------

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """A deep copy of the invoice as the detail endpoint serves it; KeyError if unknown."""
        with self._store.locked() as records:
            return copy.deepcopy(self._served(find(records, invoice_id).detail))

    def external_payments(self, invoice_id: str) -> list[str]:
        """The ids of the invoice's recorded (EXTERNAL) payments, oldest first: the ones
        ``delete_payment`` can delete (known even when ``external_ids`` hides them)."""
        with self._store.locked() as records:
            return find(records, invoice_id).external_ids("payments")

    def external_refunds(self, invoice_id: str) -> list[str]:
        """The ids of the invoice's recorded (EXTERNAL) refunds, oldest first."""
        with self._store.locked() as records:
            return find(records, invoice_id).external_ids("refunds")

    def tokens_issued(self) -> int:
        """How many access tokens the token endpoint has issued."""
        return len(self._tokens.every_token())

    def issued_tokens(self) -> list[str]:
        """Every access token the token endpoint has issued."""
        return self._tokens.every_token()

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (the next call gets a 401)."""
        self._tokens.revoke_all()

    def add(self, n: int = 1, status: str = "SENT") -> list[str]:
        """Create ``n`` invoices now (the newest), with a history fitting ``status``."""
        if status not in STATUSES:
            raise ValueError(f"cannot add a {status!r} invoice; use one of {STATUSES}")
        added = []
        with self._store.locked() as records:
            for _ in range(n):
                now = _now()
                invoice = self._factory.build(
                    self._next_index, now - ADDED_HISTORY, now, status, awkward=False
                )
                invoice.touch(now)
                self._next_index += 1
                records[invoice.id] = invoice
                added.append(invoice.id)
        return added

    def send(self, invoice_id: str) -> None:
        """Send a draft."""
        with self._store.locked() as records:
            lifecycle.send(find(records, invoice_id), _now())

    def pay(self, invoice_id: str, amount: Decimal | str | float | None = None) -> str:
        """A payment through PayPal of ``amount`` (what is due if None); the payment id."""
        with self._store.locked() as records:
            transaction = lifecycle.pay(
                find(records, invoice_id), self._factory, _now(), amount, external=False
            )
            return cast("str", transaction["payment_id"])

    def record_payment(self, invoice_id: str, amount: Decimal | str | float | None = None) -> str:
        """Record a payment made outside PayPal (EXTERNAL); its ``EXTR-`` id, as PayPal's record
        payment answers."""
        with self._store.locked() as records:
            transaction = lifecycle.pay(
                find(records, invoice_id), self._factory, _now(), amount, external=True
            )
            return cast("str", transaction["payment_id"])

    def refund(self, invoice_id: str, amount: Decimal | str | float | None = None) -> str:
        """A refund through PayPal of ``amount`` (all that is left if None); the refund id."""
        with self._store.locked() as records:
            transaction = lifecycle.refund(
                find(records, invoice_id), self._factory, _now(), amount, external=False
            )
            return cast("str", transaction["refund_id"])

    def record_refund(self, invoice_id: str, amount: Decimal | str | float | None = None) -> str:
        """Record a refund made outside PayPal; its ``EXTR-`` id."""
        with self._store.locked() as records:
            transaction = lifecycle.refund(
                find(records, invoice_id), self._factory, _now(), amount, external=True
            )
            return cast("str", transaction["refund_id"])

    def delete_invoice(self, invoice_id: str) -> None:
        """Delete a draft or scheduled invoice, as DELETE does (ActionNotAllowedError for any
        other; ``delete`` removes any invoice, as if it never existed)."""
        with self._store.locked() as records:
            lifecycle.check_deletable(find(records, invoice_id))
            del records[invoice_id]

    def delete_payment(self, invoice_id: str, transaction_id: str) -> None:
        """Delete a recorded payment (an id from ``external_payments``); the status and amounts
        follow. ActionNotAllowedError for a PayPal payment, or one whose deletion would leave
        more refunded than paid; KeyError for an unknown one."""
        with self._store.locked() as records:
            lifecycle.delete_transaction(
                find(records, invoice_id), "payments", transaction_id, _now()
            )

    def delete_refund(self, invoice_id: str, transaction_id: str) -> None:
        """Delete a recorded refund (an id from ``external_refunds``); the status and amounts
        follow. ActionNotAllowedError for a PayPal refund; KeyError for an unknown one."""
        with self._store.locked() as records:
            lifecycle.delete_transaction(
                find(records, invoice_id), "refunds", transaction_id, _now()
            )

    def update_invoice(self, invoice_id: str, invoice: dict[str, Any]) -> None:
        """PUT's full update with ``invoice`` (a complete invoice, as served or made up):
        QueryError (a ValueError whose ``details`` are the 400's) for what PayPal's schema
        refuses, ActionNotAllowedError for an invoice past updating, KeyError if unknown."""
        new = replacement(invoice, invoice_id)
        with self._store.locked() as records:
            lifecycle.replace(find(records, invoice_id), new, _now())

    def replace_items(self, invoice_id: str, items: list[dict[str, Any]]) -> None:
        """A full update that keeps everything but the items, which ``items`` replace; the
        amounts follow (an invoice discount given as a percent is worked out anew)."""
        with self._store.locked() as records:
            body = copy.deepcopy(find(records, invoice_id).detail)
        body["items"] = items
        discount = body.get("amount", {}).get("breakdown", {}).get("discount", {})
        invoice_discount = discount.get("invoice_discount", {})
        if "percent" in invoice_discount:
            invoice_discount.pop("amount", None)
        self.update_invoice(invoice_id, body)

    def cancel(self, invoice_id: str) -> None:
        """Cancel a sent or scheduled invoice."""
        with self._store.locked() as records:
            lifecycle.cancel(find(records, invoice_id), _now())

    def update(self, invoice_id: str, **changes: str | None) -> None:
        """Change ``detail`` texts: reference, note, memo, terms_and_conditions (in any status
        but CANCELLED, so tests can touch settled invoices; PayPal's own full update, with its
        status rules, is ``update_invoice``)."""
        with self._store.locked() as records:
            lifecycle.update(find(records, invoice_id), changes, _now())

    def last_update(self, invoice_id: str) -> str:
        """``detail.metadata.last_update_time`` as served."""
        with self._store.locked() as records:
            return cast("str", find(records, invoice_id).metadata["last_update_time"])
