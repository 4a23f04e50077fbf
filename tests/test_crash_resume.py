"""A tap killed mid-sync (SIGKILL) and resumed from the last STATE it wrote loses nothing."""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import TAP, everything, invoices_with_status, run_sync


def run_until_killed(tmp_path, config: dict, state: dict | None, records_before_kill: int) -> dict:
    """Run the real CLI, SIGKILL it after some invoice records, return the last STATE it wrote."""
    config_path, state_path = tmp_path / "config.json", tmp_path / "state.json"
    config_path.write_text(json.dumps(config))
    command = [TAP, "--config", str(config_path)]
    if state is not None:
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    last_state, invoices_seen = state, 0
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as tap:
        assert tap.stdout is not None
        for line in tap.stdout:
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "STATE":
                last_state = message["value"]
            elif message["type"] == "RECORD" and message["stream"] == "invoices":
                invoices_seen += 1
                if invoices_seen == records_before_kill:
                    tap.send_signal(signal.SIGKILL)
                    break
        tap.wait(timeout=60)
    assert tap.returncode == -signal.SIGKILL, "the tap was killed mid-sync"
    return last_state or {}


@pytest.mark.parametrize("killed_run", ["first", "incremental"])
def test_resuming_after_sigkill_loses_nothing(tmp_path, killed_run):
    with Sandbox(provider="cybersource", invoices=150, seed=21, latency=0.005) as sb:
        config = {**sb.tap_config(), "page_size": 40}
        state = None
        if killed_run == "incremental":
            state = run_sync(config).state
            for invoice_id in invoices_with_status(sb, "SENT")[:3]:
                sb.api.pay(invoice_id)
            sb.api.add(2)
        clean = run_sync(config, state=state)

        last_state = run_until_killed(tmp_path, config, state, records_before_kill=10)
        resumed = run_sync(config, state=last_state)

        assert everything(clean) == everything(resumed)
        assert len(clean.ids()) > 10
