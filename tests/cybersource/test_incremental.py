"""Incremental runs: every change since the last run arrives, closed untouched ones cost nothing."""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

from tap_invoicing.sandbox import Fault, Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import CapturedStdout, catalog_selecting, exact, run_sync

CLOSED = {"PAID", "CANCELED"}


def status_of(sandbox: Sandbox, invoice_id: str) -> str:
    return sandbox.invoice(invoice_id)["status"]


def test_second_run_emits_every_change_and_reads_no_untouched_closed_invoice(sandbox, config):
    first = run_sync(config)
    ids = sandbox.invoice_ids()
    open_ids = [i for i in ids if status_of(sandbox, i) not in CLOSED]
    closed_ids = [i for i in ids if status_of(sandbox, i) in CLOSED]
    sent = [i for i in open_ids if status_of(sandbox, i) == "SENT"]
    assert len(sent) >= 5 and len(closed_ids) >= 10, "data set too small for this scenario"

    paid, partly_paid, cancelled, updated, reminded = sent[:5]
    sandbox.api.pay(paid)
    balance = Decimal(
        str(sandbox.invoice(partly_paid)["orderInformation"]["amountDetails"]["balanceAmount"])
    )
    sandbox.api.pay(partly_paid, amount=(balance / 3).quantize(Decimal("0.01")))
    sandbox.api.cancel(cancelled)
    sandbox.api.update(updated, description="Changed after the first run")
    sandbox.api.remind(reminded)
    created = sandbox.api.add(2)
    created_and_paid = sandbox.api.add(1)[0]
    sandbox.api.pay(created_and_paid)
    sandbox.clear_requests()

    second = run_sync(config, state=first.state)

    changed = {paid, partly_paid, cancelled, updated, reminded, *created, created_and_paid}
    assert changed <= set(second.ids())
    assert not set(sandbox.detail_requests()) & set(closed_ids)
    for invoice_id in changed:
        record = next(r for r in second.records("invoices") if r["id"] == invoice_id)
        served = sandbox.invoice(invoice_id)
        assert exact(record["invoiceHistory"]) == exact(served["invoiceHistory"])
        history = [r for r in second.records("invoice_history") if r["invoiceId"] == invoice_id]
        assert len(history) == len(served["invoiceHistory"])
    assert status_of(sandbox, paid) == "PAID"
    assert status_of(sandbox, partly_paid) == "PARTIAL"


def test_a_run_without_changes_reads_only_open_invoices(sandbox, config):
    first = run_sync(config)
    sandbox.clear_requests()
    second = run_sync(config, state=first.state)
    open_ids = {i for i in sandbox.invoice_ids() if status_of(sandbox, i) not in CLOSED}
    assert set(sandbox.detail_requests()) == open_ids
    assert set(second.ids()) == open_ids


def test_an_invoice_closed_between_runs_is_read_once_more_then_never(sandbox, config):
    first = run_sync(config)
    sent = next(i for i in sandbox.invoice_ids() if status_of(sandbox, i) == "SENT")
    sandbox.api.pay(sent)
    second = run_sync(config, state=first.state)
    assert sent in second.ids()
    sandbox.clear_requests()
    third = run_sync(config, state=second.state)
    assert sent not in third.ids()
    assert sent not in sandbox.detail_requests()


@pytest.mark.slow
def test_state_grows_with_the_open_invoices_only():
    """About 16 bytes of state per open invoice (its id and its rows' counts), nothing per
    closed one."""
    for count in (100, 2000):
        with Sandbox(provider="cybersource", invoices=count, seed=5) as sb:
            result = run_sync(sb.tap_config())
            assert len(result.ids()) == count
            still_open = sum(
                sb.invoice(i)["status"] not in {"PAID", "CANCELED"} for i in result.ids()
            )
            size = len(json.dumps(result.state))
            assert size <= 1500 + 20 * still_open, (count, still_open, size)


def test_state_is_written_a_few_times_not_once_per_invoice(sandbox, config):
    result = run_sync(config)
    assert len(result.ids()) == 60
    assert len(result.state_messages()) <= 4
    bookmark = result.state["bookmarks"]["invoices"]
    assert bookmark["replication_key"] == "submitTimeUtc"
    assert len(bookmark["head_invoice_ids"]) == 10
    for child in ("invoice_line_items", "invoice_history"):
        assert "partitions" not in result.state["bookmarks"].get(child, {})


def test_a_failed_run_leaves_the_previous_bookmark(sandbox, config):
    first = run_sync(config)
    sandbox.api.pay(next(i for i in sandbox.invoice_ids() if status_of(sandbox, i) == "SENT"))
    sandbox.inject(Fault(kind="status", status=401, path_prefix="/invoicing/v2/invoices/", after=3))
    with pytest.raises(Exception, match="HTTP 401"):
        run_sync(config, state=first.state)
    sandbox.clear_faults()
    # The failed run never committed: its last state is the first run's bookmark.
    second = run_sync(config, state=first.state)
    assert (
        second.state["bookmarks"]["invoices"]["replication_key_value"]
        > first.state["bookmarks"]["invoices"]["replication_key_value"]
    )


def test_failed_first_run_emits_no_bookmark(sandbox, config):
    sandbox.inject(Fault(kind="status", status=401, path_prefix="/invoicing/v2/invoices/", after=3))
    out = CapturedStdout()
    with redirect_stdout(out), pytest.raises(Exception, match="HTTP 401"):
        TapInvoicing(config=config).sync_all()
    states = [
        json.loads(line)["value"] for line in out.getvalue().splitlines() if '"STATE"' in line
    ]
    assert all("remembered" not in s.get("bookmarks", {}).get("invoices", {}) for s in states)


def test_selecting_a_new_stream_triggers_a_full_pass(sandbox, config):
    only_invoices = catalog_selecting(config, {"invoices"})
    first = run_sync(config, catalog=only_invoices)
    assert not first.records("invoice_line_items")
    sandbox.clear_requests()
    second = run_sync(config, state=first.state)
    assert sorted(sandbox.detail_requests()) == sorted(sandbox.invoice_ids())
    assert second.records("invoice_line_items")
