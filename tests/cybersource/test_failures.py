"""Faults: transient ones are survived with exactly the fault-free records; exhausted retries
fail the run with one line naming the request, and the state never claims what was not sent."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tap_invoicing.core.client import ApiClient
from tap_invoicing.errors import RetriesExhaustedError
from tap_invoicing.sandbox import Fault
from tests.conftest import TAP, everything, invoices_with_status, no_waiting, run_sync

DETAIL = "/invoicing/v2/invoices/"
LIST = "/invoicing/v2/invoices"


TRANSIENT_FAULTS = [
    Fault(kind="status", status=429, headers={"Retry-After": "1"}, path_prefix=DETAIL, times=2),
    Fault(kind="status", status=429, path_prefix=DETAIL, after=4, times=2),
    Fault(kind="status", status=500, path_prefix=DETAIL, after=8, times=1),
    Fault(kind="status", status=502, path_prefix=LIST, after=1, times=1),
    Fault(kind="status", status=503, path_prefix=DETAIL, after=5, times=2),
    Fault(kind="status", status=504, path_prefix=LIST, times=1),
    Fault(kind="drop", path_prefix=DETAIL, after=10, times=2),
    Fault(kind="drop", path_prefix=LIST, times=1),
    Fault(kind="delay", seconds=2.5, path_prefix=DETAIL, after=6, times=1),
    Fault(kind="truncate", path_prefix=DETAIL, after=3, times=1),
    Fault(kind="truncate", path_prefix=LIST, after=1, times=1),
    Fault(kind="garbage", path_prefix=LIST, times=1),
    Fault(kind="garbage", path_prefix=DETAIL, after=2, times=1),
    Fault(kind="missing_fields", path_prefix=DETAIL, after=7, times=1),
    Fault(kind="missing_fields", path_prefix=LIST, after=1, times=1),
]


def settled_request_count(sandbox, above: int, patience: float = 5.0) -> int:
    """The sandbox logs a request when it answers: a delayed answer to a request the tap gave up
    on lands after the run, so wait briefly for the count to pass ``above``."""
    deadline = time.monotonic() + patience
    while len(sandbox.requests) <= above and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(sandbox.requests)


def fault_id(fault: Fault) -> str:
    status = fault.status if fault.kind == "status" else ""
    endpoint = "list" if fault.path_prefix == LIST else "detail"
    return f"{fault.kind}{status}-{endpoint}" + ("-retry-after" if fault.headers else "")


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=[fault_id(f) for f in TRANSIENT_FAULTS])
def test_a_transient_fault_changes_nothing_in_the_output(sandbox, config, fault):
    config = {**config, "request_timeout": 1}
    sandbox.clear_requests()
    clean = run_sync(config)
    clean_requests = len(sandbox.requests)
    sandbox.inject(fault)
    sandbox.clear_requests()
    faulted = run_sync(config)
    assert everything(faulted) == everything(clean)
    assert settled_request_count(sandbox, above=clean_requests) > clean_requests, (
        "the fault fired and was retried"
    )


@pytest.mark.slow
def test_faults_on_a_share_of_all_requests_change_nothing(sandbox, config):
    clean = run_sync(config)
    for kind, status in (("status", 503), ("drop", 500), ("garbage", 500), ("truncate", 500)):
        sandbox.inject(Fault(kind=kind, status=status, probability=0.08, times=None))
    faulted = run_sync({**config, "request_timeout": 1})
    assert everything(faulted) == everything(clean)


def test_retry_after_is_honoured_by_every_worker(sandbox, config):
    sandbox.inject(
        Fault(kind="status", status=429, headers={"Retry-After": "2"}, path_prefix=DETAIL, times=1)
    )
    run_sync(config)
    throttled = next(r for r in sandbox.requests if r.status == 429)
    retry = next(r for r in sandbox.requests if r.path == throttled.path and r.status == 200)
    assert retry.time - throttled.time >= 2.0
    # Requests already on their way when the 429 came back may land just after it; none may
    # start after the tap has read it until the two seconds are over.
    started_during_pause = [
        r for r in sandbox.requests if throttled.time + 0.05 < r.time < throttled.time + 2.0
    ]
    assert started_during_pause == []


def always_unavailable(invoice_id: str) -> Fault:
    """Every detail request for this invoice answers 503 (Retry-After: 0, so tries pass fast)."""
    return Fault(
        kind="status",
        status=503,
        headers={"Retry-After": "0"},
        path_prefix=f"{DETAIL}{invoice_id}",
        times=None,
    )


def test_exhausted_retries_name_the_request_and_commit_nothing(sandbox, config):
    first = run_sync(config)
    victim = invoices_with_status(sandbox, "SENT")[0]
    sandbox.inject(always_unavailable(victim))
    with pytest.raises(RetriesExhaustedError) as failure:
        run_sync(config, state=first.state)
    message = str(failure.value)
    assert (
        message == f"GET {DETAIL}{victim} still failing after 8 tries: HTTP 503 Service Unavailable"
    )
    assert len([r for r in sandbox.requests if r.invoice_id == victim and r.status == 503]) == 8


def test_exhausted_retries_exit_non_zero_and_leave_the_previous_bookmark(sandbox, config, tmp_path):
    first = run_sync(config)
    sandbox.api.pay(invoices_with_status(sandbox, "SENT")[0])
    victim = invoices_with_status(sandbox, "SENT")[0]
    sandbox.inject(always_unavailable(victim))
    config_path, state_path = tmp_path / "config.json", tmp_path / "state.json"
    config_path.write_text(json.dumps(config))
    state_path.write_text(json.dumps(first.state))
    result = subprocess.run(
        [TAP, "--config", str(config_path), "--state", str(state_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    reason = "HTTP 503 Service Unavailable"
    assert last_line.endswith(f"GET {DETAIL}{victim} still failing after 8 tries: {reason}")
    assert "Traceback" not in result.stderr
    states = [json.loads(line)["value"] for line in result.stdout.splitlines() if '"STATE"' in line]
    assert states, "the run wrote its starting state"
    for state in states:
        bookmark = state["bookmarks"]["invoices"]
        assert bookmark["remembered"] == first.state["bookmarks"]["invoices"]["remembered"]
        assert (
            bookmark.get("replication_key_value")
            == first.state["bookmarks"]["invoices"]["replication_key_value"]
        )


def test_a_connection_that_keeps_dropping_is_named_once_retries_run_out(
    sandbox, config, monkeypatch
):
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    sandbox.inject(Fault(kind="drop", path_prefix=LIST, times=None))
    with pytest.raises(RetriesExhaustedError, match=f"^GET {LIST} still failing after 8 tries: "):
        run_sync(config)
    assert [r.status for r in sandbox.requests] == [0] * 8


def test_a_body_that_stays_malformed_is_named_once_retries_run_out(sandbox, config, monkeypatch):
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    sandbox.inject(Fault(kind="garbage", path_prefix=LIST, times=None))
    with pytest.raises(RetriesExhaustedError) as failure:
        run_sync(config)
    assert str(failure.value) == (
        f"GET {LIST} still failing after 8 tries: malformed JSON in the response to GET {LIST}"
    )


def test_an_error_body_echoing_a_credential_is_redacted(sandbox, config):
    secret = config["merchant_secret_key"]
    sandbox.inject(
        Fault(kind="status", status=400, body=f"bad key {secret} for {config['merchant_key_id']}")
    )
    with pytest.raises(Exception, match="HTTP 400") as failure:
        run_sync(config)
    assert secret not in str(failure.value)
    assert config["merchant_key_id"] not in str(failure.value)
    assert "[redacted]" in str(failure.value)
