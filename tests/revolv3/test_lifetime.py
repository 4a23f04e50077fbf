"""A lifetime of Revolv3 runs loaded through the real target-postgres: after every round of
ordinary churn, the warehouse's live rows are exactly what the API serves. Revolv3's documented
API removes nothing from an invoice (a retry adds an attempt, a refund is an invoice of its own,
a void changes the status: see the README), so the rounds hold no removal."""

from __future__ import annotations

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.revolv3 import Revolv3Emulator
from tests.revolv3.conftest import FAST
from tests.revolv3.test_warehouse import served_parts, warehouse, with_status  # noqa: F401
from tests.warehouse import KilledFirstPass, Warehouse, assert_live_rows_follow_the_api, day


def emulator(sandbox: Sandbox) -> Revolv3Emulator:
    api = sandbox.api
    assert isinstance(api, Revolv3Emulator)
    return api


def churn(sandbox: Sandbox) -> None:
    """What an ordinary day brings: a failed attempt, one paid after failing, a void, a refund
    (an invoice of its own), new invoices."""
    api = emulator(sandbox)
    api.add(3)
    first, second, third = with_status(sandbox, "Pending")[:3]
    api.add_attempt(first, success=False)
    api.pay(second)
    api.void(third)
    api.refund(with_status(sandbox, "Paid")[0], "1.25")


def retried(sandbox: Sandbox) -> None:
    """Recycled invoices: two more attempts each."""
    api = emulator(sandbox)
    api.add(2)
    for invoice_id in with_status(sandbox, "Pending")[:2]:
        api.add_attempt(invoice_id, success=False)
        api.add_attempt(invoice_id, success=True)


def test_the_live_rows_equal_the_api_after_every_round_of_churn(
    warehouse: Warehouse,  # noqa: F811  (the module's fixture, flattened as Revolv3 needs)
) -> None:
    with Sandbox(provider="revolv3", invoices=50, seed=35, rate_limits=()) as sandbox:
        assert_live_rows_follow_the_api(
            warehouse,
            sandbox,
            served_parts,
            [day(churn), day(retried, churn), day(churn)],
            killed=KilledFirstPass(latency=0.4, after=4, meanwhile=day(retried, churn)),
            max_requests_per_second=FAST,
        )
