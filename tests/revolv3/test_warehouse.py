"""Revolv3 piped into the real MeltanoLabs target-postgres, loading a real PostgreSQL server.

The warehouse and its server are in tests/warehouse.py; here, what Revolv3's rows must hold:
every amount in a NUMERIC column with the API's own digits, children joining to their invoices,
the replication key as a timestamp, and incremental runs that upsert what changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from psycopg import sql

from tap_invoicing.sandbox import Sandbox
from tests.revolv3.conftest import FAST
from tests.warehouse import (
    Parts,
    Warehouse,
    assert_one_row_per_key,
    assert_warehouse_matches,
)

AWKWARD_AMOUNTS = {"12.050", "0.10", "1000000.00", "98765432109.99", "0"}
"""Amounts the seeded sandbox serves that a float or a fixed scale would change."""
CHILDREN = {"invoice_line_items": "invoiceLineItems", "invoice_attempts": "invoiceAttempts"}
"""Child stream -> the invoice's list it is read from."""
FLATTENING_DEPTH = 1
"""Every Revolv3 amount is a top-level field. One level deeper, paymentMethod's card and ACH
fields flatten to names over PostgreSQL's 63-byte identifier limit (e.g.
paymentMethod__paymentMethodAchDetails__accountNumberLast4Digits: 64 bytes), which PostgreSQL cuts
short and target-postgres 0.8.1 then tries to add again (DuplicateColumn)."""


@pytest.fixture
def big_revolv3() -> Iterator[Sandbox]:
    """~300 invoices listed as summaries, with every awkward amount among them."""
    with Sandbox(provider="revolv3", invoices=300, seed=31, rate_limits=()) as sandbox:
        yield sandbox


@pytest.fixture
def warehouse(warehouse: Warehouse) -> Warehouse:
    """The shared warehouse, flattened only as deep as Revolv3's tables can take."""
    return replace(warehouse, flattening_depth=FLATTENING_DEPTH)


def load(warehouse: Warehouse, sandbox: Sandbox, state: dict | None = None) -> dict:
    """One run at the fast rate (the sandbox's rate limits are off): seconds, not 20 s."""
    return warehouse.load(sandbox, state, max_requests_per_second=FAST)


def served_parts(sandbox: Sandbox) -> Parts:
    """The part of the API's detail each warehouse row comes from, by the row's primary key."""
    parts: Parts = {"invoices": {}, "invoice_line_items": {}, "invoice_attempts": {}}
    for invoice_id in sandbox.invoice_ids():
        invoice = sandbox.invoice(invoice_id)
        parts["invoices"][(invoice["invoiceId"],)] = invoice
        for item in invoice["invoiceLineItems"] or []:
            parts["invoice_line_items"][(item["invoiceLineItemId"],)] = item
        for attempt in invoice["invoiceAttempts"] or []:
            parts["invoice_attempts"][(attempt["invoiceAttemptId"],)] = attempt
    return parts


def with_status(sandbox: Sandbox, status: str) -> list[str]:
    return [i for i in sandbox.invoice_ids() if sandbox.invoice(i)["invoiceStatus"] == status]


def test_amounts_land_in_numeric_columns_with_the_apis_exact_digits(warehouse, big_revolv3):
    load(warehouse, big_revolv3)

    served = served_parts(big_revolv3)
    loaded = assert_warehouse_matches(warehouse, served)
    assert set(loaded) == {"invoices", "invoice_line_items", "invoice_attempts"}
    texts = {t for rows in loaded.values() for row in rows.values() for t in row.values() if t}
    assert texts >= AWKWARD_AMOUNTS, "awkward amounts to check"
    served_sum = sum(
        (attempt["amount"] for attempt in served["invoice_attempts"].values()), Decimal(0)
    )
    [(loaded_sum, attempts)] = warehouse.query(
        sql.SQL("SELECT sum(amount)::text, count(*) FROM {}").format(
            warehouse.table("invoice_attempts")
        )
    )
    assert (loaded_sum, attempts) == (str(served_sum), len(served["invoice_attempts"]))


def test_children_join_to_their_invoices_and_the_replication_key_is_a_timestamp(
    warehouse, big_revolv3
):
    load(warehouse, big_revolv3)

    details = [big_revolv3.invoice(invoice_id) for invoice_id in big_revolv3.invoice_ids()]
    for child, listed in CHILDREN.items():
        per_invoice = warehouse.children_per_parent("invoices", "invoiceId", child)
        assert per_invoice == {d["invoiceId"]: len(d[listed] or []) for d in details}, child
        assert warehouse.orphans("invoices", "invoiceId", child) == 0, child
    assert warehouse.column_types("invoices")["lastUpdateEndDate"].startswith("timestamp")
    [(missing,)] = warehouse.query(
        sql.SQL('SELECT count(*) FROM {} WHERE "lastUpdateEndDate" IS NULL').format(
            warehouse.table("invoices")
        )
    )
    assert missing == 0


def test_an_incremental_run_upserts_changed_invoices_without_duplicates(warehouse, big_revolv3):
    state = load(warehouse, big_revolv3)
    [(first_window_end,)] = warehouse.query(
        sql.SQL('SELECT max("lastUpdateEndDate") FROM {}').format(warehouse.table("invoices"))
    )
    pending = [
        i for i in with_status(big_revolv3, "Pending") if big_revolv3.invoice(i)["total"] > 0
    ]
    paid_after_failure, voided, edited = pending[:3]
    refunded = with_status(big_revolv3, "Paid")[0]
    big_revolv3.api.add_attempt(paid_after_failure, success=False)
    big_revolv3.api.pay(paid_after_failure)
    big_revolv3.api.void(voided)
    refund = big_revolv3.api.refund(refunded)
    line_item = big_revolv3.invoice(edited)["invoiceLineItems"][0]["invoiceLineItemId"]
    big_revolv3.api.edit_line_item(edited, str(line_item), value="1000000.00")
    created = big_revolv3.api.add(2)
    big_revolv3.clear_requests()

    load(warehouse, big_revolv3, state)

    assert len(big_revolv3.detail_requests()) < len(big_revolv3.invoice_ids()), "incremental"
    served = served_parts(big_revolv3)
    assert_one_row_per_key(warehouse, served)
    assert_warehouse_matches(warehouse, served)
    changed = [paid_after_failure, voided, refunded, refund, edited, *created]
    rows = warehouse.query(
        sql.SQL(
            'SELECT "invoiceId", "invoiceStatus", "parentInvoiceId", "lastUpdateEndDate"'
            ' FROM {} WHERE "invoiceId" = ANY(%s)'
        ).format(warehouse.table("invoices")),
        [int(invoice_id) for invoice_id in changed],
    )
    assert {str(row[0]): row[1:3] for row in rows} == {
        paid_after_failure: ("Paid", None),
        voided: ("Void", None),
        refunded: ("Paid", None),
        refund: ("Refund", int(refunded)),
        edited: ("Pending", None),
        **dict.fromkeys(created, ("Pending", None)),
    }
    assert all(row[3] > first_window_end for row in rows), "updated by the second run"
    attempts = warehouse.query(
        sql.SQL(
            'SELECT "invoiceAttemptId", "invoiceAttemptStatus" FROM {} WHERE "invoiceId" = %s'
        ).format(warehouse.table("invoice_attempts")),
        int(paid_after_failure),
    )
    served_attempts = big_revolv3.invoice(paid_after_failure)["invoiceAttempts"]
    assert dict(attempts) == {
        a["invoiceAttemptId"]: a["invoiceAttemptStatus"] for a in served_attempts
    }
    assert [a["invoiceAttemptStatus"] for a in served_attempts][-2:] == ["Fail", "Success"]
    [(value,)] = warehouse.query(
        sql.SQL('SELECT value::text FROM {} WHERE "invoiceLineItemId" = %s').format(
            warehouse.table("invoice_line_items")
        ),
        line_item,
    )
    assert value == "1000000.00"
