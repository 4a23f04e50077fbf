"""Revolv3 incremental runs on the API's last-update window: what changed, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tap_invoicing.core.dates import parse_time
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import run_sync
from tests.revolv3.conftest import fast, invoice_ids, list_queries

LOOKBACK = timedelta(minutes=5)


def with_status(sandbox: Sandbox, *statuses: str) -> list[str]:
    return [i for i in sandbox.invoice_ids() if sandbox.invoice(i)["invoiceStatus"] in statuses]


def recently_updated(sandbox: Sandbox, since: datetime) -> set[str]:
    """Invoices whose server-side last update is at or after ``since``."""
    return {i for i in sandbox.invoice_ids() if sandbox.api.last_update(i) >= since}


def test_a_new_successful_attempt_is_read_and_untouched_invoices_are_not(revolv3, revolv3_config):
    first = run_sync(revolv3_config)
    window_end = parse_time(first.state["bookmarks"]["invoices"]["replication_key_value"])
    failed = with_status(revolv3, "Recycle", "Failed")[0]
    attempts_before = len(revolv3.invoice(failed)["invoiceAttempts"])
    revolv3.api.pay(failed)
    revolv3.clear_requests()
    second = run_sync(revolv3_config, state=first.state)
    emitted = {str(r["invoiceId"]): r for r in second.records("invoices")}
    assert failed in emitted
    attempts = emitted[failed]["invoiceAttempts"]
    assert len(attempts) == attempts_before + 1
    assert [a["invoiceAttemptStatus"] for a in attempts][-1] == "Success"
    assert emitted[failed]["invoiceStatus"] == "Paid"
    child_attempts = [
        r for r in second.records("invoice_attempts") if str(r["invoiceId"]) == failed
    ]
    assert len(child_attempts) == attempts_before + 1
    in_lookback = recently_updated(revolv3, window_end - LOOKBACK)
    assert set(revolv3.detail_requests()) == in_lookback
    assert set(emitted) == in_lookback
    assert len(in_lookback) < len(revolv3.invoice_ids()) / 2
    query = list_queries(revolv3)[0]
    assert parse_time(query["lastUpdateStartDate"]) == window_end - LOOKBACK
    assert parse_time(query["lastUpdateEndDate"]) >= window_end


def test_every_kind_of_change_reaches_the_next_run(revolv3, revolv3_config):
    first = run_sync(revolv3_config)
    pending = with_status(revolv3, "Pending")
    paid = with_status(revolv3, "Paid")
    revolv3.api.add_attempt(pending[0], success=False)
    revolv3.api.void(pending[1])
    refund = revolv3.api.refund(paid[0])
    line_item = revolv3.invoice(paid[1])["invoiceLineItems"][0]["invoiceLineItemId"]
    revolv3.api.edit_line_item(paid[1], str(line_item), name="Renamed plan")
    added = revolv3.api.add(2)
    second = run_sync(revolv3_config, state=first.state)
    emitted = {str(r["invoiceId"]): r for r in second.records("invoices")}
    for changed in (pending[0], pending[1], paid[0], paid[1], refund, *added):
        assert changed in emitted, changed
    assert emitted[pending[1]]["invoiceStatus"] == "Void"
    assert str(emitted[refund]["parentInvoiceId"]) == paid[0]
    names = {r["invoiceLineItemId"]: r["name"] for r in second.records("invoice_line_items")}
    assert names[line_item] == "Renamed plan"


def test_an_update_exactly_at_the_window_end_is_not_lost(revolv3, revolv3_config):
    first = run_sync({**revolv3_config, "lookback_minutes": 0})
    window_end = parse_time(first.state["bookmarks"]["invoices"]["replication_key_value"])
    edge = revolv3.invoice_ids()[3]
    revolv3.api.set_last_update(edge, window_end)
    second = run_sync({**revolv3_config, "lookback_minutes": 0}, state=first.state)
    assert edge in invoice_ids(second)


def test_a_null_lookback_is_the_default_lookback(revolv3, revolv3_config):
    config = {**revolv3_config, "lookback_minutes": None}
    first = run_sync(config)
    window_end = parse_time(first.state["bookmarks"]["invoices"]["replication_key_value"])
    revolv3.clear_requests()
    run_sync(config, state=first.state)
    assert parse_time(list_queries(revolv3)[0]["lastUpdateStartDate"]) == window_end - LOOKBACK


def test_an_invoice_updated_during_a_run_is_caught_by_the_next(revolv3, revolv3_config):
    target = with_status(revolv3, "Pending")[0]
    changed = []

    def pay_once(incoming) -> None:
        if incoming.kind == "detail" and not changed:
            changed.append(target)
            revolv3.api.pay(target)

    revolv3.on_request(pay_once)
    first = run_sync(revolv3_config)
    assert changed
    second = run_sync(revolv3_config, state=first.state)
    latest = {str(r["invoiceId"]): r for r in second.records("invoices")}
    assert latest[target]["invoiceStatus"] == "Paid"


def test_a_run_with_no_changes_reads_only_the_lookback(revolv3, revolv3_config):
    first = run_sync(revolv3_config)
    old = datetime.now(UTC) - timedelta(days=30)
    for invoice_id in revolv3.invoice_ids():
        revolv3.api.set_last_update(invoice_id, old)
    revolv3.clear_requests()
    second = run_sync(revolv3_config, state=first.state)
    assert invoice_ids(second) == []
    assert revolv3.detail_requests() == []
    assert len(list_queries(revolv3)) == 1
    assert (
        second.state["bookmarks"]["invoices"]["replication_key_value"]
        >= (first.state["bookmarks"]["invoices"]["replication_key_value"])
    )


def test_a_bookmark_of_another_account_makes_a_full_pass(revolv3, revolv3_config):
    first = run_sync(revolv3_config)
    with Sandbox(provider="revolv3", invoices=30, seed=23, rate_limits=()) as other:
        result = run_sync(fast(other), state=first.state)
        assert sorted(invoice_ids(result)) == sorted(other.invoice_ids())
        assert "lastUpdateStartDate" not in list_queries(other)[0]


def test_an_invoice_not_emitted_is_listed_again_by_the_next_run(revolv3, revolv3_config):
    first = run_sync(revolv3_config)
    changed = with_status(revolv3, "Pending")[:3]
    for invoice_id in changed:
        revolv3.api.add_attempt(invoice_id, success=False)
    revolv3.inject(Fault(kind="status", status=403, route="detail", times=1))
    second = run_sync(revolv3_config, state=first.state)
    refused = {r.invoice_id for r in revolv3.requests if r.status == 403}
    assert len(refused) == 1
    assert not refused & set(invoice_ids(second))
    assert set(changed) - refused <= set(invoice_ids(second))
    bookmark = second.state["bookmarks"]["invoices"]
    assert (
        bookmark["replication_key_value"]
        == (first.state["bookmarks"]["invoices"]["replication_key_value"])
    )
    third = run_sync(revolv3_config, state=second.state)
    assert refused <= set(invoice_ids(third))


def test_an_empty_window_is_routine_and_an_empty_account_is_warned_about(caplog):
    with Sandbox(provider="revolv3", invoices=0, seed=32, rate_limits=()) as empty:
        first = run_sync(fast(empty))
        assert "Revolv3 listed no invoices for this account" in caplog.text
        caplog.clear()
        second = run_sync(fast(empty), state=first.state)
        assert invoice_ids(second) == []
        assert "listed no invoices" not in caplog.text
