"""A CyberSource first pass stopped at about 60% (SIGKILL, SIGTERM) resumes from the last
checkpoint it wrote (tests/resume.py says within what), reading again the open invoices among
those it wrote; its checkpoints claim only invoices written and come at least every 1,000
invoices; a pass that fails leaves one too."""

from __future__ import annotations

import json
import signal
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

from tap_invoicing.core import engine
from tap_invoicing.core.client import ApiClient
from tap_invoicing.errors import RetriesExhaustedError
from tap_invoicing.providers.cybersource.api import is_open
from tap_invoicing.sandbox import Fault, Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import CapturedStdout, SyncResult, no_waiting, run_sync
from tests.resume import assert_a_stopped_first_pass_resumes

DETAIL = "/invoicing/v2/invoices/"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_first_pass_stopped_at_60_percent_resumes_within_its_allowance(tmp_path, signum):
    with Sandbox(provider="cybersource", invoices=400, seed=41, latency=0.06) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 100, "max_workers": 2}
        run = assert_a_stopped_first_pass_resumes(sandbox, config, tmp_path, signum, is_open)
    checkpoints = [
        s
        for s in run.stopped.state_messages()
        if "resume" in s.get("bookmarks", {}).get("invoices", {})
    ]
    assert checkpoints, "a checkpoint every 5 seconds at the latest"
    for checkpoint in checkpoints:
        bookmark = checkpoint["bookmarks"]["invoices"]
        claimed = set(bookmark["tail_invoice_ids"]) | set(bookmark["resume"]["ahead"])
        assert claimed <= run.written, "a checkpoint claims only invoices written"


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
        still_open = {i for i in written if is_open(sandbox.invoice(i))}
        assert read_again <= (set(sandbox.invoice_ids()) - written) | still_open
        assert set(resumed.ids()) | written == set(sandbox.invoice_ids())
