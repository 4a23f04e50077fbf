"""An interrupted run exits non-zero (143 for SIGTERM, 130 for SIGINT), so schedulers record it
as failed, and its last STATE is a checkpoint that claims only invoices it emitted."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import TAP, secrets_in


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_run_exits_non_zero_and_claims_only_what_it_emitted(
    tmp_path, signum, status
):
    with Sandbox(invoices=300, seed=2, latency=0.02) as sandbox:
        config = sandbox.write_config(tmp_path / "config.json")
        log = (tmp_path / "stderr.txt").open("w")
        tap = subprocess.Popen(
            [TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=log, text=True
        )
        assert tap.stdout is not None
        lines = []
        while sum('"RECORD","stream":"invoices"' in line for line in lines) < 20:
            lines.append(tap.stdout.readline())
        tap.send_signal(signum)
        rest = tap.stdout.read()  # what readline buffered stays in this stream: read it here
        tap.wait(timeout=30)
        tap.stdout.close()
        log.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert tap.returncode == status, stderr
    output = lines + rest.splitlines()
    assert all(line.endswith("}") for line in map(str.strip, output) if line), output[-3:]
    messages = [json.loads(line) for line in output if line.strip()]
    invoices = [m for m in messages if m["type"] == "RECORD" and m["stream"] == "invoices"]
    assert 20 <= len(invoices) < 300
    emitted = {m["record"]["id"] for m in invoices}
    states = [m["value"]["bookmarks"]["invoices"] for m in messages if m["type"] == "STATE"]
    assert states, "a checkpoint on the way out"
    for bookmark in states:
        claimed = set(bookmark["tail_invoice_ids"]) | set(bookmark["resume"]["ahead"])
        assert claimed <= emitted
        assert bookmark["resume"]["listed"] <= len(emitted)
    errors = [line for line in stderr.splitlines() if "| ERROR" in line]
    assert f"Interrupted by {signal.Signals(signum).name}" in errors[-1]
    assert "Traceback" not in stderr
    assert not secrets_in(stderr + rest)
