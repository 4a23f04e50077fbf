"""A lifetime of PayPal runs loaded through the real target-postgres: after every round of
ordinary churn and removals (deleted drafts, deleted recorded payments, items replaced), the
warehouse's live rows are exactly what the API serves. A settled invoice losing a recorded
payment or refund is the one removal the state does not cover: the query the README gives for
it is exact, and tested here."""

from __future__ import annotations

from psycopg import sql

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.paypal import PayPalEmulator
from tests.paypal.conftest import with_status
from tests.paypal.test_warehouse import served_parts, warehouse  # noqa: F401  (the fixture)
from tests.warehouse import KilledFirstPass, Warehouse, assert_live_rows_follow_the_api, day

UPDATABLE = ("DRAFT", "SCHEDULED", "SENT", "UNPAID")


def emulator(sandbox: Sandbox) -> PayPalEmulator:
    api = sandbox.api
    assert isinstance(api, PayPalEmulator)
    return api


def payable(sandbox: Sandbox) -> list[str]:
    """Sent invoices with more than a few dollars due."""
    return [
        invoice_id
        for invoice_id in with_status(sandbox, "SENT", "UNPAID")
        if float(sandbox.invoice(invoice_id)["due_amount"]["value"]) > 5
    ]


def churn(sandbox: Sandbox) -> None:
    """What an ordinary day brings: payments through PayPal and recorded ones, a refund, a
    draft sent, new invoices."""
    api = emulator(sandbox)
    api.add(2, status="SENT")
    api.pay(payable(sandbox)[0])
    api.record_payment(payable(sandbox)[-1], "1.00")
    api.refund(with_status(sandbox, "PAID")[0], "2.50")
    api.send(with_status(sandbox, "DRAFT")[0])
    api.add(2, status="DRAFT")


def a_draft_deleted(sandbox: Sandbox) -> None:
    """DELETE of a draft (or a scheduled invoice): gone from the list, the search, the detail."""
    emulator(sandbox).delete_invoice(with_status(sandbox, "DRAFT", "SCHEDULED")[-1])


def fewer_items(sandbox: Sandbox) -> None:
    """A full update that replaces an open invoice's items with fewer."""
    for invoice_id in with_status(sandbox, *UPDATABLE):
        items = sandbox.invoice(invoice_id).get("items") or []
        if len(items) >= 2:
            emulator(sandbox).replace_items(invoice_id, items[:1])
            return
    raise AssertionError("no updatable invoice with two items")


def a_recorded_payment_deleted(sandbox: Sandbox) -> None:
    """A recorded payment the last run loaded deleted from an invoice still open (partly
    paid)."""
    api = emulator(sandbox)
    for invoice_id in with_status(sandbox, "PARTIALLY_PAID", "SENT", "UNPAID"):
        recorded = api.external_payments(invoice_id)
        if recorded:
            api.delete_payment(invoice_id, recorded[-1])
            return
    raise AssertionError("no open invoice with a recorded payment")


def test_the_live_rows_equal_the_api_after_every_round_of_churn_and_removals(
    warehouse: Warehouse,  # noqa: F811  (the module's fixture, flattened as PayPal needs)
) -> None:
    with Sandbox(provider="paypal", invoices=60, seed=33) as sandbox:
        assert_live_rows_follow_the_api(
            warehouse,
            sandbox,
            served_parts,
            [
                day(churn, a_draft_deleted),
                day(a_recorded_payment_deleted, churn, fewer_items),
                day(a_recorded_payment_deleted, a_draft_deleted, churn),
                day(fewer_items, churn),
            ],
            killed=KilledFirstPass(latency=0.4, after=4, meanwhile=day(churn, a_draft_deleted)),
        )
        deleted = {stream: warehouse.key_counts(stream)[2] for stream in warehouse.streams}
        assert deleted["invoices"] >= 2, deleted
        assert deleted["invoice_line_items"] >= 2, deleted
        assert deleted["invoice_payments"] >= 1, deleted


CURRENT_PAYMENTS = """
SELECT p."invoiceId", p."transactionKey"
FROM {payments} p
JOIN {invoices} i ON i.id = p."invoiceId" AND i."_sdc_extracted_at" = p."_sdc_extracted_at"
WHERE p."_sdc_deleted_at" IS NULL AND i."_sdc_deleted_at" IS NULL
"""
"""The README's exact query for the current rows of a child stream: the rows written with
their invoice's latest read."""


def test_a_settled_invoice_losing_a_recorded_payment_is_exact_through_the_extracted_at_join(
    warehouse: Warehouse,  # noqa: F811
) -> None:
    with Sandbox(provider="paypal", invoices=40, seed=34) as sandbox:
        api = emulator(sandbox)
        marked = payable(sandbox)[0]
        due = sandbox.invoice(marked)["due_amount"]["value"]
        payment = api.record_payment(marked, due)
        assert sandbox.invoice(marked)["status"] == "MARKED_AS_PAID"
        state = warehouse.load(sandbox)
        api.delete_payment(marked, payment)
        warehouse.load(sandbox, state)

        served = served_parts(sandbox)["invoice_payments"]
        naive = warehouse.as_text("invoice_payments", [], live_only=True)
        assert (marked, payment) in naive, "not covered by tombstones: the row looks live"
        exact = warehouse.query(
            sql.SQL(CURRENT_PAYMENTS).format(
                payments=warehouse.table("invoice_payments"),
                invoices=warehouse.table("invoices"),
            )
        )
        assert set(exact) == set(served)
