"""What the PayPal sandbox removes, as PayPal documents it: deleting a draft or scheduled
invoice, deleting a recorded (EXTERNAL) payment or refund, and the full update (PUT) that
replaces an invoice's items. Each is played through HTTP and through the sandbox's own methods,
and checked where a client sees it: the list, the search and the detail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from tap_invoicing.sandbox import ActionNotAllowedError, Fault, Sandbox
from tap_invoicing.sandbox.paypal.data import STATUSES
from tap_invoicing.sandbox.paypal.lifecycle import DELETABLE_STATUSES, REPLACEABLE_STATUSES
from tests.paypal.conftest import LIST_PATH, api_session, pages, with_status

EVERY_FIELD = ["items", "payments", "refunds", "additional_recipients_info", "attachments"]
VIA = ["http", "python"]
"""Each removal is played both ways: PayPal's endpoint, and the sandbox's own method."""


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(provider="paypal", invoices=120, seed=71) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[requests.Session]:
    with api_session(sb) as session:
        yield session


def url(sb: Sandbox, *parts: str) -> str:
    return "/".join((sb.base_url + LIST_PATH, *parts))


def detail(client: requests.Session, sb: Sandbox, invoice_id: str) -> requests.Response:
    return client.get(url(sb, invoice_id), timeout=10)


def error_of(response: requests.Response, status: int, name: str) -> dict[str, Any]:
    """A PayPal error body of this status and name; returns it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["name"] == name
    assert body["message"]
    assert response.headers["Paypal-Debug-Id"] == body["debug_id"]
    return body


def issues(response: requests.Response, status: int, name: str) -> list[str]:
    return [entry["issue"] for entry in error_of(response, status, name)["details"]]


def not_found(response: requests.Response, field: str, value: str) -> None:
    """404 RESOURCE_NOT_FOUND naming the path parameter."""
    body = error_of(response, 404, "RESOURCE_NOT_FOUND")
    assert [(e["field"], e["value"], e["issue"]) for e in body["details"]] == [
        (field, value, "INVALID_RESOURCE_ID")
    ]


def amount(money: dict[str, str]) -> Decimal:
    return Decimal(money["value"])


def recent(stamp: str) -> bool:
    """A ``last_update_time`` of the last few seconds."""
    now = datetime.now(UTC)
    return now - timedelta(seconds=5) <= datetime.fromisoformat(stamp) <= now


def last_update(invoice: dict[str, Any]) -> str:
    return str(invoice["detail"]["metadata"]["last_update_time"])


def rels(invoice: dict[str, Any]) -> set[str]:
    return {link["rel"] for link in invoice["links"]}


# --- deleting invoices -----------------------------------------------------------------------


def delete_invoice(via: str, sb: Sandbox, client: requests.Session, invoice_id: str) -> None:
    if via == "http":
        response = client.delete(url(sb, invoice_id), timeout=10)
        assert (response.status_code, response.content) == (204, b"")
    else:
        sb.api.delete_invoice(invoice_id)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("status", ["DRAFT", "SCHEDULED"])
def test_a_deleted_draft_or_scheduled_invoice_is_gone_from_list_search_and_detail(
    sb, client, via, status
):
    (invoice_id,) = sb.api.add(status=status)
    others = set(sb.invoice_ids()) - {invoice_id}
    assert invoice_id in pages(client, sb)
    delete_invoice(via, sb, client, invoice_id)
    not_found(detail(client, sb, invoice_id), "invoice_id", invoice_id)
    assert set(pages(client, sb)) == others
    assert set(pages(client, sb, {})) == others
    assert set(pages(client, sb, {"fields": EVERY_FIELD, "status": [status]})) == (
        set(with_status(sb, status))
    )
    assert invoice_id not in sb.invoice_ids()
    with pytest.raises(KeyError):
        sb.invoice(invoice_id)
    not_found(client.delete(url(sb, invoice_id), timeout=10), "invoice_id", invoice_id)
    with pytest.raises(KeyError):
        sb.api.delete_invoice(invoice_id)


def test_seeded_drafts_are_deleted_as_well(sb, client):
    drafts = with_status(sb, "DRAFT")
    assert drafts
    for draft in drafts:
        delete_invoice("http", sb, client, draft)
    assert not with_status(sb, "DRAFT")
    assert not set(drafts) & set(pages(client, sb))


def test_only_drafts_and_scheduled_invoices_can_be_deleted(sb, client):
    for status in sorted(set(STATUSES) - DELETABLE_STATUSES):
        (invoice_id,) = sb.api.add(status=status)
        before = sb.invoice(invoice_id)
        refused = client.delete(url(sb, invoice_id), timeout=10)
        assert issues(refused, 422, "UNPROCESSABLE_ENTITY") == ["CANNOT_DELETE_INVOICE"], status
        with pytest.raises(ActionNotAllowedError, match="only draft or scheduled"):
            sb.api.delete_invoice(invoice_id)
        assert sb.invoice(invoice_id) == before
        assert detail(client, sb, invoice_id).status_code == 200
    for unknown in ("INV2-AAAA-BBBB-CCCC-DDDD", "INV2-" + "X" * 40):
        not_found(client.delete(url(sb, unknown), timeout=10), "invoice_id", unknown)


def test_the_links_offer_delete_and_replace_where_they_are_allowed(sb):
    for status in STATUSES:
        (invoice_id,) = sb.api.add(status=status)
        offered = rels(sb.invoice(invoice_id))
        assert ("delete" in offered) == (status in DELETABLE_STATUSES), status
        assert ("replace" in offered) == (status in REPLACEABLE_STATUSES), status


# --- deleting recorded payments and refunds ---------------------------------------------------


def delete_transaction(
    via: str, sb: Sandbox, client: requests.Session, invoice_id: str, *, kind: str, tid: str
) -> None:
    """Delete a recorded payment (``kind`` "payments") or refund ("refunds")."""
    if via == "http":
        response = client.delete(url(sb, invoice_id, kind, tid), timeout=10)
        assert (response.status_code, response.content) == (204, b""), response.text
    elif kind == "payments":
        sb.api.delete_payment(invoice_id, tid)
    else:
        sb.api.delete_refund(invoice_id, tid)


def refused(
    via: str, sb: Sandbox, client: requests.Session, invoice_id: str, *, kind: str, tid: str
) -> str | None:
    """Try a deletion PayPal refuses: the 422's issue through HTTP; None through Python (after
    checking it raised ActionNotAllowedError)."""
    if via == "http":
        response = client.delete(url(sb, invoice_id, kind, tid), timeout=10)
        (issue,) = issues(response, 422, "UNPROCESSABLE_ENTITY")
        return issue
    method = sb.api.delete_payment if kind == "payments" else sb.api.delete_refund
    with pytest.raises(ActionNotAllowedError):
        method(invoice_id, tid)
    return None


def seen_everywhere(client: requests.Session, sb: Sandbox, invoice_id: str) -> dict[str, Any]:
    """The detail, after checking that the list's summary and the search's item (with every
    field) say the same of its status and amounts; the detail as served."""
    served = detail(client, sb, invoice_id).json()
    assert served == sb.invoice(invoice_id)
    summary = pages(client, sb)[invoice_id]
    created = served["detail"]["metadata"]["create_time"]
    window = {"creation_date_range": {"start": created, "end": created}}
    found = pages(client, sb, {**window, "fields": EVERY_FIELD})[invoice_id]
    for item in (summary, found):
        assert item["status"] == served["status"]
        assert item["due_amount"] == served["due_amount"]
        assert item["links"] == served["links"]
        for kind, total in (("payments", "paid_amount"), ("refunds", "refund_amount")):
            assert (kind in item) == (kind in served)
            if kind in served:
                assert item[kind][total] == served[kind][total]
    for kind in ("payments", "refunds"):
        assert found.get(kind) == served.get(kind)
    return served


@pytest.mark.parametrize("via", VIA)
def test_deleting_the_only_recorded_payment_reopens_a_marked_as_paid_invoice(sb, client, via):
    invoice_id = with_status(sb, "MARKED_AS_PAID")[0]
    before = sb.invoice(invoice_id)
    (payment_id,) = sb.api.external_payments(invoice_id)
    assert payment_id.startswith("EXTR-")
    assert before["payments"]["transactions"][0]["payment_id"] == payment_id
    delete_transaction(via, sb, client, invoice_id, kind="payments", tid=payment_id)
    after = seen_everywhere(client, sb, invoice_id)
    assert after["status"] == "SENT"
    assert "payments" not in after
    assert after["amount"] == before["amount"]
    assert after["due_amount"] == {**before["due_amount"], "value": before["amount"]["value"]}
    assert {"record-payment", "replace"} <= rels(after)
    assert last_update(after) > last_update(before)
    assert recent(last_update(after))
    assert sb.api.external_payments(invoice_id) == []
    not_found(
        client.delete(url(sb, invoice_id, "payments", payment_id), timeout=10),
        "transaction_id",
        payment_id,
    )
    with pytest.raises(KeyError):
        sb.api.delete_payment(invoice_id, payment_id)


@pytest.mark.parametrize("via", VIA)
def test_payments_deleted_one_by_one_take_an_unpaid_invoice_back_step_by_step(sb, client, via):
    invoice_id = usd_invoice(sb, "UNPAID")
    total = amount(sb.invoice(invoice_id)["amount"])
    first = sb.api.record_payment(invoice_id, "1.00")
    assert sb.invoice(invoice_id)["status"] == "PARTIALLY_PAID"
    second = sb.api.record_payment(invoice_id)
    assert sb.invoice(invoice_id)["status"] == "MARKED_AS_PAID"
    assert sb.api.external_payments(invoice_id) == [first, second]
    delete_transaction(via, sb, client, invoice_id, kind="payments", tid=second)
    partly = seen_everywhere(client, sb, invoice_id)
    assert partly["status"] == "PARTIALLY_PAID"
    assert amount(partly["payments"]["paid_amount"]) == Decimal("1.00")
    assert amount(partly["due_amount"]) == total - Decimal("1.00")
    assert [t["payment_id"] for t in partly["payments"]["transactions"]] == [first]
    delete_transaction(via, sb, client, invoice_id, kind="payments", tid=first)
    unpaid = seen_everywhere(client, sb, invoice_id)
    assert unpaid["status"] == "UNPAID"  # what it was before it was paid
    assert amount(unpaid["due_amount"]) == total


@pytest.mark.parametrize("via", VIA)
def test_a_paypal_payment_stays_when_the_recorded_one_beside_it_is_deleted(sb, client, via):
    invoice_id = usd_invoice(sb, "SENT")
    paypal_payment = sb.api.pay(invoice_id, "1.00")
    recorded = sb.api.record_payment(invoice_id)
    assert sb.invoice(invoice_id)["status"] == "MARKED_AS_PAID"
    issue = refused(via, sb, client, invoice_id, kind="payments", tid=paypal_payment)
    assert issue in {None, "CANNOT_DELETE_PAYPAL_PAYMENT"}
    delete_transaction(via, sb, client, invoice_id, kind="payments", tid=recorded)
    after = seen_everywhere(client, sb, invoice_id)
    assert after["status"] == "PARTIALLY_PAID"
    (left,) = after["payments"]["transactions"]
    assert (left["type"], left["payment_id"]) == ("PAYPAL", paypal_payment)
    assert after["payments"]["paid_amount"]["value"] == "1.00"


def test_seeded_open_invoices_hold_recorded_payments_that_can_be_deleted(sb, client):
    open_ones = [i for i in with_status(sb, "PARTIALLY_PAID") if sb.api.external_payments(i)]
    assert open_ones, "some PARTIALLY_PAID invoices were paid outside PayPal"
    invoice_id = open_ones[0]
    (payment_id,) = sb.api.external_payments(invoice_id)
    delete_transaction("http", sb, client, invoice_id, kind="payments", tid=payment_id)
    after = seen_everywhere(client, sb, invoice_id)
    assert after["status"] == "SENT"
    assert after["due_amount"]["value"] == after["amount"]["value"]


@pytest.mark.parametrize("via", VIA)
def test_a_recorded_refund_is_deleted_but_not_the_payment_it_refunds(sb, client, via):
    invoice_id = with_status(sb, "MARKED_AS_REFUNDED")[0]
    before = sb.invoice(invoice_id)
    (payment_id,) = sb.api.external_payments(invoice_id)
    (refund_id,) = sb.api.external_refunds(invoice_id)
    assert refund_id.startswith("EXTR-")
    issue = refused(via, sb, client, invoice_id, kind="payments", tid=payment_id)
    assert issue in {None, "CANNOT_DELETE_EXTERNAL_PAYMENT"}
    assert sb.invoice(invoice_id) == before
    delete_transaction(via, sb, client, invoice_id, kind="refunds", tid=refund_id)
    paid = seen_everywhere(client, sb, invoice_id)
    assert paid["status"] == "MARKED_AS_PAID"
    assert "refunds" not in paid
    assert paid["payments"] == before["payments"]
    assert amount(paid["due_amount"]) == 0
    assert recent(last_update(paid))
    delete_transaction(via, sb, client, invoice_id, kind="payments", tid=payment_id)
    assert seen_everywhere(client, sb, invoice_id)["status"] == "SENT"


@pytest.mark.parametrize("via", VIA)
def test_deleting_a_partial_recorded_refund_settles_the_refunded_amount(sb, client, via):
    invoice_id = usd_invoice(sb, "UNPAID")
    sb.api.record_payment(invoice_id)
    first = sb.api.record_refund(invoice_id, "1.00")
    second = sb.api.record_refund(invoice_id, "2.00")
    assert sb.invoice(invoice_id)["status"] == "PARTIALLY_REFUNDED"
    delete_transaction(via, sb, client, invoice_id, kind="refunds", tid=first)
    after = seen_everywhere(client, sb, invoice_id)
    assert after["status"] == "PARTIALLY_REFUNDED"
    assert after["refunds"]["refund_amount"]["value"] == "2.00"
    assert [t["refund_id"] for t in after["refunds"]["transactions"]] == [second]
    delete_transaction(via, sb, client, invoice_id, kind="refunds", tid=second)
    assert seen_everywhere(client, sb, invoice_id)["status"] == "MARKED_AS_PAID"


@pytest.mark.parametrize("via", VIA)
def test_paypal_refunds_and_unknown_transactions_cannot_be_deleted(sb, client, via):
    invoice_id = with_status(sb, "REFUNDED")[0]
    before = sb.invoice(invoice_id)
    (refund,) = before["refunds"]["transactions"]
    (payment,) = before["payments"]["transactions"]
    assert refund["type"] == payment["type"] == "PAYPAL"
    assert refused(via, sb, client, invoice_id, kind="refunds", tid=refund["refund_id"]) in {
        None,
        "CANNOT_DELETE_PAYPAL_REFUND",
    }
    assert refused(via, sb, client, invoice_id, kind="payments", tid=payment["payment_id"]) in {
        None,
        "CANNOT_DELETE_PAYPAL_PAYMENT",
    }
    assert sb.invoice(invoice_id) == before
    unknown = "EXTR-00000000000000000"
    for kind in ("payments", "refunds"):
        response = client.delete(url(sb, invoice_id, kind, unknown), timeout=10)
        not_found(response, "transaction_id", unknown)
        missing = client.delete(url(sb, "INV2-AAAA-BBBB-CCCC-DDDD", kind, unknown), timeout=10)
        not_found(missing, "invoice_id", "INV2-AAAA-BBBB-CCCC-DDDD")
    with pytest.raises(KeyError):
        sb.api.delete_refund(invoice_id, unknown)
    assert sb.invoice(invoice_id) == before


# --- the full update ------------------------------------------------------------------------

NEW_ITEMS = [
    {
        "name": "Consulting",
        "quantity": "2.5",
        "unit_amount": {"currency_code": "USD", "value": "80.00"},
        "tax": {"name": "VAT", "percent": "20"},
        "discount": {"percent": "10"},
        "unit_of_measure": "HOURS",
    },
    {
        "name": "Setup fee",
        "quantity": "1",
        "unit_amount": {"currency_code": "USD", "value": "19.99"},
        "discount": {"amount": {"currency_code": "USD", "value": "4.99"}},
    },
]
"""200.00 less 20.00 off, taxed 36.00 at 20%; 19.99 less 4.99: 231.00 in all."""


def usd_invoice(sb: Sandbox, status: str) -> str:
    """A new invoice of 10 USD or more, in ``status``, with neither shipping nor an invoice
    discount."""
    for _ in range(40):
        (invoice_id,) = sb.api.add(status=status)
        invoice = sb.invoice(invoice_id)
        breakdown = invoice["amount"]["breakdown"]
        usd = invoice["detail"]["currency_code"] == "USD" and amount(invoice["amount"]) >= 10
        plain = set(breakdown) <= {"item_total", "tax_total", "discount"}
        if usd and plain and "invoice_discount" not in breakdown.get("discount", {}):
            return invoice_id
    raise AssertionError("no plain USD invoice among 40")


def put(
    client: requests.Session, sb: Sandbox, invoice_id: str, body: Any, **params: str
) -> requests.Response:
    return client.put(url(sb, invoice_id), json=body, params=params, timeout=10)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("status", ["DRAFT", "SENT"])
def test_a_full_update_replaces_the_items_and_prices_them_anew(sb, client, via, status):
    invoice_id = usd_invoice(sb, status)
    before = sb.invoice(invoice_id)
    body = {**before, "items": NEW_ITEMS}
    body["detail"] = {**before["detail"], "memo": "replaced"}
    if via == "http":
        response = put(client, sb, invoice_id, body, send_to_recipient="false")
        assert response.status_code == 200, response.text
        assert response.json() == sb.invoice(invoice_id)
    else:
        sb.api.update_invoice(invoice_id, body)
    after = seen_everywhere(client, sb, invoice_id)
    assert [item["name"] for item in after["items"]] == ["Consulting", "Setup fee"]
    consulting, fee = after["items"]
    assert consulting["discount"] == {
        "percent": "10",
        "amount": {"currency_code": "USD", "value": "20.00"},
    }
    assert consulting["tax"]["amount"] == {"currency_code": "USD", "value": "36.00"}
    assert fee["discount"]["amount"]["value"] == "4.99"
    assert after["amount"]["value"] == "231.00"
    assert after["amount"]["breakdown"] == {
        "item_total": {"currency_code": "USD", "value": "219.99"},
        "discount": {"item_discount": {"currency_code": "USD", "value": "-24.99"}},
        "tax_total": {"currency_code": "USD", "value": "36.00"},
    }
    assert after["due_amount"] == {"currency_code": "USD", "value": "231.00"}
    assert after["status"] == status
    assert after["detail"]["memo"] == "replaced"
    assert after["id"] == invoice_id
    assert after["invoicer"] == before["invoicer"]
    assert last_update(after) >= last_update(before)
    assert recent(last_update(after))
    created = after["detail"]["metadata"]["create_time"]
    window = {"creation_date_range": {"start": created, "end": created}, "fields": ["items"]}
    assert pages(client, sb, window)[invoice_id]["items"] == after["items"]
    assert pages(client, sb)[invoice_id]["amount"] == {"currency_code": "USD", "value": "231.00"}


def test_replace_items_keeps_the_rest_and_works_the_invoice_discount_out_anew(sb):
    invoice_id = usd_invoice(sb, "DRAFT")
    body = sb.invoice(invoice_id)
    body["amount"]["breakdown"]["discount"] = {"invoice_discount": {"percent": "5"}}
    sb.api.update_invoice(invoice_id, body)
    before = sb.invoice(invoice_id)
    sb.api.replace_items(invoice_id, NEW_ITEMS)
    after = sb.invoice(invoice_id)
    assert {
        k: v for k, v in after.items() if k not in {"items", "amount", "due_amount", "detail"}
    } == {k: v for k, v in before.items() if k not in {"items", "amount", "due_amount", "detail"}}
    assert after["amount"]["breakdown"]["discount"]["invoice_discount"] == {
        "percent": "5",
        "amount": {"currency_code": "USD", "value": "-9.75"},  # 5% of 219.99 - 24.99
    }
    assert after["amount"]["value"] == "221.25"
    assert after["due_amount"]["value"] == "221.25"


def test_putting_back_an_invoice_as_served_changes_nothing_but_its_update_time(sb, client):
    replaceable = with_status(sb, *REPLACEABLE_STATUSES)
    assert len(replaceable) > 20
    for invoice_id in replaceable:
        before = sb.invoice(invoice_id)
        response = put(client, sb, invoice_id, before)
        assert response.status_code == 200, response.text
        after = response.json()
        assert recent(last_update(after))
        for invoice in (before, after):
            del invoice["detail"]["metadata"]["last_update_time"]
        assert after == before, invoice_id


@pytest.mark.parametrize("via", VIA)
def test_invoices_past_updating_and_another_invoicer_are_refused(sb, client, via):
    for status in sorted(set(STATUSES) - REPLACEABLE_STATUSES):
        (invoice_id,) = sb.api.add(status=status)
        before = sb.invoice(invoice_id)
        body = {**before, "items": NEW_ITEMS[:1]}
        body["detail"] = {**before["detail"], "currency_code": "USD"}
        if via == "http":
            response = put(client, sb, invoice_id, body)
            assert issues(response, 422, "UNPROCESSABLE_ENTITY") == ["CANNOT_UPDATE_INVOICE"]
        else:
            with pytest.raises(ActionNotAllowedError, match="cannot update"):
                sb.api.update_invoice(invoice_id, body)
        assert sb.invoice(invoice_id) == before, status
    invoice_id = usd_invoice(sb, "SENT")
    body = sb.invoice(invoice_id)
    body["invoicer"] = {**body["invoicer"], "email_address": "someone-else@example.com"}
    if via == "http":
        response = put(client, sb, invoice_id, body)
        assert issues(response, 422, "UNPROCESSABLE_ENTITY") == ["USER_NOT_FOUND"]
    else:
        with pytest.raises(ActionNotAllowedError, match="not the account's"):
            sb.api.update_invoice(invoice_id, body)


def test_a_body_paypal_schema_refuses_is_a_400_naming_each_problem(sb, client):
    invoice_id = usd_invoice(sb, "DRAFT")
    before = sb.invoice(invoice_id)
    good_item = NEW_ITEMS[1]
    body = {
        **before,
        "id": "INV2-AAAA-BBBB-CCCC-DDDD",
        "items": [
            {"quantity": "1", "unit_amount": good_item["unit_amount"]},
            {**good_item, "quantity": "1.123456"},
            {**good_item, "unit_amount": {"currency_code": "EUR", "value": "1.00"}},
            {**good_item, "unit_amount": {"currency_code": "USD", "value": "1.001"}},
            {**good_item, "tax": {"name": "VAT"}},
            {**good_item, "unit_of_measure": "LITRES"},
            "an item",
        ],
    }
    response = put(client, sb, invoice_id, body, send_to_invoicer="maybe")
    body = error_of(response, 400, "INVALID_REQUEST")
    assert [(e["field"], e["issue"]) for e in body["details"]] == [
        ("send_to_invoicer", "INVALID_PARAMETER_SYNTAX"),
        ("/id", "INVALID_PARAMETER_VALUE"),
        ("/items/0/name", "MISSING_REQUIRED_PARAMETER"),
        ("/items/1/quantity", "INVALID_PARAMETER_VALUE"),
        ("/items/2/unit_amount/currency_code", "INVALID_PARAMETER_VALUE"),
        ("/items/3/unit_amount/value", "INVALID_PARAMETER_VALUE"),
        ("/items/4/tax/percent", "MISSING_REQUIRED_PARAMETER"),
        ("/items/5/unit_of_measure", "INVALID_PARAMETER_SYNTAX"),
        ("/items/6", "INVALID_PARAMETER_SYNTAX"),
    ]
    for bad, expected in (
        ({"items": []}, [("/detail", "MISSING_REQUIRED_PARAMETER")]),
        ({"detail": {}, "items": []}, [("/detail/currency_code", "MISSING_REQUIRED_PARAMETER")]),
        ({"detail": before["detail"]}, [("/items", "MISSING_REQUIRED_PARAMETER")]),
        ({"detail": before["detail"], "items": {}}, [("/items", "INVALID_PARAMETER_SYNTAX")]),
        (
            {"detail": before["detail"], "items": [good_item] * 101},
            [("/items", "INVALID_ARRAY_MAX_ITEMS")],
        ),
        ([], [("/", "MALFORMED_REQUEST_JSON")]),
    ):
        refused_body = error_of(put(client, sb, invoice_id, bad), 400, "INVALID_REQUEST")
        assert [(e["field"], e["issue"]) for e in refused_body["details"]] == expected, bad
    malformed = client.put(url(sb, invoice_id), data=b"{not json", timeout=10)
    assert issues(malformed, 400, "INVALID_REQUEST") == ["MALFORMED_REQUEST_JSON"]
    with pytest.raises(ValueError, match="MISSING_REQUIRED_PARAMETER") as invalid:
        sb.api.update_invoice(invoice_id, {"detail": before["detail"]})
    assert invalid.value.details[0]["field"] == "/items"
    assert sb.invoice(invoice_id) == before
    unknown = "INV2-AAAA-BBBB-CCCC-DDDD"
    not_found(put(client, sb, unknown, before), "invoice_id", unknown)
    with pytest.raises(KeyError):
        sb.api.update_invoice(unknown, {**before, "id": unknown})


def test_a_minimal_full_update_leaves_out_what_it_does_not_say(sb, client):
    invoice_id = usd_invoice(sb, "SENT")
    before = sb.invoice(invoice_id)
    minimal = {"detail": {"currency_code": "USD"}, "items": NEW_ITEMS[1:]}
    response = put(client, sb, invoice_id, minimal)
    assert response.status_code == 200, response.text
    after = seen_everywhere(client, sb, invoice_id)
    assert "primary_recipients" not in after and "configuration" not in after
    assert after["invoicer"]["email_address"] == before["invoicer"]["email_address"]
    assert after["detail"]["metadata"]["create_time"] == before["detail"]["metadata"]["create_time"]
    assert after["amount"]["value"] == after["due_amount"]["value"] == "15.00"


# --- through the sandbox's machinery --------------------------------------------------------


def test_removals_need_a_token_and_meet_the_faults_like_any_request(sb, client):
    draft = with_status(sb, "DRAFT")[0]
    marked = with_status(sb, "MARKED_AS_PAID")[0]
    (payment_id,) = sb.api.external_payments(marked)
    for method, path in (
        ("DELETE", url(sb, draft)),
        ("PUT", url(sb, draft)),
        ("DELETE", url(sb, marked, "payments", payment_id)),
        ("DELETE", url(sb, marked, "refunds", payment_id)),
    ):
        response = requests.request(method, path, json={}, timeout=10)
        assert response.status_code == 401
        assert response.json()["name"] == "AUTHENTICATION_FAILURE"
    assert client.get(url(sb, marked, "payments", payment_id), timeout=10).status_code == 405
    sb.inject(Fault(kind="status", status=503, method="DELETE", path_prefix=LIST_PATH))
    error_of(client.delete(url(sb, draft), timeout=10), 503, "SERVICE_UNAVAILABLE")
    assert draft in sb.invoice_ids()
    sb.clear_requests()
    delete_invoice("http", sb, client, draft)
    delete_transaction("http", sb, client, marked, kind="payments", tid=payment_id)
    (sent,) = sb.api.add(status="SENT")
    assert put(client, sb, sent, sb.invoice(sent)).status_code == 200
    assert [(r.method, r.kind, r.invoice_id) for r in sb.requests] == [
        ("DELETE", "other", draft),
        ("DELETE", "other", marked),
        ("PUT", "other", sent),
    ]
    assert sb.detail_requests() == []
