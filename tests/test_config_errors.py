"""Bad settings and refused credentials: one clear line, exit 1, no request, no secret printed."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

TAP = str(Path(sys.executable).parent / "tap-invoicing")


def run_cli(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [TAP, "--config", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"merchant_secret_key": None},
            "merchant_secret_key: is required for provider cybersource",
        ),
        ({"merchant_id": None}, "merchant_id: is required for provider cybersource"),
        ({"provider": "stripe"}, "'stripe' is not one of ['cybersource'] in config['provider']"),
        (
            {"merchant_secret_key": "c2VjcmV0!not*base64"},
            "merchant_secret_key: is not valid base64",
        ),
        ({"base_url": "http://api.example.com"}, "base_url: plain http is only allowed"),
        ({"environment": "staging"}, "in config['environment']"),
        ({"start_date": "last tuesday"}, "start_date: is not an ISO 8601 date"),
        ({"page_size": 5000}, "page_size: must be between 1 and 1000"),
    ],
)
def test_bad_setting_fails_before_any_request_naming_the_setting(
    sandbox, tmp_path, change, expected
):
    config = {**sandbox.tap_config(), **change}
    config = {key: value for key, value in config.items() if value is not None}
    result = run_cli(tmp_path, config)
    assert result.returncode == 1
    assert any(expected in line for line in error_lines(result.stderr)), result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.requests == []
    assert "c2VjcmV0!not*base64" not in result.stderr + result.stdout


def test_refused_secret_stops_at_once_with_one_clear_line(sandbox, tmp_path):
    wrong_secret = base64.b64encode(b"not the sandbox's shared secret!").decode()
    config = {**sandbox.tap_config(), "merchant_secret_key": wrong_secret}
    result = run_cli(tmp_path, config)
    assert result.returncode == 1
    message = (
        "authentication failed: CyberSource refused the credentials (merchant_id, "
        "merchant_key_id, merchant_secret_key) with HTTP 401 on GET /invoicing/v2/invoices"
    )
    assert any(line.endswith(message) for line in error_lines(result.stderr)), result.stderr
    assert "Traceback" not in result.stderr
    assert len(sandbox.requests) == 1, "a refused credential must not be retried"
    for secret in (wrong_secret, config["merchant_key_id"]):
        assert secret not in result.stderr + result.stdout


def test_discovery_lists_the_three_streams(sandbox, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sandbox.tap_config()))
    result = subprocess.run(
        [TAP, "--config", str(path), "--discover"], capture_output=True, text=True, check=True
    )
    catalog = json.loads(result.stdout)
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(streams) == {"invoices", "invoice_line_items", "invoice_history"}
    assert streams["invoices"]["replication_key"] == "submitTimeUtc"
    assert sandbox.requests == []


def test_a_damaged_state_fails_before_any_request_with_one_line(sandbox, tmp_path):
    config_path, state_path = tmp_path / "config.json", tmp_path / "state.json"
    config_path.write_text(json.dumps(sandbox.tap_config()))
    bookmark = {"open_invoices": {"bits": 64, "hashes": 7, "data": ""}, "streams": ["invoices"]}
    state_path.write_text(
        json.dumps(
            {
                "bookmarks": {
                    "invoices": {**bookmark, "head_invoice_ids": [], "tail_invoice_ids": []}
                }
            }
        )
    )
    result = subprocess.run(
        [TAP, "--config", str(config_path), "--state", str(state_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert any("not written by this version" in line for line in error_lines(result.stderr))
    assert "Traceback" not in result.stderr
    assert sandbox.requests == []
