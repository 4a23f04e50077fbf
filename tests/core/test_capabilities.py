"""The tap declares only the capabilities it has: ``batch`` is not one (the children are written
with each invoice, which a batch file of invoices cannot carry), so ``batch_config`` is an
unknown setting, and ignored as the warning says."""

from __future__ import annotations

import json
from collections import Counter

from tests.conftest import run_cli


def test_batch_config_is_ignored_as_unknown_and_every_record_is_a_record(sandbox, tmp_path):
    batches = tmp_path / "batches"
    config = {
        **sandbox.tap_config(),
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": batches.as_uri()},
        },
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    result = run_cli("--config", str(config_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Unknown setting 'batch_config' ignored" in result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = Counter((message["type"], message.get("stream")) for message in messages)
    assert not [kind for kind in kinds if kind[0] == "BATCH"]
    assert kinds[("RECORD", "invoices")] == len(sandbox.invoice_ids())
    assert not batches.exists()
