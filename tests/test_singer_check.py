"""singer-check-tap (singer-tools) accepts a full run's output and the run on its emitted state.

The checker reads stdin here: with --tap, singer-tools 0.4.1 reads its reader thread's summary
without waiting for the thread, so a quick second run intermittently reports nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import invoices_with_status, run_cli

SINGER_CHECK_TAP = (
    Path(__file__).resolve().parent.parent / ".venv-singer-tools/bin/singer-check-tap"
)


def check(output: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(SINGER_CHECK_TAP)],
        input=output,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "The output is valid." in result.stdout
    return result.stdout


def last_state(output: str) -> dict:
    states = [json.loads(line)["value"] for line in output.splitlines() if '"STATE"' in line]
    return states[-1]


def test_singer_check_tap_passes_on_a_full_run_and_on_the_state_run(sandbox, tmp_path):
    assert SINGER_CHECK_TAP.exists(), "`make test` installs singer-tools in .venv-singer-tools"
    config, state = tmp_path / "config.json", tmp_path / "state.json"
    config.write_text(json.dumps({**sandbox.tap_config(), "page_size": 25}))
    sent = invoices_with_status(sandbox, "SENT")

    full = run_cli("--config", str(config))
    assert full.returncode == 0
    assert "invoices           | 60 " in check(full.stdout, tmp_path)

    sandbox.api.pay(sent[0])
    state.write_text(json.dumps(last_state(full.stdout)))
    incremental = run_cli("--config", str(config), "--state", str(state))
    assert incremental.returncode == 0
    summary = check(incremental.stdout, tmp_path)
    assert "invoice_history" in summary
    assert sent[0] in incremental.stdout
