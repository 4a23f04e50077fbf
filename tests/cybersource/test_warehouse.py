"""CyberSource piped into the real MeltanoLabs target-postgres, loading a real PostgreSQL server.

The warehouse and its server are in tests/warehouse.py; here, what CyberSource's rows must hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from psycopg import sql

from tap_invoicing.sandbox import Sandbox
from tests.conftest import invoices_with_status
from tests.warehouse import Parts, assert_one_row_per_key, assert_warehouse_matches


@pytest.fixture
def big_sandbox() -> Iterator[Sandbox]:
    """Enough invoices for the awkward amounts: 12.050, 0.3333, numeric strings, huge totals."""
    with Sandbox(provider="cybersource", invoices=300, seed=1) as sandbox:
        yield sandbox


def served_parts(sandbox: Sandbox) -> Parts:
    """The part of the API's detail each warehouse row comes from, by the row's primary key."""
    parts: Parts = {"invoices": {}, "invoice_line_items": {}, "invoice_history": {}}
    for invoice_id in sandbox.invoice_ids():
        invoice = sandbox.invoice(invoice_id)
        parts["invoices"][(invoice_id,)] = invoice
        for position, item in enumerate(invoice.get("orderInformation", {}).get("lineItems", [])):
            parts["invoice_line_items"][(invoice_id, position)] = item
        for sequence, event in enumerate(reversed(invoice["invoiceHistory"]), start=1):
            parts["invoice_history"][(invoice_id, sequence)] = event
    return parts


def balance(sandbox: Sandbox, invoice_id: str) -> Decimal:
    return Decimal(
        str(sandbox.invoice(invoice_id)["orderInformation"]["amountDetails"]["balanceAmount"])
    )


def test_amounts_land_in_numeric_columns_with_the_apis_exact_digits(warehouse, big_sandbox):
    warehouse.load(big_sandbox)

    loaded = assert_warehouse_matches(warehouse, served_parts(big_sandbox))
    texts = [t for rows in loaded.values() for row in rows.values() for t in row.values() if t]
    assert {"12.050", "0.3333", "1000000.00", "98765432109.99"} <= set(texts), (
        "awkward amounts to check"
    )
    line_items = served_parts(big_sandbox)["invoice_line_items"].values()
    assert any(isinstance(item["totalAmount"], str) for item in line_items), "numeric strings"
    served_total = sum((Decimal(str(item["totalAmount"])) for item in line_items), Decimal(0))
    [(warehouse_total,)] = warehouse.query(
        sql.SQL('SELECT sum("totalAmount")::text FROM {}').format(
            warehouse.table("invoice_line_items")
        )
    )
    assert warehouse_total == str(served_total)


def test_line_items_join_to_their_invoices(warehouse, big_sandbox):
    warehouse.load(big_sandbox)

    assert warehouse.children_per_parent("invoices", "id", "invoice_line_items") == {
        invoice_id: len(
            big_sandbox.invoice(invoice_id).get("orderInformation", {}).get("lineItems", [])
        )
        for invoice_id in big_sandbox.invoice_ids()
    }
    assert warehouse.orphans("invoices", "id", "invoice_line_items") == 0


def test_an_incremental_run_upserts_changed_invoices_without_duplicates(warehouse, big_sandbox):
    state = warehouse.load(big_sandbox)
    sent = [
        invoice_id
        for invoice_id in invoices_with_status(big_sandbox, "SENT")
        if balance(big_sandbox, invoice_id) > 1
    ]
    paid, partly_paid, cancelled, updated = sent[:4]
    big_sandbox.api.pay(paid)
    big_sandbox.api.pay(partly_paid, amount="0.01")
    big_sandbox.api.cancel(cancelled)
    big_sandbox.api.update(updated, description="Changed after the first load")
    created = big_sandbox.api.add(2)
    big_sandbox.clear_requests()

    warehouse.load(big_sandbox, state)

    assert len(big_sandbox.detail_requests()) < len(big_sandbox.invoice_ids()), "incremental"
    served = served_parts(big_sandbox)
    assert_one_row_per_key(warehouse, served)
    assert_warehouse_matches(warehouse, served)
    statuses = dict(
        warehouse.query(
            sql.SQL("SELECT id, status FROM {} WHERE id = ANY(%s)").format(
                warehouse.table("invoices")
            ),
            [paid, partly_paid, cancelled, *created],
        )
    )
    assert statuses == {
        paid: "PAID",
        partly_paid: "PARTIAL",
        cancelled: "CANCELED",
        **dict.fromkeys(created, "SENT"),
    }
    [(description,)] = warehouse.query(
        sql.SQL('SELECT "invoiceInformation__description" FROM {} WHERE id = %s').format(
            warehouse.table("invoices")
        ),
        updated,
    )
    assert description == "Changed after the first load"
