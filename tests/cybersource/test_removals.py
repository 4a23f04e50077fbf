"""Removals the CyberSource API allows: an update (``PUT /invoicing/v2/invoices/{id}``, only
while no payment has been made) replaces the invoice's ``orderInformation.lineItems`` and its
amounts, logging an UPDATE; the sandbox offers it over signed HTTP and as ``sb.api.update``."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from tap_invoicing.providers.cybersource.auth import HttpSignatureAuth
from tap_invoicing.sandbox import ActionNotAllowedError, Sandbox
from tap_invoicing.sandbox.cybersource import CyberSourceEmulator
from tests.conftest import run_sync

LIST = "/invoicing/v2/invoices"
UNPAID = {"DRAFT", "CREATED", "SENT"}


def auth_for(sandbox: Sandbox) -> HttpSignatureAuth:
    credentials = sandbox.credentials
    return HttpSignatureAuth(
        merchant_id=credentials.merchant_id,
        key_id=credentials.merchant_key_id,
        secret_b64=credentials.merchant_secret_key,
    )


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=80, seed=19) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = auth_for(sb)
        yield session


def decimal_json(response: requests.Response) -> dict:
    return json.loads(response.text, parse_float=Decimal)


def money(value: Any) -> Decimal:
    """An amount as served (a JSON number or, for some invoices, a string)."""
    return Decimal(str(value))


def history(invoice: dict) -> list[str]:
    return [entry["event"] for entry in invoice["invoiceHistory"]]


def first_with(sb: Sandbox, predicate: Callable[[dict], bool]) -> str:
    for invoice_id in sb.invoice_ids():
        if predicate(sb.invoice(invoice_id)):
            return invoice_id
    raise AssertionError("no invoice fits")


def unpaid_with_lines(count: int) -> Callable[[dict], bool]:
    def fits(invoice: dict) -> bool:
        return (
            invoice["status"] in UNPAID
            and "PAYMENT" not in history(invoice)
            and len(invoice["orderInformation"].get("lineItems", [])) >= count
        )

    return fits


def assert_amounts_follow_the_lines(invoice: dict) -> None:
    """The total is the lines' sum less the order's discount plus its tax and freight, and
    nothing is paid: the balance is the whole total."""
    amounts = invoice["orderInformation"]["amountDetails"]
    lines = invoice["orderInformation"].get("lineItems", [])
    subtotal = sum((money(line["totalAmount"]) for line in lines), Decimal(0))
    discount = money(amounts.get("discountAmount", 0))
    tax = money(amounts.get("taxDetails", {}).get("amount", 0))
    freight = money(amounts.get("freight", {}).get("amount", 0))
    assert money(amounts["totalAmount"]) == max(subtotal - discount + tax + freight, Decimal(0))
    assert money(amounts["balanceAmount"]) == money(amounts["totalAmount"])
    if "subAmount" in amounts:
        assert money(amounts["subAmount"]) == subtotal


# --- sb.api.update(id, line_items=[...]) -----------------------------------------------------


def test_update_replaces_the_line_items_and_the_amounts_follow(sb):
    invoice_id = first_with(sb, unpaid_with_lines(3))
    before = sb.invoice(invoice_id)
    kept = before["orderInformation"]["lineItems"][1]
    sb.api.update(invoice_id, line_items=[kept])
    after = sb.invoice(invoice_id)
    assert after["orderInformation"]["lineItems"] == [kept]
    assert after["status"] == before["status"]
    assert history(after) == ["UPDATE", *history(before)]
    assert after["invoiceInformation"] == before["invoiceInformation"]
    assert_amounts_follow_the_lines(after)


def test_update_computes_a_new_lines_total_and_keeps_exact_digits(sb):
    invoice_id = first_with(sb, unpaid_with_lines(1))
    new = {"productSku": "P000000001", "productName": "Ünïcode ✓ widget", "quantity": 3}
    sb.api.update(invoice_id, line_items=[{**new, "unitPrice": "12.050"}])
    invoice = sb.invoice(invoice_id)
    (line,) = invoice["orderInformation"]["lineItems"]
    assert {key: line[key] for key in new} == new
    assert str(line["unitPrice"]) == "12.050"
    assert money(line["totalAmount"]) == Decimal("36.15")
    assert_amounts_follow_the_lines(invoice)


def test_update_to_no_lines_removes_them_all(sb):
    invoice_id = first_with(sb, unpaid_with_lines(2))
    sb.api.update(invoice_id, line_items=[])
    invoice = sb.invoice(invoice_id)
    assert "lineItems" not in invoice["orderInformation"]
    assert_amounts_follow_the_lines(invoice)


def test_update_is_refused_once_a_payment_exists_and_changes_nothing(sb):
    partial = first_with(sb, lambda inv: inv["status"] == "PARTIAL")
    paid = first_with(sb, lambda inv: inv["status"] == "PAID")
    for invoice_id in (partial, paid):
        before = sb.invoice(invoice_id)
        with pytest.raises(ActionNotAllowedError):
            sb.api.update(invoice_id, line_items=[])
        assert sb.invoice(invoice_id) == before
    sent = first_with(
        sb,
        lambda inv: (
            unpaid_with_lines(1)(inv)
            and inv["status"] == "SENT"
            and money(inv["orderInformation"]["amountDetails"]["balanceAmount"]) > 1
        ),
    )
    sb.api.pay(sent, "0.50")
    with pytest.raises(ActionNotAllowedError):
        sb.api.update(sent, line_items=[])


def test_update_refuses_invalid_lines_and_the_invoice_number(sb):
    invoice_id = first_with(sb, unpaid_with_lines(1))
    before = sb.invoice(invoice_id)
    for lines in (
        [{"productName": "no price"}],
        [{"unitPrice": "-1"}],
        [{"unitPrice": "1", "quantity": 0}],
        [{"unitPrice": "1", "colour": "blue"}],
        [{"unitPrice": "1"}] * 31,
    ):
        with pytest.raises(ValueError):
            sb.api.update(invoice_id, line_items=lines)
    with pytest.raises(TypeError):
        sb.api.update(invoice_id, invoice_number="X-1")
    assert sb.invoice(invoice_id) == before


# --- PUT /invoicing/v2/invoices/{id}, signed ------------------------------------------------


def update_request(invoice: dict, lines: list[dict], **amounts: Any) -> dict:
    """An ``UpdateInvoiceRequest`` keeping the invoice's information and replacing its order."""
    information = invoice["invoiceInformation"]
    return {
        "customerInformation": {"name": "Zoë Kowalczyk"},
        "invoiceInformation": {
            "invoiceNumber": information["invoiceNumber"],
            "dueDate": information["dueDate"],
            "description": "Fewer lines",
        },
        "orderInformation": {
            "amountDetails": {"currency": invoice["orderInformation"]["amountDetails"]["currency"]}
            | amounts,
            "lineItems": lines,
        },
    }


def test_signed_put_replaces_the_line_items(sb, client):
    invoice_id = first_with(sb, unpaid_with_lines(2))
    before = sb.invoice(invoice_id)
    first = before["orderInformation"]["lineItems"][0]
    body = update_request(before, [first])
    response = client.put(f"{sb.base_url}{LIST}/{invoice_id}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer = decimal_json(response)
    assert "invoiceHistory" not in answer
    assert answer["id"] == invoice_id
    assert answer["submitTimeUtc"]
    assert [line["productName"] for line in answer["orderInformation"]["lineItems"]] == [
        first["productName"]
    ]
    detail = decimal_json(client.get(f"{sb.base_url}{LIST}/{invoice_id}", timeout=10))
    assert detail["orderInformation"]["lineItems"] == [first]
    assert detail["customerInformation"]["name"] == "Zoë Kowalczyk"
    assert detail["invoiceInformation"]["description"] == "Fewer lines"
    assert (
        detail["invoiceInformation"]["invoiceNumber"]
        == before["invoiceInformation"]["invoiceNumber"]
    )
    assert detail["status"] == before["status"]
    assert history(detail) == ["UPDATE", *history(before)]
    assert_amounts_follow_the_lines(detail)
    items = client.get(f"{sb.base_url}{LIST}?offset=0&limit=1000", timeout=10).json()["invoices"]
    summary = next(item for item in items if item["id"] == invoice_id)
    total = detail["orderInformation"]["amountDetails"]["totalAmount"]
    assert money(summary["orderInformation"]["amountDetails"]["totalAmount"]) == money(total)


def test_signed_put_takes_the_total_it_states(sb, client):
    invoice_id = first_with(sb, unpaid_with_lines(1))
    line = {"productName": "Set-up fee", "unitPrice": "100.10", "quantity": 1}
    body = update_request(sb.invoice(invoice_id), [line], totalAmount="98765432109.99")
    response = client.put(f"{sb.base_url}{LIST}/{invoice_id}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    amounts = sb.invoice(invoice_id)["orderInformation"]["amountDetails"]
    assert str(amounts["totalAmount"]) == str(amounts["balanceAmount"]) == "98765432109.99"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda body: body["invoiceInformation"].update(invoiceNumber="OTHER-1"),
         "invoiceInformation.invoiceNumber", "INVALID_DATA"),
        (lambda body: body.pop("orderInformation"), "orderInformation", "MISSING_FIELD"),
        (lambda body: body["orderInformation"].pop("amountDetails"),
         "orderInformation.amountDetails", "MISSING_FIELD"),
        (lambda body: body.pop("invoiceInformation"), "invoiceInformation", "MISSING_FIELD"),
        (lambda body: body["orderInformation"]["lineItems"].append({"unitPrice": "x"}),
         "orderInformation.lineItems[1].unitPrice", "INVALID_DATA"),
        (lambda body: body["invoiceInformation"].update(allowPartialPayments="yes"),
         "invoiceInformation.allowPartialPayments", "INVALID_DATA"),
    ],
)  # fmt: skip
def test_signed_put_validates_and_changes_nothing_when_invalid(sb, client, change, field, reason):
    invoice_id = first_with(sb, unpaid_with_lines(1))
    before = sb.invoice(invoice_id)
    body = update_request(before, before["orderInformation"]["lineItems"][:1])
    change(body)
    response = client.put(f"{sb.base_url}{LIST}/{invoice_id}", json=body, timeout=10)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["reason"]) == ("BADREQUEST", "VALIDATION_ERROR")
    assert answer["details"] == [{"field": field, "reason": reason}]
    assert sb.invoice(invoice_id) == before


def test_signed_put_is_refused_once_paid_and_404s_for_unknown_ids(sb, client):
    paid = first_with(sb, lambda inv: inv["status"] == "PAID")
    before = sb.invoice(paid)
    body = update_request(before, [])
    refused = client.put(f"{sb.base_url}{LIST}/{paid}", json=body, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["reason"] == "ACTION_NOT_ALLOWED"
    assert sb.invoice(paid) == before
    missing = client.put(f"{sb.base_url}{LIST}/nope", json=body, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["message"] == "Invoice does not exist."


def test_put_needs_a_digest_of_its_body(sb):
    invoice_id = first_with(sb, unpaid_with_lines(1))
    before = sb.invoice(invoice_id)

    class WrongDigest(requests.auth.AuthBase):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            request = auth_for(sb)(request)
            request.headers["Digest"] = "SHA-256=" + b64encode(b"\x00" * 32).decode()
            return request

    body = update_request(before, [])
    url = f"{sb.base_url}{LIST}/{invoice_id}"
    assert requests.put(url, json=body, auth=WrongDigest(), timeout=10).status_code == 401
    assert requests.put(url, json=body, timeout=10).status_code == 401
    assert sb.invoice(invoice_id) == before


# --- the tap after lines were removed --------------------------------------------------------


def test_the_next_run_emits_the_invoice_with_only_its_remaining_lines(sb):
    config = {**sb.tap_config(), "page_size": 25}
    invoice_id = first_with(sb, unpaid_with_lines(3))
    first = run_sync(config)
    assert len(lines_of(first, invoice_id)) >= 3
    kept = sb.invoice(invoice_id)["orderInformation"]["lineItems"][-1]
    sb.api.update(invoice_id, line_items=[kept])
    second = run_sync(config, state=first.state)
    assert invoice_id in second.ids()
    (line,) = lines_of(second, invoice_id)
    assert line["position"] == 0
    assert line["productName"] == kept["productName"]
    assert money(line["totalAmount"]) == money(kept["totalAmount"])
    (record,) = [r for r in second.records("invoices") if r["id"] == invoice_id]
    assert record["invoiceHistory"][0]["event"] == "UPDATE"


def lines_of(result: Any, invoice_id: str) -> list[dict]:
    """The line item records a run emitted for one invoice, less any it marked deleted."""
    return [
        record
        for record in result.records("invoice_line_items")
        if record["invoiceId"] == invoice_id and not record.get("_sdc_deleted_at")
    ]


def test_lines_removed_by_an_update_arrive_as_tombstones_on_the_next_run(sandbox, config):
    api = sandbox.api
    assert isinstance(api, CyberSourceEmulator)
    updatable = [
        i
        for i in sandbox.invoice_ids()
        if sandbox.invoice(i)["status"] in {"DRAFT", "CREATED", "SENT"}
        and len(sandbox.invoice(i)["orderInformation"].get("lineItems") or []) >= 3
    ]
    invoice_id = updatable[0]
    lines = sandbox.invoice(invoice_id)["orderInformation"]["lineItems"]
    first = run_sync(config)
    api.update(invoice_id, line_items=lines[:1])
    second = run_sync(config, state=first.state)
    gone = second.tombstones("invoice_line_items")
    assert sorted((t["invoiceId"], t["position"]) for t in gone) == [
        (invoice_id, position) for position in range(1, len(lines))
    ]
    assert all(set(t) == {"invoiceId", "position", "_sdc_deleted_at"} for t in gone)
    live = second.records("invoice_line_items")
    assert [r["position"] for r in live if r["invoiceId"] == invoice_id] == [0]
    remembered = second.state["bookmarks"]["invoices"]["remembered"]
    counts = dict(zip(remembered["streams"], remembered["invoices"][invoice_id], strict=True))
    assert counts["invoice_line_items"] == 1
