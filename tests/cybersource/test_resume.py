"""A first pass stopped at about 60% (SIGKILL, SIGTERM) resumes from the last checkpoint it wrote:
the resumed run reads only what the stopped one had not written, the open invoices among what
it had, and what it wrote since its last checkpoint; nothing is lost; and the checkpoints come
at least every 1,000 invoices."""

from __future__ import annotations

import json
import signal
import subprocess
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest

from tap_invoicing.core import engine
from tap_invoicing.core.client import ApiClient
from tap_invoicing.errors import RetriesExhaustedError
from tap_invoicing.sandbox import Fault, Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import (
    TAP,
    CapturedStdout,
    SyncResult,
    everything,
    merged,
    no_waiting,
    run_sync,
)

INVOICES = 400
CLOSED = {"PAID", "CANCELED"}
DETAIL = "/invoicing/v2/invoices/"


def stopped_at(tmp_path: Path, config: dict, signum: int, records: int) -> SyncResult:
    """The real CLI, sent ``signum`` once it wrote ``records`` invoices: all it wrote."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    messages = []
    with subprocess.Popen(
        [TAP, "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as tap:
        assert tap.stdout is not None
        written = 0
        for line in tap.stdout:
            message = json.loads(line, parse_float=Decimal)
            messages.append(message)
            written += message["type"] == "RECORD" and message["stream"] == "invoices"
            if written == records:
                tap.send_signal(signum)
                break
        messages += [json.loads(line, parse_float=Decimal) for line in tap.stdout]
        tap.wait(timeout=60)
    assert tap.returncode != 0
    return SyncResult(messages)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_first_pass_stopped_at_60_percent_resumes_within_its_allowance(tmp_path, signum):
    with Sandbox(provider="cybersource", invoices=INVOICES, seed=41, latency=0.06) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 100, "max_workers": 2}
        stopped = stopped_at(tmp_path, config, signum, records=240)
        checkpoints = [
            s for s in stopped.state_messages() if "resume" in s["bookmarks"]["invoices"]
        ]
        assert checkpoints, "a checkpoint every 5 seconds at the latest"
        bookmark = checkpoints[-1]["bookmarks"]["invoices"]
        written = {r["id"] for r in stopped.records("invoices")}
        claimed = bookmark["resume"]["listed"] + len(bookmark["resume"]["ahead"])
        assert set(bookmark["tail_invoice_ids"]) | set(bookmark["resume"]["ahead"]) <= written

        sandbox.clear_requests()
        resumed = run_sync(config, state=stopped.state)
        read_again = set(sandbox.detail_requests())

        open_written = {i for i in written if sandbox.invoice(i)["status"] not in CLOSED}
        since_checkpoint = 0 if signum == signal.SIGTERM else len(written) - claimed
        allowance = (INVOICES - len(written)) + len(open_written) + since_checkpoint
        allowance += INVOICES // 50
        assert len(read_again) <= allowance, (len(read_again), allowance, since_checkpoint)
        if signum == signal.SIGTERM:
            closed_read_again = read_again & (written - open_written)
            assert len(closed_read_again) <= 1, "at most the one being written when it stopped"

        clean = run_sync(config)
        assert merged(everything(stopped), everything(resumed)) == everything(clean)
        assert (
            resumed.state["bookmarks"]["invoices"].keys()
            == clean.state["bookmarks"]["invoices"].keys()
        )

        sandbox.clear_requests()
        run_sync(config, state=resumed.state)
        after_resume = len(sandbox.detail_requests())
        sandbox.clear_requests()
        run_sync(config, state=clean.state)
        assert after_resume == len(sandbox.detail_requests()), "as good a bookmark as a clean pass"


def test_checkpoints_come_at_least_every_1000_invoices():
    with Sandbox(provider="cybersource", invoices=2500, seed=42) as sandbox:
        result = run_sync(sandbox.tap_config())
    written = 0
    since = []
    for message in result.messages:
        if message["type"] == "RECORD" and message["stream"] == "invoices":
            written += 1
        elif message["type"] == "STATE" and "resume" in message["value"]["bookmarks"]["invoices"]:
            since.append(written)
    assert len(since) >= 2
    gaps = [later - earlier for earlier, later in zip([0, *since], [*since, written], strict=True)]
    assert max(gaps) <= 1000 + 64, gaps
    assert "resume" not in result.state["bookmarks"]["invoices"], "a finished pass's bookmark"


def test_a_pass_that_fails_leaves_a_checkpoint_the_next_run_resumes_from(monkeypatch):
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    with Sandbox(provider="cybersource", invoices=120, seed=43) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 50, "max_workers": 1}
        broken = sandbox.invoice_ids()[70]
        sandbox.inject(Fault(kind="status", status=500, path_prefix=DETAIL + broken, times=8))
        out = CapturedStdout()
        with redirect_stdout(out), pytest.raises(RetriesExhaustedError):
            TapInvoicing(config=config).sync_all()
        lines = out.getvalue().splitlines()
        failed = SyncResult([json.loads(line, parse_float=Decimal) for line in lines])
        bookmark = failed.state["bookmarks"]["invoices"]
        assert bookmark["resume"]["listed"] == 70, "everything before the failing invoice"
        written = set(failed.ids())
        assert set(bookmark["tail_invoice_ids"]) <= written

        sandbox.clear_requests()
        resumed = run_sync(config, state=failed.state)
        read_again = set(sandbox.detail_requests())
        still_open = {i for i in written if sandbox.invoice(i)["status"] not in CLOSED}
        assert read_again <= (set(sandbox.invoice_ids()) - written) | still_open
        assert set(resumed.ids()) | written == set(sandbox.invoice_ids())
