"""Revolv3 runs that meet faults, bad settings, refused tokens and a SIGKILL lose nothing and
say what went wrong in one line, without the token."""

from __future__ import annotations

import json

import pytest

from tap_invoicing.core.client import ApiClient
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import WRONG_TOKEN, no_waiting, run_cli, run_sync, run_until_stopped
from tests.revolv3.conftest import fast, invoice_ids


def comparable(result) -> dict:
    return {
        stream: sorted(
            json.dumps({k: v for k, v in r.items() if k != "lastUpdateEndDate"}, default=str)
            for r in result.records(stream)
        )
        for stream in ("invoices", "invoice_line_items", "invoice_attempts")
    }


FAULTS = [
    Fault(kind="status", status=500, route="list", times=2),
    Fault(kind="status", status=503, route="detail", times=3),
    Fault(kind="drop", route="detail", times=2, after=5),
    Fault(kind="garbage", route="detail", times=1, after=8),
    Fault(kind="truncate", route="list", times=1, after=1),
    Fault(kind="missing_fields", route="list", times=1),
    Fault(kind="missing_fields", route="detail", times=1, after=3),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.route}")
def test_faults_are_survived_with_identical_output(revolv3, revolv3_config, fault, monkeypatch):
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    clean = run_sync(revolv3_config)
    revolv3.inject(fault)
    faulty = run_sync(revolv3_config)
    assert comparable(faulty) == comparable(clean)


def test_a_404_for_the_list_fails_the_run_in_one_line(revolv3, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**fast(revolv3), "base_url": revolv3.base_url + "/v0"}))
    result = run_cli("--config", str(config))
    assert result.returncode == 1
    assert "HTTP 404 for the invoice list" in result.stderr
    assert "Traceback" not in result.stderr
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"static_token": None}, "static_token: is required for provider revolv3"),
        ({"page_size": 101}, "page_size: must be between 1 and 100"),
        ({"lookback_minutes": -1}, "lookback_minutes: must be between 0 and"),
        ({"max_list_pages": 0}, "max_list_pages: must be at least 1"),
        ({"environment": "test"}, "environment: revolv3 supports production, sandbox"),
        ({"include_raw_processor_response": "yes"}, "include_raw_processor_response: must be"),
    ],
)
def test_a_bad_setting_is_named_before_any_request(revolv3, tmp_path, change, expected):
    settings = {**fast(revolv3), **change}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({k: v for k, v in settings.items() if v is not None}))
    result = run_cli("--config", str(config))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert revolv3.requests == []


def test_a_refused_token_stops_at_once_naming_the_provider_and_setting(revolv3, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**fast(revolv3), "static_token": WRONG_TOKEN}))
    result = run_cli("--config", str(config), env=None)
    assert result.returncode == 1
    assert (
        "authentication failed: Revolv3 refused the credentials (static_token) with HTTP 401 on "
        "GET /api/Invoices/v1" in result.stderr
    )
    assert WRONG_TOKEN not in result.stderr + result.stdout
    assert len(revolv3.requests) == 1


def test_an_echoed_token_is_masked_in_error_lines(revolv3, revolv3_config, caplog):
    token = revolv3_config["static_token"]
    revolv3.inject(
        Fault(kind="status", status=400, route="list", body={"message": f"bad token {token}"})
    )
    with pytest.raises(Exception, match="redacted"):
        run_sync(revolv3_config)
    assert token not in caplog.text


@pytest.mark.parametrize("killed_run", ["first", "incremental"])
def test_resuming_after_sigkill_loses_nothing(tmp_path, killed_run):
    with Sandbox(provider="revolv3", invoices=90, seed=29, latency=0.005, rate_limits=()) as sb:
        config = {**fast(sb), "page_size": 30}
        state = None
        if killed_run == "incremental":
            state = run_sync(config).state
            billable = [i for i in sb.invoice_ids() if sb.invoice(i)["invoiceStatus"] == "Pending"]
            sb.api.pay(billable[0])
            sb.api.add(2)
        clean = run_sync(config, state=state)
        last_state = run_until_stopped(tmp_path, config, state, records_before_stop=3).state
        resumed = run_sync(config, state=last_state)
        assert set(invoice_ids(clean)) <= set(invoice_ids(resumed))
        assert comparable(clean) == comparable(resumed)
