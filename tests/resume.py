"""The check every provider's ``test_resume.py`` makes: a first pass stopped at about 60% (by
SIGKILL or SIGTERM) resumes from the last STATE it printed. The resumed run's detail requests
stay within the allowance (the invoices not yet written + the ones written that the plan reads
again + those written after the last STATE printed, none after SIGTERM + 2%); nothing is lost;
and the bookmark it ends with is as good as a pass's that was never stopped."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tap_invoicing.sandbox import Sandbox
from tests.conftest import SyncResult, exact, run_sync, run_until_stopped


@dataclass(frozen=True)
class StoppedAndResumed:
    stopped: SyncResult
    written: set[str]
    """The invoices the stopped run wrote."""


def invoice_ids(result: SyncResult) -> set[str]:
    """The invoices a run wrote, by the stream's key, as the sandbox names them."""
    [key] = result.schemas()["invoices"]["key_properties"]
    return {str(record[key]) for record in result.records("invoices")}


def written_after_last_state(result: SyncResult) -> int:
    """Invoices a run wrote after the last STATE it printed."""
    since = 0
    for message in result.messages:
        if message["type"] == "STATE":
            since = 0
        since += message["type"] == "RECORD" and message["stream"] == "invoices"
    return since


def upserted(*runs: SyncResult) -> dict[str, dict[str, Any]]:
    """Per stream, the live rows a target upserting on the key properties holds after ``runs``,
    without the replication value (the pass's clock or window, which differs from run to run)."""
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        for stream, schema in run.schemas().items():
            keys, dropped = schema["key_properties"], set(schema.get("bookmark_properties") or [])
            table = rows.setdefault(stream, {})
            for record in run.records(stream):
                row = {name: value for name, value in record.items() if name not in dropped}
                table[repr([exact(record[key]) for key in keys])] = exact(row)
    return rows


def assert_a_stopped_first_pass_resumes(
    sandbox: Sandbox,
    config: dict[str, Any],
    tmp_path: Path,
    signum: int,
    read_again: Callable[[Mapping[str, Any]], bool],
) -> StoppedAndResumed:
    """``read_again``: whether the provider's plan reads an invoice the stopped run wrote again
    (from its detail now)."""
    invoices = len(sandbox.invoice_ids())
    stopped = run_until_stopped(tmp_path, config, None, invoices * 6 // 10, signum)
    written = invoice_ids(stopped)
    assert written_after_last_state(stopped) < len(written), "a checkpoint before the stop"
    since = 0 if signum == signal.SIGTERM else written_after_last_state(stopped)
    if signum == signal.SIGTERM:
        assert written_after_last_state(stopped) == 0, "a checkpoint on the way out"

    sandbox.clear_requests()
    resumed = run_sync(config, state=stopped.state)
    reads = set(sandbox.detail_requests())
    reread = {i for i in written if read_again(sandbox.invoice(i))}
    allowance = (invoices - len(written)) + len(reread) + since + invoices // 50
    assert len(reads) <= allowance, (len(reads), allowance, since)
    if signum == signal.SIGTERM:
        assert len(reads & (written - reread)) <= 1, "at most the one being written at the stop"

    clean = run_sync(config)
    assert invoice_ids(clean) == set(sandbox.invoice_ids())
    assert upserted(stopped, resumed) == upserted(clean), "nothing lost, nothing different"

    sandbox.clear_requests()
    run_sync(config, state=resumed.state)
    after_resume = sorted(sandbox.detail_requests())
    sandbox.clear_requests()
    run_sync(config, state=clean.state)
    assert after_resume == sorted(sandbox.detail_requests()), "as good a bookmark as a clean pass"
    return StoppedAndResumed(stopped, written)
