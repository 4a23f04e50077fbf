"""singer-check-tap (singer-tools) accepts a full run's output and the run on its emitted state."""

from __future__ import annotations

import json

from tests.conftest import SINGER_CHECK_TAP, invoices_with_status, last_state, run_cli, singer_check


def test_singer_check_tap_passes_on_a_full_run_and_on_the_state_run(sandbox, tmp_path):
    assert SINGER_CHECK_TAP.exists(), "`make test` installs singer-tools in .venv-singer-tools"
    config, state = tmp_path / "config.json", tmp_path / "state.json"
    config.write_text(json.dumps({**sandbox.tap_config(), "page_size": 25}))
    sent = invoices_with_status(sandbox, "SENT")

    full = run_cli("--config", str(config))
    assert full.returncode == 0
    assert "invoices           | 60 " in singer_check(full.stdout, tmp_path)

    sandbox.api.pay(sent[0])
    state.write_text(json.dumps(last_state(full.stdout)))
    incremental = run_cli("--config", str(config), "--state", str(state))
    assert incremental.returncode == 0
    summary = singer_check(incremental.stdout, tmp_path)
    assert "invoice_history" in summary
    assert sent[0] in incremental.stdout
