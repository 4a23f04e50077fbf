"""Concurrent detail requests against the sandbox: same records as one at a time, shared pauses
after a 429, faults isolated to their invoice, and a rate cap counted at the server."""

from __future__ import annotations

import logging

import pytest

from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import everything, run_sync

DETAIL = "/invoicing/v2/invoices/"


def assert_each_invoice_once(result) -> None:
    for stream, key in (
        ("invoices", ("id",)),
        ("invoice_line_items", ("invoiceId", "position")),
        ("invoice_history", ("invoiceId", "sequence")),
    ):
        keys = [tuple(record[k] for k in key) for record in result.records(stream)]
        assert len(keys) == len(set(keys)), f"duplicate {stream} records"


def test_eight_workers_emit_exactly_the_records_of_one(sandbox, config):
    one = run_sync({**config, "max_workers": 1})
    eight = run_sync({**config, "max_workers": 8})
    assert everything(eight) == everything(one)
    assert len(one.ids()) == len(sandbox.invoice_ids())
    assert_each_invoice_once(eight)
    bookmark = eight.state["bookmarks"]["invoices"]
    reference = one.state["bookmarks"]["invoices"]
    for key in ("remembered", "head_invoice_ids", "tail_invoice_ids", "made_for"):
        assert bookmark[key] == reference[key]


def test_an_incremental_run_with_workers_reads_what_one_worker_would(sandbox, config):
    first = run_sync(config)
    for invoice_id in sandbox.invoice_ids()[:40:3]:
        if sandbox.invoice(invoice_id)["status"] in {"SENT", "PARTIAL"}:
            sandbox.api.pay(invoice_id)
    one = run_sync({**config, "max_workers": 1}, state=first.state)
    eight = run_sync({**config, "max_workers": 8}, state=first.state)
    assert everything(eight) == everything(one)
    assert 0 < len(eight.ids()) < len(first.ids())


def test_a_429_pauses_every_worker_once_and_loses_nothing(caplog):
    with Sandbox(invoices=40, seed=5, latency=0.05) as sandbox:
        config = {**sandbox.tap_config(), "max_workers": 8}
        clean = run_sync(config)
        sandbox.clear_requests()
        caplog.clear()
        # The first eight details are all in flight together, and all eight are refused.
        sandbox.inject(
            Fault(
                kind="status", status=429, headers={"Retry-After": "1"}, path_prefix=DETAIL, times=8
            )
        )
        with caplog.at_level(logging.INFO):
            throttled_run = run_sync(config)
        log = sandbox.requests
    assert everything(throttled_run) == everything(clean)
    refused = [r for r in log if r.status == 429]
    assert len(refused) == 8
    pauses = [r.getMessage() for r in caplog.records if "pausing all requests" in r.getMessage()]
    assert len(pauses) == 1, pauses
    assert pauses[0].startswith("HTTP 429 Too Many Requests on GET /invoicing/v2/invoices/")
    for refusal in refused:
        retry = next(r for r in log if r.path == refusal.path and r.status == 200)
        assert retry.time - refusal.time >= 1.0
    first_refusal = min(r.time for r in refused)
    started_while_paused = [
        r for r in log if max(r.time for r in refused) + 0.01 < r.time < first_refusal + 1.0
    ]
    assert started_while_paused == []


def test_a_fault_on_one_detail_neither_drops_nor_duplicates_the_others(sandbox, config):
    clean = run_sync(config)
    ids = sandbox.invoice_ids()
    sandbox.inject(Fault(kind="status", status=500, path_prefix=DETAIL + ids[3], times=2))
    sandbox.inject(Fault(kind="drop", path_prefix=DETAIL + ids[10], times=1))
    sandbox.inject(Fault(kind="garbage", path_prefix=DETAIL + ids[11], times=1))
    sandbox.inject(Fault(kind="truncate", path_prefix=DETAIL + ids[12], times=1))
    sandbox.inject(Fault(kind="delay", seconds=1.5, path_prefix=DETAIL + ids[20], times=1))
    faulted = run_sync({**config, "max_workers": 8, "request_timeout": 1})
    assert everything(faulted) == everything(clean)
    assert_each_invoice_once(faulted)
    assert sorted(faulted.ids()) == sorted(ids)


@pytest.mark.parametrize("cap", [5, 12])
def test_the_rate_cap_holds_for_all_workers_together(cap):
    with Sandbox(invoices=30, seed=9) as sandbox:
        config = {**sandbox.tap_config(), "max_workers": 8, "max_requests_per_second": cap}
        result = run_sync(config)
        arrivals = sorted(r.time for r in sandbox.requests)
    assert len(result.ids()) == 30
    # No second holds more than ``cap`` requests: the request ``cap`` places later arrives a
    # second or more after each one (less 20 ms for the scheduling jitter of loopback arrivals
    # between the gate and the server, on a machine busy with other work).
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[cap:], strict=False)]
    assert min(gaps) >= 1.0 - 0.02
