"""The local API sandbox: it must speak the CyberSource Invoicing API the way the notes and the
real samples describe, keep its data consistent, and fail exactly as scripted."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import formatdate
from pathlib import Path

import pytest
import requests

from tap_invoicing.providers.cybersource.auth import (
    HttpSignatureAuth,
    decode_secret,
)
from tap_invoicing.sandbox import ActionNotAllowedError, Fault, Sandbox

LIST = "/invoicing/v2/invoices"
STATUSES = ("DRAFT", "CREATED", "SENT", "PARTIAL", "PAID", "CANCELED", "PENDING")
LINK_STATUSES = {"SENT", "CREATED", "PARTIAL", "PAID"}
SUBMIT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
CREATED_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
HISTORY_DATE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?Z")
AUTH_FAILED = {"response": {"rmsg": "Authentication Failed"}}


def auth_for(sb: Sandbox, **override: str) -> HttpSignatureAuth:
    creds = sb.credentials
    values = {
        "merchant_id": creds.merchant_id,
        "key_id": creds.merchant_key_id,
        "secret_b64": creds.merchant_secret_key,
    }
    return HttpSignatureAuth(**{**values, **override})


def signed_headers(sb: Sandbox, method: str, url: str, date: str) -> dict[str, str]:
    """Headers signed by the tap's own signer, with a Date the test chooses."""
    return auth_for(sb).headers_for(method=method, url=url, body=None, date=date)


def decimal_json(response: requests.Response) -> dict:
    return json.loads(response.text, parse_float=Decimal)


def history_ms(date: str) -> int:
    match = HISTORY_DATE.fullmatch(date)
    assert match, date
    seconds = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    millis = int((match.group(2) or "0").ljust(3, "0"))
    return int(seconds.timestamp()) * 1000 + millis


def payments(detail: dict) -> list[Decimal]:
    return [
        Decimal(str(entry["transactionDetails"]["amount"]))
        for entry in detail["invoiceHistory"]
        if entry["event"] == "PAYMENT"
    ]


def amount(detail: dict, key: str) -> Decimal:
    return Decimal(str(detail["orderInformation"]["amountDetails"][key]))


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """A read-only sandbox: tests using it must not mutate data or inject faults."""
    with Sandbox(invoices=100, seed=7) as sb:
        yield sb


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A private sandbox for tests that change data or inject faults."""
    with Sandbox(invoices=40, seed=11) as sandbox:
        yield sandbox


def open_session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.auth = auth_for(sandbox)
    return session


@pytest.fixture
def client(sb: Sandbox) -> Iterator[requests.Session]:
    with open_session(sb) as session:
        yield session


@pytest.fixture(scope="module")
def shared_client(shared: Sandbox) -> Iterator[requests.Session]:
    with open_session(shared) as session:
        yield session


def list_page(session: requests.Session, sb: Sandbox, query: str) -> requests.Response:
    return session.get(f"{sb.base_url}{LIST}?{query}", timeout=10)


def detail(session: requests.Session, sb: Sandbox, invoice_id: str) -> requests.Response:
    return session.get(f"{sb.base_url}{LIST}/{invoice_id}", timeout=10)


def first_with(sb: Sandbox, predicate: Callable[[dict], bool]) -> str:
    for invoice_id in sb.invoice_ids():
        if predicate(sb.invoice(invoice_id)):
            return invoice_id
    raise AssertionError("no invoice in the data set matches")


# --- protocol: list, detail, errors -------------------------------------------------------


def test_signed_list_matches_the_data_newest_first(shared, shared_client):
    response = list_page(shared_client, shared, "offset=0&limit=5")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/hal+json")
    body = decimal_json(response)
    assert list(body) == ["_links", "submitTimeUtc", "totalInvoices", "invoices"]
    assert body["totalInvoices"] == 100
    assert body["_links"]["self"] == {"href": "/v2/invoices/?offset=0&limit=5", "method": "GET"}
    assert body["_links"]["next"] == {"href": "/v2/invoices/?offset=5&limit=5", "method": "GET"}
    assert "previous" not in body["_links"]
    ids = [item["id"] for item in body["invoices"]]
    assert ids == shared.invoice_ids()[:5]
    assert [int(i) for i in ids] == sorted((int(i) for i in ids), reverse=True)
    item = body["invoices"][0]
    assert item["_links"]["self"] == {"href": f"/v2/invoices/{ids[0]}", "method": "GET"}
    assert item["_links"]["cancel"]["href"] == f"/v2/invoices/{ids[0]}/cancelation"


def test_list_items_summarise_the_detail(shared, shared_client):
    body = decimal_json(list_page(shared_client, shared, "offset=0&limit=1000"))
    missing_created = 0
    for item in body["invoices"]:
        full = shared.invoice(item["id"])
        assert item["status"] == full["status"]
        assert item["orderInformation"]["amountDetails"] == {
            "totalAmount": full["orderInformation"]["amountDetails"]["totalAmount"],
            "currency": full["orderInformation"]["amountDetails"]["currency"],
        }
        customer = full["customerInformation"]
        assert item["customerInformation"] == {
            k: customer[k] for k in ("name", "merchantCustomerId") if k in customer
        }
        info = full["invoiceInformation"]
        assert item["invoiceInformation"] == {
            k: info[k] for k in ("dueDate", "expirationDate", "paymentLink") if k in info
        }
        if "createdDate" not in item:
            missing_created += 1
            continue
        assert CREATED_DATE.fullmatch(item["createdDate"])
        created = datetime.strptime(item["createdDate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        oldest_event = history_ms(full["invoiceHistory"][-1]["date"])
        assert (
            int(created.timestamp()) * 1000 <= oldest_event < int(created.timestamp()) * 1000 + 1000
        )
    assert 5 <= missing_created <= 30


def test_detail_is_exactly_what_the_data_access_returns(shared, shared_client):
    for invoice_id in shared.invoice_ids():
        response = detail(shared_client, shared, invoice_id)
        assert response.status_code == 200
        body = decimal_json(response)
        assert list(body)[:4] == ["_links", "id", "submitTimeUtc", "status"]
        assert SUBMIT_TIME.fullmatch(body.pop("submitTimeUtc"))
        assert body == shared.invoice(invoice_id)


def test_amounts_keep_their_exact_digits(shared, shared_client):
    number_amounts, text_amounts = set(), set()
    for invoice_id in shared.invoice_ids():
        raw = detail(shared_client, shared, invoice_id).text
        served = json.loads(raw, parse_float=Decimal)["orderInformation"]["amountDetails"]
        stored = shared.invoice(invoice_id)["orderInformation"]["amountDetails"]
        for key in ("totalAmount", "balanceAmount"):
            assert str(served[key]) == str(stored[key])
            bucket = text_amounts if isinstance(served[key], str) else number_amounts
            bucket.add(str(served[key]))
    assert number_amounts and text_amounts
    every = number_amounts | text_amounts
    assert any("." in a and a.endswith("0") for a in every), "trailing zeros are kept"
    assert any("." in a and len(a.split(".")[1]) > 2 for a in every), "more than 2 decimals"
    assert "0.01" in every
    assert "98765432109.99" in every


def test_submit_time_has_nanoseconds_everywhere(shared, shared_client):
    responses = [
        list_page(shared_client, shared, "offset=0&limit=1"),
        detail(shared_client, shared, shared.invoice_ids()[0]),
        detail(shared_client, shared, "nope"),
        list_page(shared_client, shared, "offset=0&limit=0"),
    ]
    for response in responses:
        assert SUBMIT_TIME.fullmatch(response.json()["submitTimeUtc"])


def test_paging_covers_every_invoice_once_then_404(shared, shared_client):
    seen, offset = [], 0
    while True:
        response = list_page(shared_client, shared, f"offset={offset}&limit=7")
        if response.status_code == 404:
            break
        body = response.json()
        assert body["totalInvoices"] == 100
        assert ("previous" in body["_links"]) == (offset > 0)
        assert ("next" in body["_links"]) == (offset + 7 < 100)
        seen += [item["id"] for item in body["invoices"]]
        offset += 7
    assert offset == 105
    assert seen == shared.invoice_ids()
    assert len(set(seen)) == 100
    assert response.json()["status"] == "NOTFOUND"
    assert response.json()["reason"] == "NOT_FOUND"
    assert response.json()["message"] == "No invoices found."


def test_status_filter(shared, shared_client):
    total = 0
    for status in STATUSES:
        expected = [i for i in shared.invoice_ids() if shared.invoice(i)["status"] == status]
        response = list_page(shared_client, shared, f"offset=0&limit=1000&status={status}")
        if not expected:
            assert response.status_code == 404
            continue
        body = response.json()
        assert body["totalInvoices"] == len(expected)
        assert [item["id"] for item in body["invoices"]] == expected
        assert {item["status"] for item in body["invoices"]} == {status}
        total += len(expected)
    assert total == 100


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("offset=0&limit=0", "limit", "INVALID_DATA"),
        ("offset=0&limit=1001", "limit", "INVALID_DATA"),
        ("offset=0&limit=abc", "limit", "INVALID_DATA"),
        ("offset=-1&limit=5", "offset", "INVALID_DATA"),
        ("offset=1.5&limit=5", "offset", "INVALID_DATA"),
        ("offset=0", "limit", "MISSING_FIELD"),
        ("limit=5", "offset", "MISSING_FIELD"),
    ],
)
def test_invalid_paging_parameters_get_400(shared, shared_client, query, field, reason):
    response = list_page(shared_client, shared, query)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "BADREQUEST"
    assert body["reason"] == "VALIDATION_ERROR"
    assert body["details"] == [{"field": field, "reason": reason}]


@pytest.mark.parametrize("status", ["paid", "None", "", "OPEN"])
def test_unknown_status_gets_400(shared, shared_client, status):
    response = list_page(shared_client, shared, f"offset=0&limit=5&status={status}")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid invoice status"


def test_limit_1000_is_allowed(shared, shared_client):
    assert list_page(shared_client, shared, "offset=99&limit=1000").status_code == 200


@pytest.mark.parametrize("path", [f"{LIST}/999999", f"{LIST}/abc", "/invoicing/v2/other", "/"])
def test_unknown_resources_get_404(shared, shared_client, path):
    response = shared_client.get(f"{shared.base_url}{path}", timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "NOTFOUND"
    if path.startswith(f"{LIST}/"):
        assert body["message"] == "Invoice does not exist."


def test_empty_sandbox_lists_404():
    with Sandbox(invoices=0, seed=1) as sb, open_session(sb) as session:
        assert list_page(session, sb, "offset=0&limit=10").status_code == 404


# --- authentication --------------------------------------------------------------------------


def test_hand_signed_request_is_accepted(shared):
    url = f"{shared.base_url}{LIST}?offset=0&limit=1"
    for skew in (0, -600, 600):
        headers = signed_headers(shared, "GET", url, formatdate(time.time() + skew, usegmt=True))
        assert requests.get(url, headers=headers, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "override",
    [
        {"secret_b64": b64encode(b"\x00" * 32).decode()},
        {"merchant_id": "someone_else"},
        {"key_id": "00000000-0000-4000-8000-000000000000"},
    ],
    ids=["wrong-secret", "wrong-merchant", "unknown-key-id"],
)
def test_wrong_credentials_get_401(shared, override):
    response = requests.get(
        f"{shared.base_url}{LIST}?offset=0&limit=1", auth=auth_for(shared, **override), timeout=10
    )
    assert response.status_code == 401
    assert response.json() == AUTH_FAILED


@pytest.mark.parametrize(
    "change",
    ["no-signature", "no-date", "stale-date", "future-date", "bad-date", "other-target", "algo"],
)
def test_bad_signatures_get_401(shared, change):
    url = f"{shared.base_url}{LIST}?offset=0&limit=1"
    date = formatdate(usegmt=True)
    headers = signed_headers(shared, "GET", url, date)
    if change == "no-signature":
        del headers["Signature"]
    elif change == "no-date":
        headers["Date"] = ""
    elif change in {"stale-date", "future-date"}:
        shift = -16 * 60 if change == "stale-date" else 16 * 60
        headers = signed_headers(shared, "GET", url, formatdate(time.time() + shift, usegmt=True))
    elif change == "bad-date":
        headers = signed_headers(shared, "GET", url, "yesterday")
    elif change == "other-target":
        url = f"{shared.base_url}{LIST}?offset=0&limit=2"
    else:
        headers["Signature"] = headers["Signature"].replace("HmacSHA256", "HmacSHA512")
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == AUTH_FAILED


def test_unsigned_request_gets_401_on_every_path(shared):
    for path in (f"{LIST}?offset=0&limit=1", f"{LIST}/{shared.invoice_ids()[0]}", "/nowhere"):
        response = requests.get(f"{shared.base_url}{path}", timeout=10)
        assert response.status_code == 401


# --- HTTP behaviour --------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(shared):
    host, port = "127.0.0.1", shared.port
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        sockets = []
        for invoice_id in shared.invoice_ids()[:3]:
            path = f"{LIST}/{invoice_id}"
            url = f"http://{host}:{port}{path}"
            connection.request(
                "GET", path, headers=signed_headers(shared, "GET", url, formatdate(usegmt=True))
            )
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(body)
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert all(sock is sockets[0] for sock in sockets)
    finally:
        connection.close()


def test_stop_ends_open_connections_and_is_idempotent():
    sb = Sandbox(invoices=3, seed=2).start()
    with open_session(sb) as session:
        assert list_page(session, sb, "offset=0&limit=1").status_code == 200
        url = f"{sb.base_url}{LIST}?offset=0&limit=1"
        sb.stop()
        sb.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=5)
    with pytest.raises(RuntimeError):
        _ = sb.base_url


def test_latency_is_added_to_every_response():
    with Sandbox(invoices=3, seed=2, latency=0.2) as sb, open_session(sb) as session:
        started = time.monotonic()
        assert list_page(session, sb, "offset=0&limit=1").status_code == 200
        assert detail(session, sb, sb.invoice_ids()[0]).status_code == 200
        assert time.monotonic() - started >= 0.4


def test_constructor_rejects_unknown_provider_and_negative_values():
    with pytest.raises(ValueError, match="provider"):
        Sandbox(provider="nope")
    with pytest.raises(ValueError):
        Sandbox(invoices=-1)


def test_tap_config_and_credentials(tmp_path, shared):
    config = shared.tap_config()
    assert config == {
        "provider": "cybersource",
        "base_url": shared.base_url,
        "merchant_id": f"sandbox_merchant_{shared.seed}",
        "merchant_key_id": shared.credentials.merchant_key_id,
        "merchant_secret_key": shared.credentials.merchant_secret_key,
    }
    assert len(decode_secret(config["merchant_secret_key"])) == 32
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        config["merchant_key_id"],
    )
    path = shared.write_config(tmp_path / "config.json")
    assert json.loads(path.read_text()) == config
    again = Sandbox(invoices=1, seed=7)
    other = Sandbox(invoices=1, seed=8)
    assert again.credentials == shared.credentials
    assert other.credentials != shared.credentials


# --- data set --------------------------------------------------------------------------------


def test_data_is_deterministic_per_seed_apart_from_time():
    def without_dates(sb: Sandbox) -> list[dict]:
        out = []
        for invoice_id in sb.invoice_ids():
            invoice = sb.invoice(invoice_id)
            for entry in invoice["invoiceHistory"]:
                entry.pop("date")
            info = invoice["invoiceInformation"]
            info.pop("dueDate")
            info.pop("expirationDate", None)
            number = info["invoiceNumber"]
            info["invoiceNumber"] = re.sub(r"^INV-\d{4}-", "INV-", number)
            out.append(invoice)
        return out

    first = without_dates(Sandbox(invoices=50, seed=3))
    assert first == without_dates(Sandbox(invoices=50, seed=3))
    assert first != without_dates(Sandbox(invoices=50, seed=4))


def test_history_is_consistent_with_status_and_amounts():
    sb = Sandbox(invoices=400, seed=5)
    now = time.time_ns() // 1_000_000
    statuses = set()
    for invoice_id in sb.invoice_ids():
        invoice = sb.invoice(invoice_id)
        status = invoice["status"]
        statuses.add(status)
        events = [entry["event"] for entry in invoice["invoiceHistory"]]
        dates = [history_ms(entry["date"]) for entry in invoice["invoiceHistory"]]
        assert dates == sorted(dates, reverse=True)
        assert len(set(dates)) == len(dates)
        assert dates[0] < now
        assert events[-1] in {"DRAFT", "CREATE"}
        for entry in invoice["invoiceHistory"]:
            assert ("transactionDetails" in entry) == (entry["event"] == "PAYMENT")
            if entry["event"] == "PAYMENT":
                assert re.fullmatch(r"\d{22}", entry["transactionDetails"]["transactionId"])
        total, balance = amount(invoice, "totalAmount"), amount(invoice, "balanceAmount")
        paid = sum(payments(invoice), Decimal(0))
        assert balance == total - paid
        assert ("paymentLink" in invoice["invoiceInformation"]) == (status in LINK_STATUSES)
        if status == "PAID":
            assert balance == 0
            assert events[0] == "PAYMENT"
        elif status == "PARTIAL":
            assert 0 < balance < total
            assert invoice["invoiceInformation"]["allowPartialPayments"] is True
        else:
            assert paid == 0
        if status == "DRAFT":
            assert set(events) <= {"DRAFT", "UPDATE"}
        if status == "CREATED":
            assert "CREATE" in events
            assert "SEND" not in events
        if status in {"SENT", "PARTIAL", "PAID", "PENDING"}:
            assert "SEND" in events
        if status in {"CANCELED", "PENDING"}:
            assert events[0] == ("CANCEL" if status == "CANCELED" else "PENDING")
        lines = invoice["orderInformation"].get("lineItems")
        assert lines is None or 1 <= len(lines) <= 30
        for line in lines or []:
            assert int(line["quantity"]) >= 1
    assert statuses == set(STATUSES)


def test_data_is_realistic_over_time():
    sb = Sandbox(invoices=400, seed=5)
    ids = sb.invoice_ids()
    assert ids[-1] == "10001"
    assert [int(i) for i in ids] == list(range(10400, 10000, -1))
    oldest = [sb.invoice(i) for i in ids[-200:]]
    settled = sum(inv["status"] in {"PAID", "CANCELED"} for inv in oldest)
    assert settled / len(oldest) > 0.7
    newest = [sb.invoice(i) for i in ids[:30]]
    assert (
        sum(inv["status"] in {"DRAFT", "CREATED", "SENT", "PARTIAL", "PENDING"} for inv in newest)
        > 15
    )
    every = [sb.invoice(i) for i in ids]
    text = json.dumps(every, default=str, ensure_ascii=False)
    for sample in ("Ærøskøbing", "渡辺", "محمد", "🚀", "דוד"):
        assert sample in text
    numbers = {inv["invoiceInformation"]["invoiceNumber"] for inv in every}
    assert any(number.startswith("INV-") for number in numbers)
    assert any(inv["id"] == inv["invoiceInformation"]["invoiceNumber"] for inv in every)
    quantities = [
        line["quantity"] for inv in every for line in inv["orderInformation"].get("lineItems", [])
    ]
    assert any(isinstance(q, str) for q in quantities)
    assert any(isinstance(q, int) for q in quantities)
    assert any("lineItems" not in inv["orderInformation"] for inv in every)
    assert max(len(inv["orderInformation"].get("lineItems", [])) for inv in every) == 30
    assert any("name" not in inv["customerInformation"] for inv in every)
    assert {inv["invoiceInformation"]["deliveryMode"] for inv in every} == {
        "Email",
        "email",
        "None",
    }
    assert any("merchantDefinedFieldValuesWithDefinition" in inv for inv in every)
    assert any("merchantDefinedFieldValues" in inv for inv in every)
    lines = [line for inv in every for line in inv["orderInformation"].get("lineItems", [])]
    assert any("discountPercent" in line for line in lines)


# --- faults ----------------------------------------------------------------------------------


def test_status_fault_with_retry_after(sb, client):
    sb.inject(Fault("status", status=429, headers={"Retry-After": "1"}))
    first = list_page(client, sb, "offset=0&limit=1")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert SUBMIT_TIME.fullmatch(first.json()["submitTimeUtc"])
    assert list_page(client, sb, "offset=0&limit=1").status_code == 200
    assert [r.status for r in sb.requests] == [429, 200]


def test_server_error_fault_uses_the_vendor_body(sb, client):
    sb.inject(Fault("status", status=502))
    body = list_page(client, sb, "offset=0&limit=1").json()
    assert body["status"] == "SERVER_ERROR"
    assert body["message"] == "Error - General system failure."
    sb.inject(Fault("status", status=503, body={"custom": True}))
    assert list_page(client, sb, "offset=0&limit=1").json() == {"custom": True}


def test_drop_fault_closes_without_response(sb, client):
    sb.inject(Fault("drop"))
    with pytest.raises(requests.ConnectionError):
        list_page(client, sb, "offset=0&limit=1")
    assert list_page(client, sb, "offset=0&limit=1").status_code == 200
    assert [r.status for r in sb.requests] == [0, 200]


def test_truncate_fault_cuts_the_body(sb, client):
    sb.inject(Fault("truncate", path_prefix=f"{LIST}/"))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        detail(client, sb, sb.invoice_ids()[0])
    assert detail(client, sb, sb.invoice_ids()[0]).status_code == 200
    assert [r.status for r in sb.requests] == [0, 200]


def test_garbage_and_missing_fields_faults(sb, client):
    sb.inject(Fault("garbage"))
    sb.inject(Fault("missing_fields"))
    garbage = list_page(client, sb, "offset=0&limit=1")
    assert garbage.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        garbage.json()
    skeleton = list_page(client, sb, "offset=0&limit=1")
    assert skeleton.status_code == 200
    assert list(skeleton.json()) == ["submitTimeUtc"]
    assert "invoices" in list_page(client, sb, "offset=0&limit=1").json()


def test_delay_fault(sb, client):
    sb.inject(Fault("delay", seconds=0.3))
    started = time.monotonic()
    assert list_page(client, sb, "offset=0&limit=1").status_code == 200
    assert time.monotonic() - started >= 0.3
    sb.inject(Fault("delay", seconds=1.0))
    with pytest.raises(requests.Timeout):
        client.get(f"{sb.base_url}{LIST}?offset=0&limit=1", timeout=0.2)


def test_drip_fault_sends_headers_at_once_then_the_body_byte_by_byte(sb, client):
    invoice_id = sb.invoice_ids()[0]
    sb.inject(Fault("drip", seconds=0.1, body=b"slow body", path_prefix=f"{LIST}/"))
    started = time.monotonic()
    response = client.get(f"{sb.base_url}{LIST}/{invoice_id}", timeout=10, stream=True)
    headers_after = time.monotonic() - started
    arrivals = [time.monotonic() - started for _ in response.iter_content(chunk_size=1)]
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(b"slow body"))
    assert headers_after < 0.1
    assert len(arrivals) == len(b"slow body")
    assert arrivals[-1] >= 0.9
    sb.inject(Fault("drip", seconds=0.0005, path_prefix=f"{LIST}/"))
    dripped = decimal_json(detail(client, sb, invoice_id))
    assert {k: v for k, v in dripped.items() if k != "submitTimeUtc"} == sb.invoice(invoice_id)


def test_fault_matching_prefix_method_after_and_times(sb, client):
    invoice_id = sb.invoice_ids()[0]
    sb.inject(Fault("status", status=503, path_prefix=f"{LIST}/", method="GET", after=2, times=2))
    codes = [list_page(client, sb, "offset=0&limit=1").status_code]
    codes += [detail(client, sb, invoice_id).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 503, 503, 200, 200]
    sb.clear_faults()
    sb.inject(Fault("status", status=500, method="POST", times=None))
    assert detail(client, sb, invoice_id).status_code == 200


def test_unlimited_probabilistic_fault_is_seeded():
    def pattern() -> list[int]:
        with Sandbox(invoices=2, seed=9) as sb, open_session(sb) as session:
            sb.inject(Fault("status", status=503, times=None, probability=0.5))
            return [list_page(session, sb, "offset=0&limit=1").status_code for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert 3 < first.count(503) < 27


def test_faults_are_validated():
    with pytest.raises(ValueError):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault("status", probability=2.0)
    with pytest.raises(ValueError):
        Fault("status", status=42)


# --- observability ---------------------------------------------------------------------------


def test_request_log_and_detail_requests(sb, client):
    ids = sb.invoice_ids()
    list_page(client, sb, "offset=0&limit=3&status=SENT")
    for invoice_id in (ids[0], ids[1], ids[0]):
        detail(client, sb, invoice_id)
    detail(client, sb, "missing")
    client.get(f"{sb.base_url}/elsewhere", timeout=10)
    records = sb.requests
    assert [r.kind for r in records] == ["list", "detail", "detail", "detail", "detail", "other"]
    assert records[0].query == {"offset": "0", "limit": "3", "status": "SENT"}
    assert records[0].path == LIST
    assert records[0].method == "GET"
    assert [r.status for r in records][1:] == [200, 200, 200, 404, 404]
    assert [r.time for r in records] == sorted(r.time for r in records)
    assert sb.detail_requests() == [ids[0], ids[1], ids[0], "missing"]
    sb.clear_requests()
    assert sb.requests == []


def test_on_request_runs_before_serving_so_tests_can_cause_drift(sb, client):
    added = []

    def add_once(incoming):
        if incoming.kind == "list" and incoming.query.get("offset") == "10" and not added:
            added.extend(sb.api.add(1))

    sb.on_request(add_once)
    first = list_page(client, sb, "offset=0&limit=10").json()["invoices"]
    second = list_page(client, sb, "offset=10&limit=10").json()
    assert added
    assert second["totalInvoices"] == 41
    assert second["invoices"][0]["id"] == first[-1]["id"]


def test_a_raising_callback_becomes_a_500_and_is_recorded(sb, client):
    def explode(incoming):
        raise RuntimeError("boom")

    sb.on_request(explode)
    assert list_page(client, sb, "offset=0&limit=1").status_code == 500
    assert [type(e) for e in sb.errors] == [RuntimeError]


# --- mutations -------------------------------------------------------------------------------


def assert_newest_event(invoice: dict, event: str, not_before_ms: int) -> dict:
    entry = invoice["invoiceHistory"][0]
    assert entry["event"] == event
    assert history_ms(entry["date"]) >= not_before_ms - 1
    assert history_ms(entry["date"]) > history_ms(invoice["invoiceHistory"][1]["date"])
    return entry


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_full_payment(sb, client):
    invoice_id = first_with(sb, lambda inv: inv["status"] == "SENT")
    before = sb.invoice(invoice_id)
    started = now_ms()
    sb.api.pay(invoice_id)
    after = decimal_json(detail(client, sb, invoice_id))
    assert after["status"] == "PAID"
    assert amount(after, "balanceAmount") == 0
    entry = assert_newest_event(after, "PAYMENT", started)
    assert Decimal(str(entry["transactionDetails"]["amount"])) == amount(before, "balanceAmount")
    assert re.fullmatch(r"\d{22}", entry["transactionDetails"]["transactionId"])
    assert after["invoiceHistory"][1:] == before["invoiceHistory"]
    paid = list_page(client, sb, "offset=0&limit=1000&status=PAID").json()["invoices"]
    assert invoice_id in [item["id"] for item in paid]
    with pytest.raises(ActionNotAllowedError):
        sb.api.pay(invoice_id)


def test_partial_payments(sb, client):
    invoice_id = first_with(
        sb, lambda inv: inv["status"] == "SENT" and amount(inv, "totalAmount") >= 10
    )
    sb.api.update(invoice_id, allow_partial_payments=True)
    balance = amount(sb.invoice(invoice_id), "balanceAmount")
    part = (balance / 2).quantize(Decimal("0.01"))
    with pytest.raises(ValueError):
        sb.api.pay(invoice_id, balance + 1)
    sb.api.pay(invoice_id, part)
    after = decimal_json(detail(client, sb, invoice_id))
    assert after["status"] == "PARTIAL"
    assert amount(after, "balanceAmount") == balance - part
    sb.api.pay(invoice_id)
    after = sb.invoice(invoice_id)
    assert after["status"] == "PAID"
    assert sum(payments(after), Decimal(0)) == amount(after, "totalAmount")
    assert [e["event"] for e in after["invoiceHistory"][:3]] == ["PAYMENT", "PAYMENT", "UPDATE"]


def test_partial_payment_turns_partial_payments_on(sb):
    invoice_id = first_with(
        sb,
        lambda inv: (
            inv["status"] == "SENT"
            and not inv["invoiceInformation"]["allowPartialPayments"]
            and amount(inv, "totalAmount") >= 10
        ),
    )
    sb.api.pay(invoice_id, "1.00")
    after = sb.invoice(invoice_id)
    assert after["status"] == "PARTIAL"
    assert after["invoiceInformation"]["allowPartialPayments"] is True
    assert amount(after, "balanceAmount") == amount(after, "totalAmount") - Decimal("1.00")


def test_cancel(sb, client):
    invoice_id = first_with(sb, lambda inv: inv["status"] == "SENT" and not payments(inv))
    started = now_ms()
    sb.api.cancel(invoice_id)
    after = decimal_json(detail(client, sb, invoice_id))
    assert after["status"] == "CANCELED"
    assert "paymentLink" not in after["invoiceInformation"]
    assert_newest_event(after, "CANCEL", started)
    paid_id = first_with(sb, lambda inv: inv["status"] == "PAID")
    with pytest.raises(ActionNotAllowedError):
        sb.api.cancel(paid_id)


def test_update(sb, client):
    invoice_id = first_with(sb, lambda inv: inv["status"] in {"SENT", "DRAFT"})
    status = sb.invoice(invoice_id)["status"]
    started = now_ms()
    sb.api.update(invoice_id, description="Ünïcode ✓ updated", customer_name="Zoë")
    after = decimal_json(detail(client, sb, invoice_id))
    assert after["status"] == status
    assert after["invoiceInformation"]["description"] == "Ünïcode ✓ updated"
    assert_newest_event(after, "UPDATE", started)
    items = list_page(client, sb, "offset=0&limit=1000").json()["invoices"]
    assert next(i for i in items if i["id"] == invoice_id)["customerInformation"]["name"] == "Zoë"
    with pytest.raises(TypeError):
        sb.api.update(invoice_id, colour="blue")
    with pytest.raises(ActionNotAllowedError):
        sb.api.update(first_with(sb, lambda inv: inv["status"] == "PAID"), description="x")


def test_send_resend_remind_publish(sb):
    draft, other = sb.api.add(2, status="DRAFT")
    sb.api.publish(draft)
    assert sb.invoice(draft)["status"] == "CREATED"
    assert "paymentLink" in sb.invoice(draft)["invoiceInformation"]
    for invoice_id in (draft, other):
        with pytest.raises(ActionNotAllowedError):
            sb.api.remind(invoice_id)
        sb.api.send(invoice_id)
        sb.api.send(invoice_id)
        sb.api.remind(invoice_id)
        invoice = sb.invoice(invoice_id)
        assert invoice["status"] == "SENT"
        assert invoice["invoiceInformation"]["deliveryMode"].lower() == "email"
        events = [e["event"] for e in invoice["invoiceHistory"]]
        assert events[:3] == ["REMINDER", "RESEND", "SEND"]


def test_add_puts_new_invoices_at_the_head(sb, client):
    started = now_ms()
    added = sb.api.add(3, status="PAID")
    assert sb.invoice_ids()[:3] == list(reversed(added))
    body = decimal_json(list_page(client, sb, "offset=0&limit=3"))
    assert body["totalInvoices"] == 43
    assert [item["id"] for item in body["invoices"]] == list(reversed(added))
    for invoice_id in added:
        invoice = sb.invoice(invoice_id)
        assert invoice["status"] == "PAID"
        assert amount(invoice, "balanceAmount") == 0
        assert sum(payments(invoice), Decimal(0)) == amount(invoice, "totalAmount")
        oldest = history_ms(invoice["invoiceHistory"][-1]["date"])
        assert started - 1500 <= oldest <= now_ms()
    with pytest.raises(ValueError):
        sb.api.add(1, status="LOST")


@pytest.mark.parametrize("status", STATUSES)
def test_add_honours_every_status(status):
    sb = Sandbox(invoices=0, seed=3)
    assert {sb.invoice(i)["status"] for i in sb.api.add(15, status=status)} == {status}


def test_delete(sb, client):
    invoice_id = sb.invoice_ids()[5]
    sb.api.delete(invoice_id)
    assert detail(client, sb, invoice_id).status_code == 404
    body = list_page(client, sb, "offset=0&limit=1000").json()
    assert body["totalInvoices"] == 39
    assert invoice_id not in [item["id"] for item in body["invoices"]]
    with pytest.raises(KeyError):
        sb.invoice(invoice_id)
    with pytest.raises(KeyError):
        sb.api.delete(invoice_id)


def test_http_actions_need_a_digest_and_follow_the_rules(sb, client):
    draft = sb.api.add(1, status="DRAFT")[0]
    response = client.post(f"{sb.base_url}{LIST}/{draft}/delivery", json={}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SENT"
    assert "invoiceHistory" not in body
    assert sb.invoice(draft)["invoiceHistory"][0]["event"] == "SEND"
    paid = first_with(sb, lambda inv: inv["status"] == "PAID")
    refused = client.post(f"{sb.base_url}{LIST}/{paid}/cancelation", json={}, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["reason"] == "ACTION_NOT_ALLOWED"
    missing = client.post(f"{sb.base_url}{LIST}/nope/publication", json={}, timeout=10)
    assert missing.status_code == 404

    class WrongDigest(requests.auth.AuthBase):
        def __call__(self, request):
            request = auth_for(sb)(request)
            request.headers["Digest"] = "SHA-256=" + b64encode(b"\x00" * 32).decode()
            return request

    forged = requests.post(
        f"{sb.base_url}{LIST}/{draft}/cancelation", json={}, auth=WrongDigest(), timeout=10
    )
    assert forged.status_code == 401
    assert sb.invoice(draft)["status"] == "SENT"


def test_concurrent_reads_during_mutations(sb):
    failures = []
    ids = sb.invoice_ids()

    def reader():
        with open_session(sb) as session:
            for invoice_id in ids * 2:
                response = detail(session, sb, invoice_id)
                if response.status_code not in {200, 404}:
                    failures.append(response.status_code)
                elif response.status_code == 200:
                    response.json()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        sb.api.add(1, status="SENT")
    sb.api.delete(ids[3])
    for thread in threads:
        thread.join()
    assert failures == []
    assert sb.errors == []
    assert len(sb.detail_requests()) == 4 * 2 * len(ids)


# --- CLI -------------------------------------------------------------------------------------


def cli_command() -> list[str]:
    script = shutil.which("tap-invoicing-sandbox", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "tap_invoicing.sandbox.cli"]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(tmp_path, stop_signal):
    config_path = tmp_path / "config.json"
    args = ["--port", "0", "--invoices", "12", "--seed", "3", "--write-config", str(config_path)]
    with subprocess.Popen(
        [*cli_command(), *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as process:
        try:
            line = process.stderr.readline()
            match = re.fullmatch(
                r"tap-invoicing-sandbox: cybersource API on (http://127\.0\.0\.1:\d+) "
                r"\(12 invoices, seed 3\)\n",
                line,
            )
            assert match, line
            config = json.loads(config_path.read_text())
            creds = Sandbox(invoices=0, seed=3).credentials
            assert config == {
                "provider": "cybersource",
                "base_url": match.group(1),
                "merchant_id": creds.merchant_id,
                "merchant_key_id": creds.merchant_key_id,
                "merchant_secret_key": creds.merchant_secret_key,
            }
            auth = HttpSignatureAuth(
                merchant_id=config["merchant_id"],
                key_id=config["merchant_key_id"],
                secret_b64=config["merchant_secret_key"],
            )
            response = requests.get(
                f"{config['base_url']}{LIST}?offset=0&limit=100", auth=auth, timeout=10
            )
            assert response.json()["totalInvoices"] == 12
            process.send_signal(stop_signal)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
