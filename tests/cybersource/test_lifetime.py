"""A lifetime of CyberSource runs loaded through the real target-postgres: after every round of
ordinary churn and removals, the warehouse's live rows are exactly what the API serves."""

from __future__ import annotations

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.cybersource import CyberSourceEmulator
from tests.conftest import invoices_with_status
from tests.cybersource.test_warehouse import served_parts
from tests.warehouse import KilledFirstPass, Warehouse, assert_live_rows_follow_the_api, day


def emulator(sandbox: Sandbox) -> CyberSourceEmulator:
    api = sandbox.api
    assert isinstance(api, CyberSourceEmulator)
    return api


def open_with_lines(sandbox: Sandbox, least: int) -> list[str]:
    """Unpaid invoices (so updatable) with at least ``least`` line items."""
    return [
        invoice_id
        for invoice_id in invoices_with_status(sandbox, "DRAFT")
        + invoices_with_status(sandbox, "CREATED")
        + invoices_with_status(sandbox, "SENT")
        if len(lines_of(sandbox, invoice_id)) >= least
    ]


def lines_of(sandbox: Sandbox, invoice_id: str) -> list[dict]:
    return sandbox.invoice(invoice_id).get("orderInformation", {}).get("lineItems") or []


def churn(sandbox: Sandbox) -> None:
    """What an ordinary day brings: a payment, a cancellation, a reminder, new invoices."""
    api = emulator(sandbox)
    api.pay(invoices_with_status(sandbox, "SENT")[0])
    api.cancel(invoices_with_status(sandbox, "CREATED")[-1])
    api.remind(invoices_with_status(sandbox, "SENT")[-1])
    api.add(2, status="SENT")
    api.add(1, status="CREATED")
    api.add(1, status="DRAFT")


def fewer_lines(sandbox: Sandbox) -> None:
    """An update that replaces an open invoice's line items with fewer."""
    invoice_id = open_with_lines(sandbox, 2)[0]
    emulator(sandbox).update(invoice_id, line_items=lines_of(sandbox, invoice_id)[:1])


def more_lines_then_fewer(sandbox: Sandbox) -> None:
    """Lines added to one open invoice, all but one taken from another."""
    grown, shrunk = open_with_lines(sandbox, 2)[-2:]
    lines = lines_of(sandbox, grown)
    emulator(sandbox).update(grown, line_items=[*lines, *lines])
    emulator(sandbox).update(shrunk, line_items=lines_of(sandbox, shrunk)[-1:])


def an_open_invoice_vanishes(sandbox: Sandbox) -> None:
    """An open invoice the API stops serving: gone from the list, its detail a 404."""
    sandbox.api.delete(invoices_with_status(sandbox, "SENT")[-1])


def test_the_live_rows_equal_the_api_after_every_round_of_churn_and_removals(
    warehouse: Warehouse,
) -> None:
    with Sandbox(provider="cybersource", invoices=45, seed=32) as sandbox:
        state = assert_live_rows_follow_the_api(
            warehouse,
            sandbox,
            served_parts,
            [
                day(churn, fewer_lines),
                day(churn, an_open_invoice_vanishes),
                day(more_lines_then_fewer, churn),
                day(churn),
            ],
            killed=KilledFirstPass(latency=0.5, after=4, meanwhile=day(churn, fewer_lines)),
        )
        assert state["bookmarks"]["invoices"]["remembered"]["invoices"]
        deleted = warehouse.key_counts("invoice_line_items")[2]
        assert deleted >= 3, "removed line items arrived as tombstones"
