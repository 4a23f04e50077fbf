"""The Revolv3 emulation: it must speak the invoices API the way the vendor docs and the notes
describe (static token, bare-array v1 list, detail, validation, rate limits), keep its data
consistent, and move each invoice's hidden last-update time exactly as the filters see it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tap_invoicing.sandbox import ActionNotAllowedError, Fault, RateLimit, Sandbox
from tap_invoicing.sandbox.cli import main as sandbox_cli
from tap_invoicing.sandbox.ratelimit import RateLimiter
from tap_invoicing.sandbox.revolv3 import Credentials

LIST = "/api/Invoices/v1"
DETAIL = "/api/Invoices/{}"
VALIDATION = "One or more validation errors occurred."
SUMMARY_KEYS = [
    "invoiceId",
    "customerId",
    "merchantInvoiceRefId",
    "binNumber",
    "last4Digit",
    "invoiceStatus",
    "subtotal",
    "tax",
    "total",
    "billingDate",
    "merchantLegalName",
    "merchantCustomerRefId",
    "customerFirstName",
    "customerLastName",
]
DETAIL_KEYS = [
    "invoiceId",
    "parentInvoiceId",
    "customerId",
    "merchantInvoiceRefId",
    "paymentMethod",
    "invoiceStatus",
    "subtotal",
    "tax",
    "total",
    "billingDate",
    "merchantLegalName",
    "merchantCustomerRefId",
    "customerFirstName",
    "customerLastName",
    "subscriptionId",
    "installmentId",
    "eligibilityFailReason",
    "merchantSubscriptionRefId",
    "networkTransactionId",
    "currency",
    "invoiceLineItems",
    "invoiceAttempts",
    "voidAttempts",
]
ATTEMPT_KEYS = [
    "invoiceAttemptId",
    "amount",
    "invoiceAttemptStatus",
    "invoiceAttemptDate",
    "paymentProcessor",
    "processorTransactionId",
    "responseCode",
    "responseMessage",
    "processorRawResponse",
    "paymentMethod",
    "descriptor",
    "eligibilityCheckOrderCode",
    "processorMerchantId",
    "processingMethod",
    "revolv3ResponseCode",
    "revolv3ResponseMessage",
    "authCode",
    "processorResponseDateTime",
]
DAY_MONTH_YEAR = re.compile(r"\d\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d\d")
MONTH_DAY_YEAR = re.compile(r"([1-9]|1[0-2])/([1-9]|[12]\d|3[01])/\d{4}")
ZONELESS_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")
UTC_TICKS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
DOTNET_MIN = "0001-01-01T00:00:00"
AWKWARD = {"12.050", "0.10", "1000000.00", "0", "98765432109.99"}
PAID_LIKE = {"Paid", "Refund", "PartialRefund"}
FAILED_LIKE = {"Recycle", "Failed", "RefundDeclined", "RefundFailed"}
DATED_KEYS = {"billingDate", "invoiceAttemptDate", "processorResponseDateTime"}


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def open_session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.headers["x-revolv3-token"] = sandbox.credentials.static_token
    return session


def get(session: requests.Session, sandbox: Sandbox, path: str, **params: Any) -> Any:
    return session.get(f"{sandbox.base_url}{path}", params=params, timeout=10)


def all_pages(session: requests.Session, sandbox: Sandbox, **params: Any) -> list[dict]:
    """Every list item for a query, page by page until an empty page."""
    items: list[dict] = []
    for page in range(1, 1000):
        response = get(session, sandbox, LIST, page=page, pageSize=100, **params)
        assert response.status_code == 200, response.text
        body = decimal_json(response)
        if not body:
            return items
        items.extend(body)
    raise AssertionError("the list never ended")


def listed_ids(session: requests.Session, sandbox: Sandbox, **params: Any) -> set[str]:
    return {str(item["invoiceId"]) for item in all_pages(session, sandbox, **params)}


def without_dates(value: Any) -> Any:
    """A body without the fields that follow the clock (generation time shifts them)."""
    if isinstance(value, dict):
        return {k: without_dates(v) for k, v in value.items() if k not in DATED_KEYS}
    if isinstance(value, list):
        return [without_dates(item) for item in value]
    return value


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """A read-only sandbox without rate limits: tests using it must not change anything."""
    with Sandbox(provider="revolv3", invoices=120, seed=7, rate_limits=()) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def shared_client(shared: Sandbox) -> Iterator[requests.Session]:
    with open_session(shared) as session:
        yield session


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A private sandbox for tests that change data or inject faults."""
    with Sandbox(provider="revolv3", invoices=40, seed=11, rate_limits=()) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[requests.Session]:
    with open_session(sb) as session:
        yield session


# --- authentication and routes ---------------------------------------------------------------


def test_every_route_needs_the_static_token(shared):
    token = shared.credentials.static_token
    assert re.fullmatch(r"r3st_7_[0-9a-f]{32}", token)
    assert shared.tap_config() == {
        "provider": "revolv3",
        "base_url": shared.base_url,
        "static_token": token,
    }
    assert token not in repr(shared.credentials)
    some_id = shared.invoice_ids()[0]
    for path in (LIST, DETAIL.format(some_id), "/api/elsewhere"):
        for headers in ({}, {"x-revolv3-token": token[:-1] + "0"}, {"Authorization": token}):
            response = requests.get(f"{shared.base_url}{path}", headers=headers, timeout=10)
            assert response.status_code == 401
            assert response.json() == {"message": "Unauthorized"}
            assert token not in response.text


def test_routes_versions_and_unknown_paths(shared, shared_client):
    some_id = shared.invoice_ids()[0]
    assert get(shared_client, shared, "/api/Invoices/V1").status_code == 200
    assert get(shared_client, shared, "/api/invoices/v1/").status_code == 200
    for path in ("/api/Invoices/v2", "/api/Invoices/vnext", "/api/Invoices", "/elsewhere"):
        response = get(shared_client, shared, path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found", "errors": None}
    assert shared_client.post(f"{shared.base_url}{LIST}", timeout=10).status_code == 405
    kinds = [(r.kind, r.invoice_id) for r in shared.requests[-7:]]
    assert kinds[:2] == [("list", None), ("list", None)]
    assert all(kind == "other" for kind, _ in kinds[2:])
    shared.clear_requests()
    get(shared_client, shared, DETAIL.format(some_id))
    assert shared.detail_requests() == [some_id]


# --- the v1 list -----------------------------------------------------------------------------


def test_pages_are_bare_arrays_ending_in_an_empty_page(sb, client):
    pages = []
    for page in range(1, 4):
        response = get(client, sb, LIST, page=page, pageSize=15)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert not {"Link", "X-Total-Count"} & set(response.headers)
        pages.append(decimal_json(response))
    assert [len(page) for page in pages] == [15, 15, 10]
    assert get(client, sb, LIST, page=4, pageSize=15).json() == []
    assert get(client, sb, LIST, page=999, pageSize=15).json() == []
    ids = [str(item["invoiceId"]) for page in pages for item in page]
    assert ids == sb.invoice_ids()
    assert len(get(client, sb, LIST).json()) == 40
    assert len(get(client, sb, LIST, page=1, pageSize=100).json()) == 40


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"pageSize": 101}, "pageSize must be between 1 and 100"),
        ({"pageSize": 0}, "pageSize must be between 1 and 100"),
        ({"pageSize": "ten"}, "pageSize must be between 1 and 100"),
        ({"pageSize": ""}, "pageSize must be between 1 and 100"),
        ({"page": 0}, "page must be between 1 and 1000"),
        ({"page": "1.5"}, "page must be between 1 and 1000"),
        ({"orderBy": 4}, "orderBy must be 1, 2 or 3"),
        ({"lastAttemptOnly": "yes"}, "lastAttemptOnly must be true or false"),
        ({"billingStartDate": "2025-02-30"}, "billingStartDate must be a date (yyyy-MM-dd)"),
    ],
)
def test_invalid_list_parameters_are_a_400(shared, shared_client, params, error):
    response = get(shared_client, shared, LIST, **params)
    assert response.status_code == 400
    assert response.json() == {"message": VALIDATION, "errors": [error]}


def test_every_invalid_parameter_is_reported_at_once(shared, shared_client):
    response = get(shared_client, shared, LIST, page=-1, pageSize=500, lastUpdateEndDate="soon")
    assert response.json()["errors"] == [
        "page must be between 1 and 1000",
        "pageSize must be between 1 and 100",
        "lastUpdateEndDate must be a date (yyyy-MM-dd) or an ISO 8601 date-time",
    ]


@pytest.mark.parametrize("past_max_page", ["400", "empty"])
def test_page_cap(past_max_page):
    with (
        Sandbox(
            provider="revolv3",
            invoices=10,
            seed=2,
            rate_limits=(),
            max_page=3,
            past_max_page=past_max_page,
        ) as sandbox,
        open_session(sandbox) as session,
    ):
        assert len(get(session, sandbox, LIST, page=3, pageSize=3).json()) == 3
        response = get(session, sandbox, LIST, page=4, pageSize=3)
        if past_max_page == "400":
            assert response.status_code == 400
            assert response.json() == {
                "message": VALIDATION,
                "errors": ["page must be between 1 and 3"],
            }
        else:
            assert response.status_code == 200
            assert response.json() == []


def test_no_page_cap():
    with (
        Sandbox(provider="revolv3", invoices=3, seed=2, rate_limits=(), max_page=None) as sandbox,
        open_session(sandbox) as session,
    ):
        assert get(session, sandbox, LIST, page=5000).json() == []
        assert get(session, sandbox, LIST, page=0).json()["errors"] == [
            "page must be greater than or equal to 1"
        ]


def test_summary_items_hold_exactly_the_documented_fields(shared, shared_client):
    for item in all_pages(shared_client, shared):
        assert list(item) == SUMMARY_KEYS
        full = shared.invoice(str(item["invoiceId"]))
        for key in SUMMARY_KEYS:
            if key not in {"binNumber", "last4Digit"}:
                assert item[key] == full[key]
        card = full["paymentMethod"]["paymentMethodCreditCardDetails"]
        ach = full["paymentMethod"]["paymentMethodAchDetails"]
        if card:
            assert (item["binNumber"], item["last4Digit"]) == (
                card["binNumber"],
                card["paymentLast4Digit"],
            )
        else:
            assert (item["binNumber"], item["last4Digit"]) == (
                None,
                ach["accountNumberLast4Digits"],
            )


def test_full_items_are_the_detail_bodies():
    with (
        Sandbox(
            provider="revolv3", invoices=40, seed=11, rate_limits=(), list_shape="full"
        ) as full,
        open_session(full) as session,
    ):
        items = all_pages(session, full)
        assert [str(item["invoiceId"]) for item in items] == full.invoice_ids()
        for item in items:
            assert item == decimal_json(get(session, full, DETAIL.format(item["invoiceId"])))
            assert item == full.invoice(str(item["invoiceId"]))
        trimmed = all_pages(session, full, lastAttemptOnly="TRUE")
        for item, whole in zip(trimmed, items, strict=True):
            assert item["invoiceAttempts"] == (
                whole["invoiceAttempts"] and whole["invoiceAttempts"][-1:]
            )
        with_raw = all_pages(session, full, includeRawProcessorResponse="true")
        assert any(
            attempt["processorRawResponse"]
            for item in with_raw
            for attempt in item["invoiceAttempts"] or []
        )


def test_orders(shared, shared_client):
    def ids(**params: Any) -> list[int]:
        return [item["invoiceId"] for item in all_pages(shared_client, shared, **params)]

    newest_first = [int(i) for i in shared.invoice_ids()]
    assert ids() == newest_first
    assert ids(orderBy=3) == sorted(newest_first)
    by_update = sorted(newest_first, key=lambda i: (shared.api.last_update(str(i)), i))
    assert ids(orderBy=2) == by_update
    billed = {i: _billing_day(shared.invoice(str(i))["billingDate"]) for i in newest_first}
    assert ids(orderBy=1) == sorted(newest_first, key=lambda i: (billed[i], i))
    assert len(set(billed.values())) > 20


@pytest.mark.parametrize("order", ["id_asc", "last_update_desc", "shuffled"])
def test_default_orders(order):
    with (
        Sandbox(
            provider="revolv3", invoices=30, seed=4, rate_limits=(), default_order=order
        ) as sandbox,
        open_session(sandbox) as session,
    ):
        listed = [item["invoiceId"] for item in all_pages(session, sandbox)]
        paged = [
            item["invoiceId"]
            for page in range(1, 5)
            for item in get(session, sandbox, LIST, page=page, pageSize=8).json()
        ]
        assert listed == paged
        assert sorted(listed) == sorted(int(i) for i in sandbox.invoice_ids())
        if order == "id_asc":
            assert listed == sorted(listed)
        elif order == "last_update_desc":
            updates = [sandbox.api.last_update(str(i)) for i in listed]
            assert updates == sorted(updates, reverse=True)
        else:
            assert listed not in (sorted(listed), sorted(listed, reverse=True))


def test_billing_date_and_customer_filters(shared, shared_client):
    some = shared.invoice(shared.invoice_ids()[10])
    reference = next(i for i in shared.invoice_ids() if shared.invoice(i)["merchantCustomerRefId"])
    ref_id = shared.invoice(reference)["merchantCustomerRefId"]
    matching = {
        i for i in shared.invoice_ids() if shared.invoice(i)["merchantCustomerRefId"] == ref_id
    }
    assert listed_ids(shared_client, shared, merchantCustomerRefId=ref_id) == matching
    assert listed_ids(shared_client, shared, merchantCustomerRefId=ref_id.lower()) == set()
    day = _billing_day(some["billingDate"])
    same_day = listed_ids(
        shared_client, shared, billingStartDate=day.isoformat(), billingEndDate=day.isoformat()
    )
    expected = {
        i for i in shared.invoice_ids() if _billing_day(shared.invoice(i)["billingDate"]) == day
    }
    assert str(some["invoiceId"]) in same_day
    assert same_day == expected
    later = listed_ids(shared_client, shared, billingStartDate=day.isoformat())
    assert later == {
        i for i in shared.invoice_ids() if _billing_day(shared.invoice(i)["billingDate"]) >= day
    }


def _billing_day(text: str) -> Any:
    """A ``billingDate`` in either served format, as a date."""
    form = "%d-%b-%y" if DAY_MONTH_YEAR.fullmatch(text) else "%m/%d/%Y"
    return datetime.strptime(text, form).date()


# --- last-update filters ---------------------------------------------------------------------


def test_last_update_bounds_are_inclusive_in_every_form(sb, client):
    ids = sb.invoice_ids()
    edges = {
        ids[0]: datetime(2024, 3, 10, tzinfo=UTC),
        ids[1]: datetime(2024, 3, 10, 12, 30, 0, 250000, tzinfo=UTC),
        ids[2]: datetime(2024, 3, 10, 23, 59, 59, 999999, tzinfo=UTC),
        ids[3]: datetime(2024, 3, 11, tzinfo=UTC),
    }
    for invoice_id, when in edges.items():
        sb.api.set_last_update(invoice_id, when)
        assert sb.api.last_update(invoice_id) == when

    def window(start: str | None = None, end: str | None = None) -> set[str]:
        bounds = {"lastUpdateStartDate": start, "lastUpdateEndDate": end}
        return listed_ids(client, sb, **{k: v for k, v in bounds.items() if v is not None})

    first, noon, last, next_day = ids[:4]
    assert window("2024-03-10", "2024-03-10") == {first, noon, last}
    assert window("2024-03-10", "2024-03-11") == {first, noon, last, next_day}
    assert window("2024-03-10T00:00:00Z", "2024-03-10T12:30:00.25Z") == {first, noon}
    assert window("2024-03-10T00:00:00.0000001Z", "2024-03-10T12:30:00.2499999Z") == set()
    assert window("2024-03-10T12:30:00.2500000", "2024-03-10T23:59:59.9999999") == {noon, last}
    assert window("2024-03-10T01:00:00+01:00", "2024-03-10T00:00:00Z") == {first}
    assert window("2024-03-09T19:00-05:00", "2024-03-09T19:00:00.000-05:00") == {first}
    assert window("2024-03-11T00:00:00Z", "2024-03-11") == {next_day}
    assert window(end="2024-03-10") == {first, noon, last}
    assert window("2024-03-11", "2024-03-10") == set()
    assert window("", "") == set(ids)


@pytest.mark.parametrize(
    "value",
    [
        "10/03/2024",
        "2024-3-10",
        "2024-03-10T25:00:00Z",
        "2024-03-10T10:00:00.12345678Z",
        "2024-03-10 10:00:00",
        "2024-03-10T10:00:00+15:00",
        "yesterday",
        "1710028800",
    ],
)
def test_bad_last_update_values_are_a_400_naming_the_parameter(shared, shared_client, value):
    for name in ("lastUpdateStartDate", "lastUpdateEndDate"):
        response = get(shared_client, shared, LIST, **{name: value})
        assert response.status_code == 400
        assert response.json()["errors"] == [
            f"{name} must be a date (yyyy-MM-dd) or an ISO 8601 date-time"
        ]


def test_mutations_bump_the_last_update_and_show_in_the_filter(sb, client):
    started = datetime.now(UTC)
    assert listed_ids(client, sb, lastUpdateStartDate=started.isoformat()) == set()
    statuses = {i: sb.invoice(i)["invoiceStatus"] for i in sb.invoice_ids()}
    paid = next(i for i, s in statuses.items() if s == "Paid")
    billable = [i for i, s in statuses.items() if s in {"Recycle", "Failed", "Noncollectable"}]
    new_pending, new_paid = sb.api.add(2)
    sb.api.add_attempt(new_pending, success=False, processor="Adyen")
    sb.api.pay(billable[0])
    sb.api.void(billable[1])
    line = sb.invoice(paid)["invoiceLineItems"][0]
    sb.api.edit_line_item(paid, str(line["invoiceLineItemId"]), value="12.050", name="Renamed")
    sb.api.pay(new_paid)
    changed = {new_pending, new_paid, billable[0], billable[1], paid}
    for invoice_id in changed:
        assert started <= sb.api.last_update(invoice_id) <= datetime.now(UTC)
    assert listed_ids(client, sb, lastUpdateStartDate=started.isoformat()) == changed
    since = started.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    assert listed_ids(client, sb, lastUpdateStartDate=since) == changed

    recycled = sb.invoice(new_pending)
    assert recycled["invoiceStatus"] == "Recycle"
    assert recycled["invoiceAttempts"][-1]["invoiceAttemptStatus"] == "Fail"
    assert recycled["invoiceAttempts"][-1]["paymentProcessor"] == "Adyen"
    assert sb.invoice(new_paid)["invoiceStatus"] == "Paid"
    assert sb.invoice(billable[0])["invoiceStatus"] == "Paid"
    assert sb.invoice(billable[0])["invoiceAttempts"][-2]["invoiceAttemptStatus"] == "Fail"
    assert sb.invoice(billable[0])["invoiceAttempts"][-1]["invoiceAttemptStatus"] == "Success"
    assert sb.invoice(billable[1])["invoiceStatus"] == "Void"
    edited = sb.invoice(paid)
    assert edited["invoiceLineItems"][0]["name"] == "Renamed"
    assert str(edited["invoiceLineItems"][0]["value"]) == "12.050"
    assert edited["total"] == edited["subtotal"] + edited["tax"]
    served = decimal_json(get(client, sb, DETAIL.format(paid)))
    assert str(served["invoiceLineItems"][0]["value"]) == "12.050"

    with pytest.raises(ActionNotAllowedError):
        sb.api.pay(paid)
    with pytest.raises(ActionNotAllowedError):
        sb.api.void(billable[1])
    with pytest.raises(TypeError):
        sb.api.edit_line_item(paid, str(line["invoiceLineItemId"]), colour="blue")
    with pytest.raises(KeyError):
        sb.api.edit_line_item(paid, "1", name="x")
    with pytest.raises(ValueError):
        sb.api.add(1, status="Refund")
    for status in ("Paid", "Recycle", "Failed", "Void", "CapturePending"):
        assert {sb.invoice(i)["invoiceStatus"] for i in sb.api.add(3, status=status)} == {status}


def test_refund_creates_a_child_invoice_and_updates_the_parent(sb, client):
    parent = next(
        i
        for i in sb.invoice_ids()
        if sb.invoice(i)["invoiceStatus"] == "Paid"
        and sb.invoice(i)["total"] > 10
        and not any(sb.invoice(c)["parentInvoiceId"] == int(i) for c in sb.invoice_ids())
    )
    total = sb.invoice(parent)["total"]
    started = datetime.now(UTC)
    partial = sb.api.refund(parent, "1.00")
    rest = sb.api.refund(parent)
    assert sb.invoice_ids()[:2] == [rest, partial]
    first, second = sb.invoice(partial), sb.invoice(rest)
    assert (first["parentInvoiceId"], second["parentInvoiceId"]) == (int(parent), int(parent))
    assert (first["invoiceStatus"], second["invoiceStatus"]) == ("PartialRefund", "Refund")
    assert first["total"] == Decimal("1.00")
    assert second["total"] == total - Decimal("1.00")
    assert second["invoiceAttempts"][-1]["invoiceAttemptStatus"] == "Success"
    assert second["invoiceAttempts"][-1]["amount"] == second["total"]
    assert second["customerId"] == sb.invoice(parent)["customerId"]
    assert sb.invoice(parent)["invoiceStatus"] == "Paid"
    assert listed_ids(client, sb, lastUpdateStartDate=started.isoformat()) == {
        parent,
        partial,
        rest,
    }
    with pytest.raises(ValueError):
        sb.api.refund(parent, "0.01")
    with pytest.raises(ActionNotAllowedError):
        sb.api.refund(partial)


def test_delete(sb, client):
    victim = sb.invoice_ids()[3]
    sb.api.delete(victim)
    assert get(client, sb, DETAIL.format(victim)).status_code == 404
    assert victim not in listed_ids(client, sb)
    with pytest.raises(KeyError):
        sb.invoice(victim)
    with pytest.raises(KeyError):
        sb.api.delete(victim)


# --- detail ----------------------------------------------------------------------------------


def test_detail_is_what_the_data_access_returns(shared, shared_client):
    for invoice_id in shared.invoice_ids():
        response = get(shared_client, shared, DETAIL.format(invoice_id))
        assert response.status_code == 200
        body = decimal_json(response)
        assert body == shared.invoice(invoice_id)
        assert list(body)[: len(DETAIL_KEYS)] == DETAIL_KEYS
        for attempt in body["invoiceAttempts"] or []:
            assert list(attempt)[: len(ATTEMPT_KEYS)] == ATTEMPT_KEYS
            assert attempt["processorRawResponse"] is None


def test_detail_ids_are_validated(shared, shared_client):
    missing = get(shared_client, shared, DETAIL.format(999999))
    assert missing.status_code == 404
    assert missing.json() == {"message": "Invoice not found.", "errors": None}
    for bad in ("abc", "0", "1000000001", "-5", "1.5"):
        response = get(shared_client, shared, DETAIL.format(bad))
        assert response.status_code == 400, bad
        assert response.json() == {
            "message": VALIDATION,
            "errors": ["invoiceId must be between 1 and 1000000000"],
        }
    padded = get(shared_client, shared, DETAIL.format("0" + shared.invoice_ids()[0]))
    assert padded.status_code == 200


def test_raw_processor_responses_are_json_strings_kept_60_days(shared, shared_client):
    served_raw = retired = 0
    for invoice_id in shared.invoice_ids():
        body = decimal_json(
            get(
                shared_client,
                shared,
                DETAIL.format(invoice_id),
                includeRawProcessorResponse="True",
            )
        )
        for attempt in body["invoiceAttempts"] or []:
            raw = attempt["processorRawResponse"]
            if raw is None:
                retired += 1
                continue
            served_raw += 1
            assert isinstance(raw, str)
            decoded = json.loads(raw)
            assert decoded["processor"] == attempt["paymentProcessor"]
            assert decoded["status"] == attempt["invoiceAttemptStatus"]
    assert served_raw > 5
    assert retired > 20
    response = get(
        shared_client, shared, DETAIL.format(shared.invoice_ids()[0]), includeRawProcessorResponse=1
    )
    assert response.status_code == 400


# --- data ------------------------------------------------------------------------------------


def test_statuses_attempts_and_refunds_are_consistent(shared):
    invoices = {i: shared.invoice(i) for i in shared.invoice_ids()}
    statuses = {invoice["invoiceStatus"] for invoice in invoices.values()}
    assert {"Paid", "Recycle", "Noncollectable", "Failed", "Void", "Refund"} <= statuses
    for invoice in invoices.values():
        attempts = invoice["invoiceAttempts"]
        status = invoice["invoiceStatus"]
        assert attempts is None or attempts, "no attempts is null, not []"
        outcomes = [a["invoiceAttemptStatus"] for a in attempts or []]
        if status in PAID_LIKE:
            assert outcomes[-1] == "Success"
            assert invoice["networkTransactionId"]
        if status in FAILED_LIKE:
            assert outcomes[-1] == "Fail"
        assert outcomes.count("Success") <= 1
        assert invoice["total"] == invoice["subtotal"] + invoice["tax"]
        for line in invoice["invoiceLineItems"]:
            assert line["invoiceId"] == invoice["invoiceId"]
        for attempt in attempts or []:
            assert attempt["amount"] == invoice["total"]
            assert attempt["paymentMethod"] == invoice["paymentMethod"]
        if invoice["parentInvoiceId"] is not None:
            parent = invoices[str(invoice["parentInvoiceId"])]
            assert status.startswith("Refund") or status == "PartialRefund"
            assert parent["invoiceStatus"] == "Paid"
            assert invoice["total"] <= parent["total"]
            assert shared.api.last_update(str(parent["invoiceId"])) >= shared.api.last_update(
                str(invoice["invoiceId"])
            )
    ids = [int(i) for i in invoices]
    assert sorted(ids) == list(range(100001, 100001 + len(ids)))


def test_last_updates_span_about_540_days_up_to_minutes_ago(shared):
    now = datetime.now(UTC)
    updates = [shared.api.last_update(i) for i in shared.invoice_ids()]
    assert all(when.tzinfo is not None for when in updates)
    assert now - max(updates) < timedelta(minutes=10)
    assert max(updates) < now
    assert timedelta(days=500) < now - min(updates) < timedelta(days=560)
    assert any(when.microsecond % 1000 for when in updates)


def test_mixed_date_formats_are_present(shared):
    billing, attempted, responded = set(), set(), set()
    for invoice_id in shared.invoice_ids():
        invoice = shared.invoice(invoice_id)
        billing.add("dMy" if DAY_MONTH_YEAR.fullmatch(invoice["billingDate"]) else "Mdy")
        assert DAY_MONTH_YEAR.fullmatch(invoice["billingDate"]) or MONTH_DAY_YEAR.fullmatch(
            invoice["billingDate"]
        )
        for attempt in invoice["invoiceAttempts"] or []:
            date = attempt["invoiceAttemptDate"]
            assert ZONELESS_MILLIS.fullmatch(date) or UTC_TICKS.fullmatch(date)
            attempted.add("ticks" if date.endswith("Z") else "millis")
            answer = attempt["processorResponseDateTime"]
            responded.add("min" if answer == DOTNET_MIN else "set")
    assert billing == {"dMy", "Mdy"}
    assert attempted == {"ticks", "millis"}
    assert responded == {"min", "set"}


def test_amounts_are_json_numbers_with_exact_digits(shared, shared_client):
    served: set[str] = set()
    for item in all_pages(shared_client, shared):
        body = decimal_json(get(shared_client, shared, DETAIL.format(item["invoiceId"])))
        amounts = [body["subtotal"], body["tax"], body["total"]]
        amounts += [line["value"] for line in body["invoiceLineItems"]]
        amounts += [attempt["amount"] for attempt in body["invoiceAttempts"] or []]
        for value in amounts:
            assert isinstance(value, Decimal | int) and not isinstance(value, bool), value
        served |= {str(value) for value in amounts}
        for key in ("subtotal", "tax", "total"):
            assert str(item[key]) == str(body[key])
    assert served >= AWKWARD
    assert any(a.endswith("0") and "." in a for a in served)


def test_a_few_invoices_carry_fields_the_docs_do_not_list():
    with Sandbox(provider="revolv3", invoices=400, seed=5) as many:
        invoices = [many.invoice(i) for i in many.invoice_ids()]
    unlisted = [
        invoice
        for invoice in invoices
        if set(invoice) - {*DETAIL_KEYS, "message"}
        or any(set(a) - set(ATTEMPT_KEYS) for a in invoice["invoiceAttempts"] or [])
    ]
    assert 3 <= len(unlisted) <= 25
    extra_keys = {key for invoice in unlisted for key in set(invoice) - {*DETAIL_KEYS, "message"}}
    assert extra_keys <= {"invoiceNotes"}


def test_data_is_deterministic_per_seed():
    def snapshot(seed: int) -> list[dict]:
        sandbox = Sandbox(provider="revolv3", invoices=50, seed=seed)
        return [without_dates(sandbox.invoice(i)) for i in sandbox.invoice_ids()]

    assert snapshot(3) == snapshot(3)
    assert snapshot(3) != snapshot(4)
    assert Credentials.for_seed(3) == Sandbox(provider="revolv3", invoices=0, seed=3).credentials
    assert Credentials.for_seed(3) != Credentials.for_seed(4)


# --- rate limits, faults ---------------------------------------------------------------------


def test_the_limiter_counts_every_arrival_over_sliding_windows():
    limiter = RateLimiter((RateLimit(20, 1.0),))
    assert [limiter.admit(k / 20) for k in range(100)] == [True] * 100
    burst = RateLimiter((RateLimit(20, 1.0),))
    assert [burst.admit(k * 0.04) for k in range(21)] == [True] * 20 + [False]
    refused_count = RateLimiter((RateLimit(2, 1.0),))
    assert [refused_count.admit(t) for t in (0.0, 0.1, 0.5, 1.05, 1.6)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    both = RateLimiter((RateLimit(3, 1.0), RateLimit(4, 10.0)))
    assert [both.admit(t) for t in (0.0, 0.1, 0.2, 0.3, 5.0, 10.25)] == [
        True,
        True,
        True,
        False,
        False,
        True,
    ]
    assert RateLimiter(()).admit(0.0)
    with pytest.raises(ValueError):
        RateLimit(0, 1.0)


def test_21_requests_within_a_second_get_exactly_one_429():
    with Sandbox(provider="revolv3", invoices=5, seed=3) as sandbox, open_session(sandbox) as s:
        seen = []
        sandbox.on_request(seen.append)
        responses = [get(s, sandbox, LIST) for _ in range(21)]
        records = sandbox.requests
        assert records[-1].time - records[0].time < 1.0, "the machine was too slow to burst"
        assert [r.status_code for r in responses] == [200] * 20 + [429]
        refused = responses[-1]
        assert refused.json() == {
            "error": "Too Many Requests",
            "message": "Rate limit exceeded. Please retry after a few seconds.",
        }
        assert "Retry-After" not in refused.headers
        assert [r.status for r in records] == [200] * 20 + [429]
        assert len(seen) == 20


def test_requests_paced_at_20_per_second_are_never_refused():
    with Sandbox(provider="revolv3", invoices=5, seed=3) as sandbox, open_session(sandbox) as s:
        # A hair over 1/20 s apart: the window is exact, and arrival times jitter by microseconds.
        interval = 1 / 20 + 0.002
        started = time.monotonic()
        codes = []
        for k in range(45):
            time.sleep(max(0.0, started + k * interval - time.monotonic()))
            codes.append(get(s, sandbox, LIST, pageSize=1).status_code)
        assert codes == [200] * 45


def test_rate_limits_are_an_option():
    with (
        Sandbox(provider="revolv3", invoices=2, seed=3, rate_limits=(RateLimit(3, 60.0),)) as sb,
        open_session(sb) as session,
    ):
        codes = [get(session, sb, LIST).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]


def test_faults_get_vendor_shaped_bodies(sb, client):
    sb.inject(Fault("status", status=503))
    response = get(client, sb, LIST)
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable", "errors": None}
    sb.inject(Fault("missing_fields", route="detail"))
    assert get(client, sb, DETAIL.format(sb.invoice_ids()[0])).json() == {}
    sb.inject(Fault("status", status=400))
    assert get(client, sb, LIST).json()["message"] == VALIDATION


# --- CLI -------------------------------------------------------------------------------------


def test_cli_refuses_revolv3_options_for_cybersource(capsys):
    for option in (["--max-page", "3"], ["--list-shape", "full"]):
        with pytest.raises(SystemExit) as stopped:
            sandbox_cli(["--provider", "cybersource", *option])
        assert stopped.value.code == 2
    assert "revolv3 options" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sandbox_cli(["--provider", "revolv3", "--max-page", "0"])


def test_cli_serves_revolv3_with_its_options(tmp_path):
    config_path = tmp_path / "config.json"
    script = shutil.which("tap-invoicing-sandbox", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "tap_invoicing.sandbox.cli"]
    args = ["--provider", "revolv3", "--invoices", "12", "--seed", "3"]
    args += ["--list-shape", "full", "--max-page", "2", "--write-config", str(config_path)]
    with subprocess.Popen(
        [*command, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as process:
        try:
            line = process.stderr.readline()
            assert line.startswith("tap-invoicing-sandbox: revolv3 API on http://127.0.0.1:")
            config = json.loads(config_path.read_text())
            assert config["static_token"] == Credentials.for_seed(3).static_token
            headers = {"x-revolv3-token": config["static_token"]}
            base = config["base_url"]
            first = requests.get(f"{base}{LIST}?pageSize=5", headers=headers, timeout=10)
            assert "invoiceAttempts" in first.json()[0]
            capped = requests.get(f"{base}{LIST}?page=3", headers=headers, timeout=10)
            assert capped.status_code == 400
            process.terminate()
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
