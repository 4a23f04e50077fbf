"""The README's first command, ``make demo`` (scripts/demo.sh), for each provider: a real
extraction from the bundled sandbox through tap-invoicing into target-jsonl."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STREAMS = {
    "cybersource": ("invoice_history", "invoice_line_items", "invoices"),
    "revolv3": ("invoice_attempts", "invoice_line_items", "invoices"),
    "paypal": ("invoice_line_items", "invoice_payments", "invoice_refunds", "invoices"),
}


@pytest.mark.parametrize("provider", sorted(STREAMS))
def test_the_demo_extracts_every_stream_into_jsonl(provider, tmp_path):
    assert (ROOT / ".venv-target/bin/target-jsonl").exists(), "`make test` installs target-jsonl"
    environment = {
        **os.environ,
        "VENV": str(ROOT / ".venv"),
        "TARGET_VENV": str(ROOT / ".venv-target"),
        "PROVIDER": provider,
        "INVOICES": "40",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/demo.sh")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    written = {path.stem: path for path in (tmp_path / "output").glob("*.jsonl")}
    assert tuple(sorted(written)) == STREAMS[provider]
    assert len(written["invoices"].read_text().splitlines()) == 40
    assert "Records written per stream:" in result.stdout
    assert (tmp_path / "output/state.json").read_text().strip()
