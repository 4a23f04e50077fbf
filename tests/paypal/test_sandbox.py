"""The PayPal emulation: it must speak Invoicing v2 the way the docs and the api-notes describe
(OAuth client credentials with expiring tokens, the paged list and search with their limits,
detail, PayPal-shaped errors), keep its data consistent, and move statuses and
``last_update_time`` as PayPal does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tap_invoicing.sandbox import ActionNotAllowedError, Fault, RateLimit, Sandbox
from tap_invoicing.sandbox.cli import main as sandbox_cli
from tap_invoicing.sandbox.paypal import Credentials

TOKEN = "/v1/oauth2/token"
LIST = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
DETAIL = "/v2/invoicing/invoices/{}"
STATUSES = {
    "DRAFT",
    "SENT",
    "SCHEDULED",
    "PAID",
    "MARKED_AS_PAID",
    "CANCELLED",
    "REFUNDED",
    "PARTIALLY_PAID",
    "PARTIALLY_REFUNDED",
    "MARKED_AS_REFUNDED",
    "UNPAID",
    "PAYMENT_PENDING",
}
SUMMARY_DETAIL_KEYS = {
    "reference",
    "currency_code",
    "note",
    "memo",
    "invoice_number",
    "invoice_date",
    "payment_term",
    "viewed_by_recipient",
    "group_draft",
    "metadata",
}
SUMMARY_KEYS = {
    "id",
    "status",
    "detail",
    "primary_recipients",
    "amount",
    "due_amount",
    "payments",
    "refunds",
    "links",
}
INVOICE_ID = re.compile(r"INV2(-[A-Z0-9]{4}){4}")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DEBUG_ID = re.compile(r"[0-9a-f]{13}")
DIGITS = {"USD": 2, "EUR": 2, "JPY": 0}
AUTH_FAILURE = "AUTHENTICATION_FAILURE"
PAID_STATUSES = {"PAID", "MARKED_AS_PAID", "REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"}
REFUND_STATUSES = {"REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"}
DATED_KEYS = {
    "create_time",
    "last_update_time",
    "first_sent_time",
    "last_sent_time",
    "cancel_time",
    "invoice_date",
    "due_date",
    "payment_date",
    "refund_date",
}


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def request_token(sandbox: Sandbox, **overrides: Any) -> requests.Response:
    credentials = sandbox.credentials
    arguments: dict[str, Any] = {
        "auth": (credentials.client_id, credentials.client_secret),
        "data": {"grant_type": "client_credentials"},
        "headers": {"Accept": "application/json"},
        "timeout": 10,
    }
    return requests.post(f"{sandbox.base_url}{TOKEN}", **{**arguments, **overrides})


def open_session(sandbox: Sandbox) -> requests.Session:
    response = request_token(sandbox)
    assert response.status_code == 200, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def get(session: requests.Session, sandbox: Sandbox, path: str, **params: Any) -> Any:
    return session.get(f"{sandbox.base_url}{path}", params=params, timeout=10)


def search(
    session: requests.Session, sandbox: Sandbox, body: Any, **params: Any
) -> requests.Response:
    return session.post(f"{sandbox.base_url}{SEARCH}", params=params, json=body, timeout=10)


def all_pages(session: requests.Session, sandbox: Sandbox, body: Any = None) -> list[dict]:
    """Every item of the list (or of a search), page by page until a short page."""
    items: list[dict] = []
    for page in range(1, 1000):
        if body is None:
            response = get(session, sandbox, LIST, page=page, page_size=100)
        else:
            response = search(session, sandbox, body, page=page, page_size=100)
        assert response.status_code == 200, response.text
        batch = decimal_json(response)["items"]
        items.extend(batch)
        if len(batch) < 100:
            return items
    raise AssertionError("the list never ended")


def error_of(response: requests.Response, status: int, name: str) -> dict[str, Any]:
    """The PayPal error body, checked for its common shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["name"] == name
    assert body["message"]
    assert DEBUG_ID.fullmatch(body["debug_id"])
    assert response.headers["Paypal-Debug-Id"] == body["debug_id"]
    assert isinstance(body["details"], list)
    assert body["links"][0]["rel"] == "information_link"
    return body


def issues(response: requests.Response) -> list[tuple[str, str]]:
    body = error_of(response, 400, "INVALID_REQUEST")
    return [(entry["field"], entry["issue"]) for entry in body["details"]]


def without_dates(value: Any) -> Any:
    """A body without the fields that follow the clock (generation time shifts them)."""
    if isinstance(value, dict):
        return {k: without_dates(v) for k, v in value.items() if k not in DATED_KEYS}
    if isinstance(value, list):
        return [without_dates(item) for item in value]
    return value


def moneys(value: Any) -> Iterator[dict[str, str]]:
    """Every Money object in a body."""
    if isinstance(value, dict):
        if set(value) >= {"currency_code", "value"}:
            yield value
        for item in value.values():
            yield from moneys(item)
    elif isinstance(value, list):
        for item in value:
            yield from moneys(item)


def amount(money: dict[str, str]) -> Decimal:
    return Decimal(money["value"])


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """A read-only sandbox: tests using it must not change anything."""
    with Sandbox(provider="paypal", invoices=300, seed=7) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def shared_client(shared: Sandbox) -> Iterator[requests.Session]:
    with open_session(shared) as session:
        yield session


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A private sandbox for tests that change data, tokens or faults."""
    with Sandbox(provider="paypal", invoices=40, seed=11) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[requests.Session]:
    with open_session(sb) as session:
        yield session


# --- credentials and OAuth -------------------------------------------------------------------


def test_credentials_are_seeded_and_never_in_a_repr(shared):
    credentials = shared.credentials
    assert credentials == Credentials.for_seed(7)
    assert credentials.client_id.startswith("AYpp7") and len(credentials.client_id) == 80
    assert credentials.client_secret.startswith("EL7") and len(credentials.client_secret) == 80
    assert credentials != Credentials.for_seed(8)
    assert credentials.client_id not in repr(credentials)
    assert credentials.client_secret not in repr(credentials)
    assert shared.tap_config() == {
        "provider": "paypal",
        "base_url": shared.base_url,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }


def test_the_token_endpoint_issues_a_fresh_bearer_token(sb):
    response = request_token(sb)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"scope", "access_token", "token_type", "app_id", "expires_in", "nonce"}
    assert "https://uri.paypal.com/services/invoicing" in body["scope"].split()
    assert body["token_type"] == "Bearer"
    assert body["app_id"].startswith("APP-80W2")
    assert body["expires_in"] == 32400
    assert body["access_token"].startswith("A21AA") and len(body["access_token"]) >= 90
    assert request_token(sb).json()["access_token"] != body["access_token"]
    assert sb.api.tokens_issued() == 2
    assert [r.kind for r in sb.requests] == ["token", "token"]


def test_a_bad_client_or_grant_gets_no_token(sb):
    credentials = sb.credentials
    wrong = {"error": "invalid_client", "error_description": "Client Authentication failed"}
    for auth in (
        (credentials.client_id, credentials.client_secret[:-1] + "x"),
        ("AYppnobody", credentials.client_secret),
        (credentials.client_secret, credentials.client_id),
        None,
    ):
        response = request_token(sb, auth=auth)
        assert response.status_code == 401
        assert response.json() == wrong
        assert credentials.client_secret not in response.text
    as_bearer = {"Authorization": f"Bearer {credentials.client_secret}"}
    assert request_token(sb, auth=None, headers=as_bearer).status_code == 401
    for data in ({"grant_type": "password"}, {}):
        response = request_token(sb, data=data)
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
    assert sb.api.tokens_issued() == 0


def test_a_token_expires_after_its_lifetime():
    with Sandbox(provider="paypal", invoices=3, seed=2, token_lifetime=1.0) as sandbox:
        response = request_token(sandbox)
        assert response.json()["expires_in"] == 1
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        url = f"{sandbox.base_url}{LIST}"
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
        time.sleep(1.1)
        expired = requests.get(url, headers=headers, timeout=10)
        assert expired.status_code == 401
        assert expired.json()["name"] == AUTH_FAILURE
        with open_session(sandbox) as fresh:
            assert get(fresh, sandbox, LIST).status_code == 200


def test_revoked_tokens_stop_working(sb, client):
    assert get(client, sb, LIST).status_code == 200
    sb.api.revoke_tokens()
    assert get(client, sb, LIST).json()["name"] == AUTH_FAILURE
    with open_session(sb) as fresh:
        assert get(fresh, sb, LIST).status_code == 200
    assert sb.api.tokens_issued() == 2


def test_every_route_needs_a_valid_bearer_token(shared):
    credentials = shared.credentials
    some_id = shared.invoice_ids()[0]
    for method, path in (
        ("GET", LIST),
        ("POST", SEARCH),
        ("GET", DETAIL.format(some_id)),
        ("GET", "/v2/elsewhere"),
    ):
        for headers in (
            {},
            {"Authorization": "Bearer A21AAnot-a-token"},
            {"Authorization": "Bearer "},
            {"Authorization": f"Basic {credentials.client_id}"},
        ):
            response = requests.request(
                method, f"{shared.base_url}{path}", headers=headers, json={}, timeout=10
            )
            assert response.status_code == 401, (method, path)
            body = response.json()
            assert body["name"] == AUTH_FAILURE
            assert body["message"].startswith("Authentication failed")
            assert body["links"]


def test_routes_are_classified_and_unknown_ones_are_404(shared, shared_client):
    shared.clear_requests()
    some_id = shared.invoice_ids()[0]
    assert get(shared_client, shared, LIST).status_code == 200
    assert search(shared_client, shared, {}).status_code == 200
    assert get(shared_client, shared, DETAIL.format(some_id)).status_code == 200
    error_of(get(shared_client, shared, "/v2/invoicing/templates"), 404, "RESOURCE_NOT_FOUND")
    error_of(
        shared_client.post(f"{shared.base_url}{LIST}", timeout=10), 405, "METHOD_NOT_SUPPORTED"
    )
    error_of(get(shared_client, shared, SEARCH), 405, "METHOD_NOT_SUPPORTED")
    kinds = [(r.kind, r.invoice_id) for r in shared.requests]
    assert kinds == [
        ("list", None),
        ("list", None),
        ("detail", some_id),
        ("other", None),
        ("other", None),
        ("other", None),
    ]


# --- list and search -------------------------------------------------------------------------


def test_pages_cover_every_invoice_newest_first(shared, shared_client):
    first = decimal_json(get(shared_client, shared, LIST))
    assert set(first) == {"items", "links"}
    assert len(first["items"]) == 20
    seen = []
    for page in range(1, 100):
        body = decimal_json(get(shared_client, shared, LIST, page=page, page_size=7))
        seen.extend(item["id"] for item in body["items"])
        rels = {link["rel"] for link in body["links"]}
        assert ("prev" in rels) == (page > 1)
        if not body["items"]:
            break
        assert body["links"][0]["href"].startswith(shared.base_url)
    assert seen == shared.invoice_ids()
    assert "next" not in rels
    times = [shared.invoice(i)["detail"]["metadata"]["create_time"] for i in seen]
    assert times == sorted(times, reverse=True)


def test_totals_when_asked(shared, shared_client):
    body = get(shared_client, shared, LIST, page_size=100, total_required="TRUE").json()
    assert (body["total_items"], body["total_pages"]) == (300, 3)
    past = get(shared_client, shared, LIST, page=4, page_size=100, total_required="true").json()
    assert past["items"] == [] and past["total_items"] == 300
    assert "total_items" not in get(shared_client, shared, LIST, total_required="false").json()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page": "0"}, [("page", "INVALID_INTEGER_MIN_VALUE")]),
        ({"page": "1001"}, [("page", "INVALID_INTEGER_MAX_VALUE")]),
        ({"page_size": "101"}, [("page_size", "INVALID_INTEGER_MAX_VALUE")]),
        ({"page_size": "0"}, [("page_size", "INVALID_INTEGER_MIN_VALUE")]),
        ({"page": "two"}, [("page", "INVALID_PARAMETER_SYNTAX")]),
        ({"total_required": "yes"}, [("total_required", "INVALID_PARAMETER_SYNTAX")]),
        ({"fields": "items"}, [("fields", "INVALID_PARAMETER_SYNTAX")]),
        (
            {"page": "-1", "page_size": "500"},
            [("page", "INVALID_INTEGER_MIN_VALUE"), ("page_size", "INVALID_INTEGER_MAX_VALUE")],
        ),
    ],
)
def test_list_parameters_beyond_their_limits_are_a_400(shared, shared_client, params, expected):
    response = get(shared_client, shared, LIST, **params)
    assert issues(response) == expected
    entry = response.json()["details"][0]
    assert entry["location"] == "query" and entry["value"] == params[entry["field"]]


def test_the_page_cap_applies_to_list_and_search():
    with (
        Sandbox(provider="paypal", invoices=50, seed=4, max_page=3) as sandbox,
        open_session(sandbox) as session,
    ):
        last = get(session, sandbox, LIST, page=3, page_size=10).json()
        assert len(last["items"]) == 10
        assert "next" not in {link["rel"] for link in last["links"]}
        beyond = get(session, sandbox, LIST, page=4, page_size=10)
        assert issues(beyond) == [("page", "INVALID_INTEGER_MAX_VALUE")]
        assert beyond.json()["details"][0]["value"] == "4"
        assert issues(search(session, sandbox, {}, page=4)) == [
            ("page", "INVALID_INTEGER_MAX_VALUE")
        ]


def test_summary_items_hold_the_documented_fields(shared, shared_client):
    items = all_pages(shared_client, shared)
    assert len(items) == 300
    for item in items:
        full = shared.invoice(item["id"])
        assert set(item) <= SUMMARY_KEYS
        assert set(item["detail"]) <= SUMMARY_DETAIL_KEYS
        assert item["detail"]["metadata"] == {
            "create_time": full["detail"]["metadata"]["create_time"]
        }
        assert item["amount"] == {
            "currency_code": full["amount"]["currency_code"],
            "value": full["amount"]["value"],
        }
        assert item["due_amount"] == full["due_amount"]
        assert ("payments" in item) == ("payments" in full)
        if "payments" in item:
            assert item["payments"] == {"paid_amount": full["payments"]["paid_amount"]}
        if "refunds" in item:
            assert item["refunds"] == {"refund_amount": full["refunds"]["refund_amount"]}
        assert item["primary_recipients"] == full["primary_recipients"]
        assert item["links"] == full["links"]


def test_fields_none_leaves_ids_status_and_links(shared, shared_client):
    for value in ("none", "NONE", "None"):
        items = get(shared_client, shared, LIST, fields=value).json()["items"]
        assert all(set(item) == {"id", "status", "links"} for item in items)
    assert "detail" in get(shared_client, shared, LIST, fields="ALL").json()["items"][0]


def test_summary_last_update_and_full_shapes():
    with (
        Sandbox(provider="paypal", invoices=12, seed=5, summary_last_update=True) as sandbox,
        open_session(sandbox) as session,
    ):
        for item in get(sandbox=sandbox, session=session, path=LIST).json()["items"]:
            metadata = sandbox.invoice(item["id"])["detail"]["metadata"]
            assert item["detail"]["metadata"] == {
                "create_time": metadata["create_time"],
                "last_update_time": metadata["last_update_time"],
            }
    with (
        Sandbox(provider="paypal", invoices=12, seed=5, list_shape="full") as sandbox,
        open_session(sandbox) as session,
    ):
        listed = get(session, sandbox, LIST).json()["items"]
        assert listed == [sandbox.invoice(i) for i in sandbox.invoice_ids()]
        every = ["items", "payments", "refunds", "additional_recipients_info", "attachments"]
        assert search(session, sandbox, {"fields": every}).json()["items"] == listed


@pytest.mark.parametrize("order", ["create_asc", "shuffled"])
def test_default_orders(order):
    with (
        Sandbox(provider="paypal", invoices=30, seed=6, default_order=order) as sandbox,
        open_session(sandbox) as session,
    ):
        listed = [item["id"] for item in all_pages(session, sandbox)]
        assert sorted(listed) == sorted(sandbox.invoice_ids())
        newest_first = sandbox.invoice_ids()
        if order == "create_asc":
            assert listed == newest_first[::-1]
        else:
            assert listed not in (newest_first, newest_first[::-1])
            assert [item["id"] for item in all_pages(session, sandbox)] == listed


def test_search_creation_range_includes_both_ends(shared, shared_client):
    ids = shared.invoice_ids()
    middle = shared.invoice(ids[100])
    created = datetime.fromisoformat(middle["detail"]["metadata"]["create_time"])
    exact = {"creation_date_range": {"start": stamp(created), "end": stamp(created)}}
    assert [item["id"] for item in all_pages(shared_client, shared, exact)] == [ids[100]]
    offset = created.astimezone(UTC).replace(tzinfo=None).isoformat() + ".000+00:00"
    with_fraction = {"creation_date_range": {"start": offset, "end": offset}}
    assert [item["id"] for item in all_pages(shared_client, shared, with_fraction)] == [ids[100]]
    after = stamp(created + timedelta(seconds=1))
    later = {"creation_date_range": {"start": after, "end": stamp(datetime.now(UTC))}}
    assert [item["id"] for item in all_pages(shared_client, shared, later)] == ids[:100]
    in_paris_summer = created.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert in_paris_summer.endswith("+02:00")
    zoned = {"creation_date_range": {"start": "2000-01-01T00:00:00Z", "end": in_paris_summer}}
    listed = [item["id"] for item in all_pages(shared_client, shared, zoned)]
    assert listed[0] == ids[100]
    assert listed[-1] == ids[-1]


def test_search_fields_bring_the_collections_in_full(shared, shared_client):
    paid = next(i for i in shared.invoice_ids() if shared.invoice(i)["status"] == "REFUNDED")
    created = shared.invoice(paid)["detail"]["metadata"]["create_time"]
    window = {"creation_date_range": {"start": created, "end": created}}
    summary = search(shared_client, shared, window).json()["items"][0]
    assert not {"items", "payments", "refunds"} & set(summary)  # left out unless asked for
    body = {**window, "fields": ["items", "payments", "refunds"]}
    item = search(shared_client, shared, body).json()["items"][0]
    full = shared.invoice(paid)
    assert item["items"] == full["items"]
    assert item["payments"] == full["payments"]
    assert item["refunds"] == full["refunds"]
    assert "invoicer" not in item


def test_search_filters(shared, shared_client):
    invoices = [shared.invoice(i) for i in shared.invoice_ids()]
    statuses = ["PAID", "CANCELLED"]
    found = all_pages(shared_client, shared, {"status": statuses})
    assert [i["id"] for i in found] == [i["id"] for i in invoices if i["status"] in statuses]
    day = invoices[50]["detail"]["invoice_date"]
    body = {"invoice_date_range": {"start": day, "end": day}}
    expected = [i["id"] for i in invoices if i["detail"]["invoice_date"] == day]
    assert [i["id"] for i in all_pages(shared_client, shared, body)] == expected
    archived = [i["id"] for i in invoices if i["detail"]["archived"]]
    assert archived
    assert [i["id"] for i in all_pages(shared_client, shared, {"archived": True})] == archived
    assert len(all_pages(shared_client, shared, {"archived": None})) == 300
    paid = next(i for i in invoices if "payments" in i)
    paid_on = paid["payments"]["transactions"][0]["payment_date"]
    body = {"payment_date_range": {"start": f"{paid_on}T00:00:00Z", "end": f"{paid_on}T23:59:59Z"}}
    assert paid["id"] in {i["id"] for i in all_pages(shared_client, shared, body)}
    number = invoices[7]["detail"]["invoice_number"]
    body = {"invoice_number": number}
    assert [i["id"] for i in all_pages(shared_client, shared, body)] == [invoices[7]["id"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": ["PAID", "SENT", "DRAFT", "UNPAID", "REFUNDED", "CANCELLED"]},
         [("/status", "INVALID_ARRAY_MAX_ITEMS")]),
        ({"status": ["PAID", "NEW"]}, [("/status", "INVALID_PARAMETER_VALUE")]),
        ({"fields": ["items", "invoicer"]}, [("/fields", "INVALID_PARAMETER_VALUE")]),
        ({"creation_date_range": {"start": "2024-01-01T00:00:00Z"}},
         [("/creation_date_range/end", "MISSING_REQUIRED_PARAMETER")]),
        ({"creation_date_range": {"start": "2024-01-01", "end": "2024-02-01T00:00:00Z"}},
         [("/creation_date_range/start", "INVALID_STRING_LENGTH")]),
        ({"creation_date_range": {"start": "2024-01-01 00:00:00Z", "end": "2024-13-01T00:00:00Z"}},
         [("/creation_date_range/start", "INVALID_PARAMETER_SYNTAX"),
          ("/creation_date_range/end", "INVALID_PARAMETER_SYNTAX")]),
        ({"invoice_date_range": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02"}},
         [("/invoice_date_range/start", "INVALID_PARAMETER_SYNTAX")]),
        ({"invoice_number": "x" * 26}, [("/invoice_number", "INVALID_STRING_MAX_LENGTH")]),
        ({"archived": "yes"}, [("/archived", "INVALID_PARAMETER_SYNTAX")]),
        ([], [("/", "MALFORMED_REQUEST_JSON")]),
    ],
)  # fmt: skip
def test_invalid_search_data_is_a_400_naming_each_field(shared, shared_client, body, expected):
    assert issues(search(shared_client, shared, body)) == expected


def test_search_paging_limits_are_reported_with_body_problems(shared, shared_client):
    response = search(shared_client, shared, {"status": ["NEW"]}, page_size=101)
    assert issues(response) == [
        ("page_size", "INVALID_INTEGER_MAX_VALUE"),
        ("/status", "INVALID_PARAMETER_VALUE"),
    ]


# --- detail and errors -----------------------------------------------------------------------


def test_detail_is_the_full_invoice(shared, shared_client):
    for invoice_id in shared.invoice_ids()[::37]:
        response = get(shared_client, shared, DETAIL.format(invoice_id))
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert decimal_json(response) == json.loads(
            json.dumps(shared.invoice(invoice_id)), parse_float=Decimal
        )


@pytest.mark.parametrize("invoice_id", ["INV2-AAAA-BBBB-CCCC-DDDD", "x" * 40, "12345"])
def test_unknown_invoices_are_a_404(shared, shared_client, invoice_id):
    response = get(shared_client, shared, DETAIL.format(invoice_id))
    body = error_of(response, 404, "RESOURCE_NOT_FOUND")
    assert body["message"] == "The specified resource does not exist."
    assert body["details"][0]["issue"] == "INVALID_RESOURCE_ID"
    assert body["details"][0]["value"] == invoice_id


def test_debug_ids_differ_per_error(shared, shared_client):
    first, second = (get(shared_client, shared, DETAIL.format("INV2-NONE")) for _ in range(2))
    assert first.json()["debug_id"] != second.json()["debug_id"]


def test_faults_get_paypal_shaped_bodies(sb, client):
    for status, name in (
        (429, "RATE_LIMIT_REACHED"),
        (500, "INTERNAL_SERVER_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
        (403, "NOT_AUTHORIZED"),
    ):
        sb.inject(Fault("status", status=status))
        response = get(client, sb, LIST)
        error_of(response, status, name)
        assert "Retry-After" not in response.headers
    sb.inject(Fault("status", status=429))
    assert get(client, sb, LIST).json()["message"] == (
        "Too many requests. Blocked due to rate limiting."
    )
    sb.inject(Fault("missing_fields", route="detail"))
    assert get(client, sb, DETAIL.format(sb.invoice_ids()[0])).json() == {}
    sb.inject(Fault("status", status=503, route="token"))
    assert request_token(sb).json()["name"] == "SERVICE_UNAVAILABLE"


def test_no_rate_limits_unless_asked():
    with Sandbox(provider="paypal", invoices=2, seed=3) as sandbox:
        assert sandbox.api.rate_limits == ()
    with Sandbox(
        provider="paypal", invoices=2, seed=3, rate_limits=(RateLimit(3, 60.0),)
    ) as sandbox:
        with open_session(sandbox) as session:
            codes = [get(session, sandbox, LIST).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            refused = get(session, sandbox, LIST)
        error_of(refused, 429, "RATE_LIMIT_REACHED")
        assert "Retry-After" not in refused.headers


# --- data ------------------------------------------------------------------------------------


def test_ids_statuses_and_creation_times(shared):
    invoices = [shared.invoice(i) for i in shared.invoice_ids()]
    assert all(INVOICE_ID.fullmatch(invoice["id"]) for invoice in invoices)
    statuses = [invoice["status"] for invoice in invoices]
    assert set(statuses) == STATUSES
    assert max(set(statuses), key=statuses.count) == "PAID"
    created = [datetime.fromisoformat(i["detail"]["metadata"]["create_time"]) for i in invoices]
    now = datetime.now(UTC)
    assert timedelta(days=500) < now - created[-1] < timedelta(days=541)
    assert now - created[0] < timedelta(hours=1)


def test_amounts_add_up(shared):
    for invoice_id in shared.invoice_ids():
        invoice = shared.invoice(invoice_id)
        unit = Decimal(1).scaleb(-DIGITS[invoice["detail"]["currency_code"]])
        breakdown = invoice["amount"]["breakdown"]
        lines = [
            (Decimal(item["quantity"]) * amount(item["unit_amount"])).quantize(unit, ROUND_HALF_UP)
            for item in invoice["items"]
        ]
        assert amount(breakdown["item_total"]) == sum(lines)
        discount = breakdown.get("discount", {})
        item_discounts = sum(
            (amount(item["discount"]["amount"]) for item in invoice["items"] if "discount" in item),
            Decimal(0),
        )
        assert amount(discount.get("item_discount", {"value": "0"})) == -item_discounts
        taxes = sum(
            (amount(item["tax"]["amount"]) for item in invoice["items"] if "tax" in item),
            Decimal(0),
        )
        shipping = breakdown.get("shipping", {})
        taxes += amount(shipping.get("tax", {}).get("amount", {"value": "0"}))
        assert amount(breakdown["tax_total"]) == taxes
        parts = [
            breakdown["item_total"],
            breakdown["tax_total"],
            discount.get("item_discount"),
            discount.get("invoice_discount", {}).get("amount"),
            shipping.get("amount"),
            breakdown.get("custom", {}).get("amount"),
        ]
        total = sum((amount(part) for part in parts if part), Decimal(0))
        assert amount(invoice["amount"]) == total, invoice_id


def test_statuses_and_transactions_are_consistent(shared):
    for invoice_id in shared.invoice_ids():
        invoice = shared.invoice(invoice_id)
        status = invoice["status"]
        total = amount(invoice["amount"])
        payments = invoice.get("payments", {}).get("transactions", [])
        refunds = invoice.get("refunds", {}).get("transactions", [])
        paid = sum((amount(t["amount"]) for t in payments), Decimal(0))
        refunded = sum((amount(t["amount"]) for t in refunds), Decimal(0))
        assert amount(invoice["due_amount"]) == total - paid
        if payments:
            assert amount(invoice["payments"]["paid_amount"]) == paid
        if refunds:
            assert amount(invoice["refunds"]["refund_amount"]) == refunded
        assert bool(payments) == (status in PAID_STATUSES | {"PARTIALLY_PAID"}), invoice_id
        assert bool(refunds) == (status in REFUND_STATUSES)
        if status in PAID_STATUSES:
            assert paid == total > 0
        if status == "PARTIALLY_PAID":
            assert 0 < paid < total
        if status in {"REFUNDED", "MARKED_AS_REFUNDED"}:
            assert refunded == paid
        if status == "PARTIALLY_REFUNDED":
            assert 0 < refunded < paid
        external = status.startswith("MARKED_AS")
        for transaction in payments + refunds:
            assert transaction["type"] == ("EXTERNAL" if external else "PAYPAL") or (
                status == "PARTIALLY_PAID"
            )
        for transaction in payments:
            assert DATE.fullmatch(transaction["payment_date"])
            paypal = transaction["type"] == "PAYPAL"
            assert 17 <= len(transaction["payment_id"]) <= 22
            assert transaction["payment_id"].startswith("EXTR-") != paypal
            assert (transaction["method"] == "PAYPAL") == paypal
        for transaction in refunds:
            assert DATE.fullmatch(transaction["refund_date"])
            external = transaction["type"] == "EXTERNAL"
            assert transaction["refund_id"].startswith("EXTR-") == external
        metadata = invoice["detail"]["metadata"]
        sent = status not in {"DRAFT", "SCHEDULED"}
        assert ("first_sent_time" in metadata) == sent
        assert ("cancel_time" in metadata) == (status == "CANCELLED")
        times = [value for key, value in metadata.items() if key.endswith("_time")]
        assert all(DATE_TIME.fullmatch(value) for value in times)
        assert metadata["last_update_time"] == max(times)


def test_money_values_are_exact_decimal_strings(shared):
    values: set[str] = set()
    quantities: set[str] = set()
    for invoice_id in shared.invoice_ids():
        invoice = shared.invoice(invoice_id)
        for money in moneys(invoice):
            digits = DIGITS[money["currency_code"]]
            pattern = rf"-?\d+\.\d{{{digits}}}" if digits else r"-?\d+"
            assert re.fullmatch(pattern, money["value"]), money
            assert money["value"] != "-0.00"
            values.add(money["value"])
        quantities |= {item["quantity"] for item in invoice["items"]}
        for item in invoice["items"]:
            if "tax" in item:
                assert re.fullmatch(r"\d+(\.\d+)?", item["tax"]["percent"])
                assert item["tax"]["id"].startswith("TAX-")
    assert {"0.00", "1000000.00", "-2.00"} <= values
    assert "0.33333" in quantities and all(re.fullmatch(r"\d+(\.\d{1,5})?", q) for q in quantities)
    assert any(re.fullmatch(r"\d+", value) for value in values)  # JPY


def test_invoices_carry_the_documented_and_the_undocumented_fields(shared):
    invoices = [shared.invoice(i) for i in shared.invoice_ids()]
    for invoice in invoices:
        assert {"id", "status", "detail", "invoicer", "primary_recipients", "items"} <= set(invoice)
        assert {"configuration", "amount", "due_amount", "links", "unilateral"} <= set(invoice)
        detail = invoice["detail"]
        assert {"archived", "viewed_by_recipient", "group_draft", "category_code"} <= set(detail)
        assert detail["metadata"]["caller_type"] == "API_V2_INVOICE"
        assert "allow_only_pay_by_bank" in invoice["configuration"]
        assert invoice["primary_recipients"][0]["billing_info"]["email_address"]
        assert invoice["links"][0] == {
            "href": f"https://api.sandbox.paypal.com/v2/invoicing/invoices/{invoice['id']}",
            "rel": "self",
            "method": "GET",
        }
    items = [item for invoice in invoices for item in invoice["items"]]
    assert any("id" not in item for item in items) and any("id" in item for item in items)
    assert any("shipping_info" in r for i in invoices for r in i["primary_recipients"])
    assert any("gratuity" in i for i in invoices)
    assert any("attachments" in i["detail"] for i in invoices)
    assert any("additional_recipients" in i for i in invoices)


def test_data_is_deterministic_per_seed():
    with (
        Sandbox(provider="paypal", invoices=25, seed=9) as first,
        Sandbox(provider="paypal", invoices=25, seed=9) as second,
        Sandbox(provider="paypal", invoices=25, seed=10) as other,
    ):
        assert first.invoice_ids() == second.invoice_ids()
        assert first.credentials == second.credentials
        for invoice_id in first.invoice_ids():
            assert without_dates(first.invoice(invoice_id)) == without_dates(
                second.invoice(invoice_id)
            )
        assert set(other.invoice_ids()).isdisjoint(first.invoice_ids())


# --- state changes ---------------------------------------------------------------------------


def status_of(session: requests.Session, sandbox: Sandbox, invoice_id: str) -> str:
    return get(session, sandbox, DETAIL.format(invoice_id)).json()["status"]


def test_a_draft_is_sent_paid_in_parts_and_refunded(sb, client):
    (draft,) = sb.api.add(status="DRAFT")
    assert sb.invoice_ids()[0] == draft
    assert get(client, sb, LIST).json()["items"][0]["id"] == draft
    assert "first_sent_time" not in sb.invoice(draft)["detail"]["metadata"]
    with pytest.raises(ActionNotAllowedError):
        sb.api.pay(draft)
    sb.api.send(draft)
    metadata = sb.invoice(draft)["detail"]["metadata"]
    assert metadata["first_sent_time"] == metadata["last_sent_time"]
    assert status_of(client, sb, draft) == "SENT"
    with pytest.raises(ActionNotAllowedError):
        sb.api.send(draft)
    with pytest.raises(ActionNotAllowedError):
        sb.api.refund(draft)
    total = amount(sb.invoice(draft)["amount"])
    first_payment = sb.api.pay(draft, "1.00")
    assert 17 <= len(first_payment) <= 22
    invoice = sb.invoice(draft)
    assert invoice["status"] == "PARTIALLY_PAID"
    assert invoice["payments"]["paid_amount"]["value"] == "1.00"
    assert amount(invoice["due_amount"]) == total - 1
    with pytest.raises(ValueError, match="at most"):
        sb.api.pay(draft, total)
    second_payment = sb.api.pay(draft)
    invoice = sb.invoice(draft)
    assert invoice["status"] == "PAID" and invoice["due_amount"]["value"] == "0.00"
    ids = [t["payment_id"] for t in invoice["payments"]["transactions"]]
    assert ids == [first_payment, second_payment]
    refund_id = sb.api.refund(draft, "0.50")
    invoice = sb.invoice(draft)
    assert invoice["status"] == "PARTIALLY_REFUNDED"
    assert invoice["refunds"]["transactions"][0]["refund_id"] == refund_id
    sb.api.refund(draft)
    invoice = sb.invoice(draft)
    assert invoice["status"] == "REFUNDED"
    assert amount(invoice["refunds"]["refund_amount"]) == total
    with pytest.raises(ActionNotAllowedError):
        sb.api.refund(draft)
    summary = get(client, sb, LIST).json()["items"][0]
    assert summary["refunds"] == {"refund_amount": invoice["refunds"]["refund_amount"]}


def test_recorded_payments_and_refunds_are_external(sb, client):
    (invoice_id,) = sb.api.add(status="UNPAID")
    payment_id = sb.api.record_payment(invoice_id)
    invoice = sb.invoice(invoice_id)
    assert invoice["status"] == "MARKED_AS_PAID"
    (payment,) = invoice["payments"]["transactions"]
    assert payment["type"] == "EXTERNAL" and payment["payment_id"] == payment_id
    with pytest.raises(ActionNotAllowedError):
        sb.api.refund(invoice_id)  # nothing was paid through PayPal
    sb.api.record_refund(invoice_id)
    assert status_of(client, sb, invoice_id) == "MARKED_AS_REFUNDED"
    with pytest.raises(ActionNotAllowedError):
        sb.api.record_payment(invoice_id)


def test_cancel_update_and_delete(sb, client):
    sent, draft = sb.api.add(2, status="SENT")[0], sb.api.add(status="DRAFT")[0]
    with pytest.raises(ActionNotAllowedError):
        sb.api.cancel(draft)
    sb.api.cancel(sent)
    metadata = sb.invoice(sent)["detail"]["metadata"]
    assert status_of(client, sb, sent) == "CANCELLED" and "cancel_time" in metadata
    with pytest.raises(ActionNotAllowedError):
        sb.api.cancel(sent)
    with pytest.raises(ActionNotAllowedError):
        sb.api.update(sent, memo="too late")
    sb.api.update(draft, memo="new memo", reference=None)
    detail = get(client, sb, DETAIL.format(draft)).json()["detail"]
    assert detail["memo"] == "new memo" and "reference" not in detail
    with pytest.raises(TypeError):
        sb.api.update(draft, status="PAID")
    sb.api.delete(draft)
    assert get(client, sb, DETAIL.format(draft)).status_code == 404
    with pytest.raises(KeyError):
        sb.api.send(draft)


def test_changes_move_the_last_update_time(sb, client):
    old = next(i for i in reversed(sb.invoice_ids()) if sb.invoice(i)["status"] != "CANCELLED")
    before = sb.invoice(old)["detail"]["metadata"]["last_update_time"]
    assert before < stamp(datetime.now(UTC) - timedelta(minutes=2))
    sb.api.update(old, note="Updated terms")
    after = get(client, sb, DETAIL.format(old)).json()["detail"]["metadata"]["last_update_time"]
    assert after >= stamp(datetime.now(UTC) - timedelta(seconds=5))
    assert sb.api.last_update(old) == after


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_add_makes_any_status_consistently(status):
    with Sandbox(provider="paypal", invoices=0, seed=1) as sandbox:
        (invoice_id,) = sandbox.api.add(status=status)
        invoice = sandbox.invoice(invoice_id)
        assert invoice["status"] == status
        assert amount(invoice["amount"]) > 0
        last_update = invoice["detail"]["metadata"]["last_update_time"]
        assert last_update >= stamp(datetime.now(UTC) - timedelta(seconds=5))
    with pytest.raises(ValueError, match="cannot add"):
        Sandbox(provider="paypal", invoices=0, seed=1).api.add(status="NEW")


# --- CLI -------------------------------------------------------------------------------------


def test_cli_refuses_options_of_other_providers(capsys):
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--provider", "revolv3", "--token-lifetime", "3"])
    assert stopped.value.code == 2
    assert "paypal options" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sandbox_cli(["--provider", "paypal", "--token-lifetime", "0"])


def test_cli_serves_paypal_with_its_options(tmp_path):
    config_path = tmp_path / "config.json"
    script = shutil.which("tap-invoicing-sandbox", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "tap_invoicing.sandbox.cli"]
    args = ["--provider", "paypal", "--invoices", "12", "--seed", "3", "--list-shape", "full"]
    args += ["--max-page", "2", "--token-lifetime", "60", "--write-config", str(config_path)]
    with subprocess.Popen(
        [*command, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as process:
        try:
            line = process.stderr.readline()
            assert line.startswith("tap-invoicing-sandbox: paypal API on http://127.0.0.1:")
            config = json.loads(config_path.read_text())
            credentials = Credentials.for_seed(3)
            assert config["client_id"] == credentials.client_id
            base = config["base_url"]
            granted = requests.post(
                f"{base}{TOKEN}",
                auth=(config["client_id"], config["client_secret"]),
                data={"grant_type": "client_credentials"},
                timeout=10,
            ).json()
            assert granted["expires_in"] == 60
            headers = {"Authorization": f"Bearer {granted['access_token']}"}
            first = requests.get(f"{base}{LIST}?page_size=5", headers=headers, timeout=10)
            assert "invoicer" in first.json()["items"][0]
            capped = requests.get(f"{base}{LIST}?page=3", headers=headers, timeout=10)
            assert capped.status_code == 400
            process.terminate()
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
