"""PayPal piped into the real MeltanoLabs target-postgres, loading a real PostgreSQL server:
every amount (a decimal string at PayPal) in a NUMERIC column with the API's digits, and an
incremental run after a refund on a paid invoice that upserts what changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from psycopg import sql

from tap_invoicing.providers.paypal.api import payment_keys, refund_keys
from tap_invoicing.sandbox import Sandbox
from tests.paypal.conftest import with_status
from tests.warehouse import Parts, Warehouse, assert_one_row_per_key, assert_warehouse_matches

FLATTENING_DEPTH = 2
"""Deep enough for every money value of the children (``tax__amount__value``) to get a column;
deeper, PayPal's breakdown names pass PostgreSQL's 63-byte identifiers."""


@pytest.fixture
def big_paypal() -> Iterator[Sandbox]:
    with Sandbox(provider="paypal", invoices=250, seed=51) as sandbox:
        yield sandbox


@pytest.fixture
def warehouse(warehouse: Warehouse) -> Warehouse:
    return replace(warehouse, flattening_depth=FLATTENING_DEPTH)


def served_parts(sandbox: Sandbox) -> Parts:
    """The part of the API's detail each warehouse row comes from, by the row's primary key."""
    parts: Parts = {
        "invoices": {},
        "invoice_line_items": {},
        "invoice_payments": {},
        "invoice_refunds": {},
    }
    for invoice_id in sandbox.invoice_ids():
        invoice = sandbox.invoice(invoice_id)
        parts["invoices"][(invoice_id,)] = invoice
        for position, item in enumerate(invoice.get("items") or []):
            parts["invoice_line_items"][(invoice_id, position)] = item
        for stream, field, keys in (
            ("invoice_payments", "payments", payment_keys),
            ("invoice_refunds", "refunds", refund_keys),
        ):
            transactions = (invoice.get(field) or {}).get("transactions") or []
            for key, transaction in zip(keys(transactions), transactions, strict=True):
                parts[stream][(invoice_id, key)] = transaction
    return parts


def test_amounts_land_in_numeric_columns_with_the_apis_exact_digits(warehouse, big_paypal):
    warehouse.load(big_paypal)
    loaded = assert_warehouse_matches(warehouse, served_parts(big_paypal))
    texts = {t for rows in loaded.values() for row in rows.values() for t in row.values() if t}
    assert {"0.00", "1000000.00"} <= texts, "awkward amounts to check"


def test_an_incremental_run_after_a_refund_upserts_without_duplicates(warehouse, big_paypal):
    state = warehouse.load(big_paypal)
    refunded = with_status(big_paypal, "PAID")[0]
    big_paypal.api.refund(refunded)
    paid = with_status(big_paypal, "SENT", "UNPAID")[0]
    big_paypal.api.pay(paid)
    big_paypal.clear_requests()

    warehouse.load(big_paypal, state)

    assert len(big_paypal.detail_requests()) < len(big_paypal.invoice_ids()), "incremental"
    served = served_parts(big_paypal)
    assert_one_row_per_key(warehouse, served)
    assert_warehouse_matches(warehouse, served)
    statuses = dict(
        warehouse.query(
            sql.SQL("SELECT id, status FROM {} WHERE id = ANY(%s)").format(
                warehouse.table("invoices")
            ),
            [refunded, paid],
        )
    )
    assert statuses == {refunded: big_paypal.invoice(refunded)["status"], paid: "PAID"}
