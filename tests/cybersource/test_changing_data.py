"""Invoices paid, cancelled or deleted while a sync runs: nothing crashes, nothing is lost."""

from __future__ import annotations

import logging

from tap_invoicing.sandbox import Fault
from tests.conftest import invoices_with_status, run_sync


def test_invoices_paid_or_cancelled_mid_sync_arrive_by_the_next_run(sandbox, config):
    sent = invoices_with_status(sandbox, "SENT")
    early, late = sent[0], sent[-1]
    changed = []

    def change_on_the_second_page(incoming) -> None:
        if incoming.kind == "list" and incoming.query.get("offset") != "0" and not changed:
            changed.extend([early, late])
            sandbox.api.pay(early)
            sandbox.api.cancel(late)

    sandbox.on_request(change_on_the_second_page)
    first = run_sync(config)
    second = run_sync(config, state=first.state)
    latest = {r["id"]: r["status"] for r in first.records("invoices") + second.records("invoices")}
    assert changed
    assert latest[early] == "PAID"
    assert latest[late] == "CANCELED"
    assert set(sandbox.invoice_ids()) <= set(first.ids())


def test_an_invoice_deleted_between_list_and_detail_is_written_as_deleted(sandbox, config, caplog):
    victim = sandbox.invoice_ids()[7]

    def delete_before_its_detail(incoming) -> None:
        if incoming.kind == "detail" and incoming.invoice_id == victim:
            sandbox.api.delete(victim)

    sandbox.on_request(delete_before_its_detail)
    with caplog.at_level(logging.INFO):
        result = run_sync(config)
    assert victim not in result.ids()
    assert set(result.ids()) == set(sandbox.invoice_ids())
    (tombstone,) = result.tombstones("invoices")
    assert tombstone["id"] == victim
    assert f"Invoice {victim} is gone (its detail answers 404): written as deleted" in caplog.text
    assert "invoices: 59 records written; " in caplog.text
    assert "; 0 unchanged and skipped, 1 vanished, 0 not emitted" in caplog.text


def test_an_invoice_missing_from_its_detail_once_is_read_again_next_run(sandbox, config):
    victim = invoices_with_status(sandbox, "PAID")[0]
    sandbox.inject(Fault(kind="status", status=404, path_prefix=f"/invoicing/v2/invoices/{victim}"))
    first = run_sync(config)
    assert victim not in first.ids()
    assert [t["id"] for t in first.tombstones("invoices")] == [victim]
    second = run_sync(config, state=first.state)
    assert victim in second.ids(), "listed again, it is read again, and is live again"
