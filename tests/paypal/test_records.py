"""A full PayPal sync: every invoice, line item, payment and refund, schema-valid and exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft7Validator

from tap_invoicing.providers.paypal.api import payment_keys, refund_keys
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import run_sync
from tests.paypal.conftest import invoice_ids, token_requests

STREAMS = {"invoices", "invoice_line_items", "invoice_payments", "invoice_refunds"}


def money(value: dict | None) -> Decimal | None:
    return None if value is None else Decimal(str(value["value"]))


def test_discovery_shows_the_paypal_streams_and_their_keys(paypal_config):
    catalog = TapInvoicing(config=paypal_config).catalog_dict
    keys = {e["tap_stream_id"]: list(e["key_properties"]) for e in catalog["streams"]}
    assert keys == {
        "invoices": ["id"],
        "invoice_line_items": ["invoiceId", "position"],
        "invoice_payments": ["invoiceId", "transactionKey"],
        "invoice_refunds": ["invoiceId", "transactionKey"],
    }


def test_every_invoice_once_with_exact_amounts_and_one_token(paypal, paypal_config):
    result = run_sync(paypal_config)
    assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
    assert sorted(paypal.detail_requests()) == sorted(paypal.invoice_ids())
    assert token_requests(paypal) == 1
    for record in result.records("invoices"):
        served = paypal.invoice(record["id"])
        assert record["status"] == served["status"]
        assert record["amount"]["value"] == Decimal(served["amount"]["value"])
        assert str(record["amount"]["value"]) == served["amount"]["value"]  # the same digits
        assert record["due_amount"]["value"] == money(served.get("due_amount"))
        assert record["last_update_time"] == served["detail"]["metadata"].get(
            "last_update_time", served["detail"]["metadata"].get("create_time")
        )


def by_key(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["invoiceId"], r["transactionKey"]): r for r in records}


def test_children_match_the_api_exactly(paypal, paypal_config):
    result = run_sync(paypal_config)
    details = {i: paypal.invoice(i) for i in paypal.invoice_ids()}
    items = {(r["invoiceId"], r["position"]): r for r in result.records("invoice_line_items")}
    payments = {
        (r["invoiceId"], r["transactionKey"]): r for r in result.records("invoice_payments")
    }
    refunds = {(r["invoiceId"], r["transactionKey"]): r for r in result.records("invoice_refunds")}
    expected_items, expected_payments, expected_refunds = {}, {}, {}
    for invoice_id, detail in details.items():
        for position, item in enumerate(detail.get("items") or []):
            expected_items[(invoice_id, position)] = item
        transactions = (detail.get("payments") or {}).get("transactions") or []
        for key, payment in zip(payment_keys(transactions), transactions, strict=True):
            expected_payments[(invoice_id, key)] = payment
        transactions = (detail.get("refunds") or {}).get("transactions") or []
        for key, refund in zip(refund_keys(transactions), transactions, strict=True):
            expected_refunds[(invoice_id, key)] = refund
    assert set(items) == set(expected_items)
    assert set(payments) == set(expected_payments) and expected_payments
    assert set(refunds) == set(expected_refunds) and expected_refunds
    for key, item in expected_items.items():
        assert items[key]["quantity"] == Decimal(item["quantity"])
        assert items[key]["unit_amount"]["value"] == Decimal(item["unit_amount"]["value"])
    for key, payment in expected_payments.items():
        assert payments[key]["amount"]["value"] == money(payment.get("amount"))
        assert payments[key]["method"] == payment["method"]
    for key, refund in expected_refunds.items():
        assert refunds[key]["amount"]["value"] == money(refund.get("amount"))


def test_every_record_is_valid_against_its_schema(paypal_config):
    result = run_sync(paypal_config)
    assert set(result.schemas()) == STREAMS
    for stream, message in result.schemas().items():
        validator = Draft7Validator(
            message["schema"], format_checker=Draft7Validator.FORMAT_CHECKER
        )
        for record in result.records(stream):
            validator.validate(record)


def test_fields_the_spec_does_not_define_are_kept(paypal, paypal_config):
    result = run_sync(paypal_config)
    for record in result.records("invoices"):
        served = paypal.invoice(record["id"])
        kept = set(record) - {"last_update_time", "extraFields"} | set(record["extraFields"] or {})
        assert kept == set(served)
        assert set(record["detail"]) == set(served["detail"])


@pytest.mark.parametrize("shape", ["summary", "full"])
def test_whole_invoices_in_the_list_need_no_detail_request(shape):
    with Sandbox(provider="paypal", invoices=60, seed=42, list_shape=shape) as sandbox:
        result = run_sync(sandbox.tap_config())
        assert sorted(invoice_ids(result)) == sorted(sandbox.invoice_ids())
        expected = [] if shape == "full" else sorted(sandbox.invoice_ids())
        assert sorted(sandbox.detail_requests()) == expected
