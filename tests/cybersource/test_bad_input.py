"""Bad input: one clear line, exit status 1, no traceback, no secret, and no request where the
problem can be seen before one (settings, files, state); refused credentials stop at once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tap_invoicing.sandbox import Fault
from tests.conftest import WRONG_SECRET, run_cli

NOT_BASE64 = "c2VjcmV0!not*base64"


def write(path: Path, content: object) -> str:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def assert_one_clear_failure(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert any(expected in line for line in error_lines(result.stderr)), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"merchant_secret_key": None},
            "merchant_secret_key: is required for provider cybersource",
        ),
        ({"merchant_id": None}, "merchant_id: is required for provider cybersource"),
        ({"provider": None}, "'provider' is a required property"),
        ({"provider": "stripe"}, "provider: must be one of cybersource"),
        ({"merchant_secret_key": NOT_BASE64}, "merchant_secret_key: is not valid base64"),
        ({"base_url": "http://api.example.com"}, "base_url: plain http is only allowed"),
        ({"base_url": "ftp://127.0.0.1"}, "base_url: must be an http(s) URL"),
        ({"environment": "staging"}, "environment: must be one of"),
        ({"base_url": "https://u:p@[::1"}, "base_url: is not a valid URL"),
        ({"base_url": "https://api.example.com:port"}, "base_url: is not a valid URL"),
        ({"start_date": "last tuesday"}, "start_date: is not an ISO 8601 date"),
        ({"page_size": 5000}, "page_size: must be between 1 and 1000"),
        ({"request_timeout": 0}, "request_timeout: must be between 1 and 3600 seconds"),
        ({"max_workers": 0}, "max_workers: must be auto or a whole number from 1 to 256"),
        ({"max_workers": 500}, "max_workers: must be auto or a whole number from 1 to 256"),
        ({"max_workers": "eight"}, "max_workers: must be auto or a whole number from 1 to 256"),
        ({"max_workers": True}, "max_workers: must be of type string or number"),
        ({"max_workers_ceiling": 0}, "max_workers_ceiling: must be between 1 and 256"),
        ({"max_requests_per_second": 0}, "max_requests_per_second: must be between 0.01 and"),
        ({"max_requests_per_second": -2.5}, "max_requests_per_second: must be between 0.01"),
        ({"max_requests_per_second": 1e-9}, "max_requests_per_second: must be between 0.01"),
    ],
)
def test_a_bad_setting_fails_before_any_request_naming_the_setting(
    sandbox, tmp_path, change, expected
):
    config = {**sandbox.tap_config(), **change}
    config = {key: value for key, value in config.items() if value is not None}
    result = run_cli("--config", write(tmp_path / "config.json", config))
    assert_one_clear_failure(result, expected)
    assert sandbox.requests == []
    assert NOT_BASE64 not in result.stderr + result.stdout


@pytest.mark.parametrize("setting", ["merchant_id", "merchant_key_id", "merchant_secret_key"])
@pytest.mark.parametrize("value", [987654321012, ["k3yZ"], {"v": "Zq9w"}])
def test_a_credential_of_the_wrong_type_is_named_never_echoed(sandbox, tmp_path, setting, value):
    config = {**sandbox.tap_config(), setting: value}
    result = run_cli(
        "--config",
        write(tmp_path / "config.json", config),
        env={**os.environ, "TAP_INVOICING_LOGLEVEL": "DEBUG"},
    )
    assert_one_clear_failure(result, f"{setting}: must be of type string or null")
    shown = json.dumps(value)
    for text in {shown, str(value), *(str(v) for v in getattr(value, "values", list)())}:
        assert text not in result.stderr + result.stdout
    assert sandbox.requests == []


def test_an_unknown_setting_is_warned_about_naming_the_closest_known_one(sandbox, tmp_path):
    config = {**sandbox.tap_config(), "max_worker": 3, "page_size": 25}
    result = run_cli("--config", write(tmp_path / "config.json", config))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Unknown setting" in line]
    assert len(warnings) == 1
    assert "Unknown setting 'max_worker' ignored; did you mean 'max_workers'?" in warnings[0]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TAP_INVOICING_PAGE_SIZE", "abc", "TAP_INVOICING_PAGE_SIZE: must be an integer"),
        ("TAP_INVOICING_MAX_WORKERS", "abc", "max_workers: must be auto or a whole number"),
        ("TAP_INVOICING_MAX_REQUESTS_PER_SECOND", "fast", "must be a number"),
    ],
)
def test_an_environment_setting_of_the_wrong_type_is_one_line(sandbox, variable, value, expected):
    env = {f"TAP_INVOICING_{key.upper()}": str(v) for key, v in sandbox.tap_config().items()}
    result = run_cli("--config", "ENV", env={**os.environ, **env, variable: value})
    assert_one_clear_failure(result, expected)
    assert sandbox.requests == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"bookmarks": ["invoices"]}, "its bookmarks must be an object of stream bookmarks"),
        ({"bookmarks": {"invoices": "x"}}, "the bookmark of stream invoices must be an object"),
    ],
)
def test_a_state_of_the_wrong_shape_is_one_line(sandbox, tmp_path, state, expected):
    result = run_cli(
        "--config",
        write(tmp_path / "config.json", sandbox.tap_config()),
        "--state",
        write(tmp_path / "state.json", state),
    )
    assert_one_clear_failure(result, expected)
    assert sandbox.requests == []


@pytest.mark.parametrize(
    ("option", "content", "expected"),
    [
        ("--config", None, "cannot be read (No such file or directory)"),
        ("--config", '{"provider": ', "is not valid JSON (Expecting value"),
        ("--config", "[1, 2]", "must hold a JSON object of settings"),
        ("--state", "{not json", "is not valid JSON"),
        ("--state", '"a string"', "must hold a JSON object of state"),
        ("--catalog", '{"streams": {}}', "must hold a Singer catalog with a streams list"),
    ],
)
def test_an_unreadable_or_malformed_file_fails_with_one_line(
    sandbox, tmp_path, option, content, expected
):
    arguments = ["--config", write(tmp_path / "config.json", sandbox.tap_config())]
    path = tmp_path / f"{option.strip('-')}.input"
    if content is not None:
        write(path, content)
    if option == "--config":
        arguments = []
    result = run_cli(*arguments, option, str(path))
    assert_one_clear_failure(result, f"{option} {path}: {expected}")
    assert sandbox.requests == []


DAMAGED = {
    "format": 3,
    "made_for": {},
    "head_invoice_ids": [],
    "tail_invoice_ids": [],
    "remembered": {"streams": [], "invoices": {}, "gone": []},
}
"""A bookmark of this version's shape, each case below damaging one part of it."""


@pytest.mark.parametrize(
    ("bookmark", "expected"),
    [
        (
            {"replication_key": "submitTimeUtc", "replication_key_value": "2025-01-01T00:00:00Z"},
            "another version of tap-invoicing (format none; this version reads format 3)",
        ),
        (
            {**DAMAGED, "remembered": {}},
            "remembered in the state was not written by this version",
        ),
        (
            {**DAMAGED, "head_invoice_ids": "x"},
            "head_invoice_ids in the state must be a list of invoice ids",
        ),
        (
            {key: value for key, value in DAMAGED.items() if key != "tail_invoice_ids"},
            "the invoices bookmark in the state is damaged: it has no tail_invoice_ids",
        ),
    ],
)
def test_an_unusable_state_fails_before_any_request_with_one_line(
    sandbox, tmp_path, bookmark, expected
):
    result = run_cli(
        "--config",
        write(tmp_path / "config.json", sandbox.tap_config()),
        "--state",
        write(tmp_path / "state.json", {"bookmarks": {"invoices": bookmark}}),
    )
    assert_one_clear_failure(result, expected)
    assert sandbox.requests == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_at_once_with_one_clear_line(sandbox, tmp_path, status):
    config = sandbox.tap_config()
    if status == 401:
        config["merchant_secret_key"] = WRONG_SECRET
    else:
        sandbox.inject(Fault(kind="status", status=403, times=None))
    result = run_cli("--config", write(tmp_path / "config.json", config))
    assert_one_clear_failure(
        result,
        "authentication failed: CyberSource refused the credentials (merchant_id, "
        f"merchant_key_id, merchant_secret_key) with HTTP {status} on GET /invoicing/v2/invoices",
    )
    assert len(sandbox.requests) == 1, "a refused credential must not be retried"
    for secret in (config["merchant_secret_key"], config["merchant_key_id"]):
        assert secret not in result.stderr + result.stdout


def test_discovery_lists_the_three_streams_without_a_request(sandbox, tmp_path):
    result = run_cli(
        "--config", write(tmp_path / "config.json", sandbox.tap_config()), "--discover"
    )
    assert result.returncode == 0, result.stderr
    streams = {entry["tap_stream_id"]: entry for entry in json.loads(result.stdout)["streams"]}
    assert set(streams) == {"invoices", "invoice_line_items", "invoice_history"}
    assert streams["invoices"]["replication_key"] == "submitTimeUtc"
    assert sandbox.requests == []
