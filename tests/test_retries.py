"""Transient faults are retried until the sync completes with exactly the fault-free records."""

from __future__ import annotations

import pytest

from tap_invoicing.sandbox import Fault
from tests.conftest import run_sync
from tests.test_records import exact

DETAIL = "/invoicing/v2/invoices/"
LIST = "/invoicing/v2/invoices"


def everything(result) -> dict:
    return {
        stream: sorted(
            (
                exact({k: v for k, v in r.items() if k != "submitTimeUtc"})
                for r in result.records(stream)
            ),
            key=repr,
        )
        for stream in ("invoices", "invoice_line_items", "invoice_history")
    }


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="status", status=429, headers={"Retry-After": "1"}, path_prefix=DETAIL, times=2),
        Fault(kind="status", status=503, path_prefix=DETAIL, after=5, times=2),
        Fault(kind="status", status=502, path_prefix=LIST, after=1, times=1),
        Fault(kind="drop", path_prefix=DETAIL, after=10, times=2),
        Fault(kind="truncate", path_prefix=DETAIL, after=3, times=1),
        Fault(kind="garbage", path_prefix=LIST, times=1),
        Fault(kind="missing_fields", path_prefix=DETAIL, after=7, times=1),
        Fault(kind="missing_fields", path_prefix=LIST, after=1, times=1),
    ],
    ids=lambda fault: (
        f"{fault.kind}-{fault.status or ''}-{fault.path_prefix.rsplit('/', 2)[-1] or 'detail'}"
    ),
)
def test_a_transient_fault_changes_nothing_in_the_output(sandbox, config, fault):
    sandbox.clear_requests()
    clean = run_sync(config)
    clean_requests = len(sandbox.requests)
    sandbox.inject(fault)
    sandbox.clear_requests()
    faulted = run_sync(config)
    assert everything(faulted) == everything(clean)
    assert len(sandbox.requests) > clean_requests, "the fault fired and was retried"


def test_retry_after_is_honoured(sandbox, config):
    sandbox.inject(
        Fault(kind="status", status=429, headers={"Retry-After": "2"}, path_prefix=DETAIL, times=1)
    )
    run_sync(config)
    detail = [r for r in sandbox.requests if r.kind == "detail"]
    throttled = next(i for i, r in enumerate(detail) if r.status == 429)
    assert detail[throttled + 1].time - detail[throttled].time >= 2.0
