"""PayPal runs that meet faults, throttling, bad settings and a SIGKILL lose nothing, and say
what went wrong in one line with PayPal's debug_id, never a secret or a token."""

from __future__ import annotations

import json
import os

import pytest

from tap_invoicing.core.client import ApiClient
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import no_waiting, run_cli, run_sync, run_until_stopped
from tests.paypal.conftest import invoice_ids, with_status


def comparable(result) -> dict:
    return {
        stream: sorted(json.dumps(r, sort_keys=True, default=str) for r in result.records(stream))
        for stream in ("invoices", "invoice_line_items", "invoice_payments", "invoice_refunds")
    }


FAULTS = [
    Fault(kind="status", status=500, route="list", times=2),
    Fault(kind="status", status=429, route="detail", times=3),
    Fault(kind="drop", route="detail", times=2, after=4),
    Fault(kind="garbage", route="detail", times=1, after=6),
    Fault(kind="truncate", route="list", times=1, after=1),
    Fault(kind="missing_fields", route="list", times=1),
    Fault(kind="status", status=503, route="token", times=2),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.status}-{f.route}")
def test_faults_are_survived_with_identical_output(paypal, paypal_config, fault, monkeypatch):
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    clean = run_sync(paypal_config)
    paypal.inject(fault)
    assert comparable(run_sync(paypal_config)) == comparable(clean)


def test_throttling_pauses_every_worker_and_names_the_debug_id(paypal, paypal_config, caplog):
    paypal.inject(Fault(kind="status", status=429, route="detail", times=8))
    result = run_sync({**paypal_config, "max_workers": 8})
    assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
    pauses = [r for r in caplog.records if "pausing all requests" in r.getMessage()]
    assert pauses and "debug_id" in pauses[0].getMessage()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"client_secret": None}, "client_secret: is required for provider paypal"),
        ({"client_id": None}, "client_id: is required for provider paypal"),
        ({"page_size": 101}, "page_size: must be between 1 and 100"),
        ({"environment": "test"}, "environment: paypal supports live, sandbox"),
        ({"max_list_pages": 0}, "max_list_pages: must be at least 1"),
    ],
)
def test_a_bad_setting_is_named_before_any_request(paypal, tmp_path, change, expected):
    settings = {**paypal.tap_config(), **change}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({k: v for k, v in settings.items() if v is not None}))
    result = run_cli("--config", str(config))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert paypal.requests == []


def test_no_secret_or_token_reaches_any_output_at_debug_level(paypal, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(paypal.tap_config()))
    paypal.inject(Fault(kind="status", status=500, route="detail", times=1))
    result = run_cli("--config", str(config), env={**os.environ, "TAP_INVOICING_LOGLEVEL": "DEBUG"})
    assert result.returncode == 0
    assert "| DEBUG" in result.stderr
    output = result.stdout + result.stderr
    assert paypal.credentials.client_secret not in output
    assert all(token not in output for token in paypal.api.issued_tokens())
    assert "Bearer " not in output and "Basic " not in output


@pytest.mark.parametrize("killed_run", ["first", "incremental"])
def test_resuming_after_sigkill_loses_nothing(tmp_path, killed_run):
    with Sandbox(provider="paypal", invoices=90, seed=49, latency=0.005) as paypal:
        config = {**paypal.tap_config(), "page_size": 30}
        state = None
        if killed_run == "incremental":
            state = run_sync(config).state
            paypal.api.refund(with_status(paypal, "PAID")[0])
            paypal.api.add(2)
        clean = run_sync(config, state=state)
        last_state = run_until_stopped(tmp_path, config, state, records_before_stop=3).state
        assert comparable(run_sync(config, state=last_state)) == comparable(clean)
