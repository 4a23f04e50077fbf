"""PayPal's OAuth token: one for all workers, renewed before it expires and once after a 401."""

from __future__ import annotations

import json
import time

import pytest

from tap_invoicing.errors import AuthenticationFailedError
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import run_cli, run_sync
from tests.paypal.conftest import invoice_ids, token_requests


def test_a_token_expiring_mid_run_is_renewed_once_for_all_eight_workers():
    with Sandbox(
        provider="paypal", invoices=300, seed=47, latency=0.03, token_lifetime=1.0
    ) as paypal:
        started = time.monotonic()
        result = run_sync({**paypal.tap_config(), "max_workers": 8})
        elapsed = time.monotonic() - started
        assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
        tokens = token_requests(paypal)
        assert elapsed > 1.0, "the run outlived its first token"
        assert 2 <= tokens <= elapsed / 0.9 + 1, tokens  # one per lifetime, not one per worker
        assert not [r for r in paypal.requests if r.status == 401]


def test_a_revoked_token_is_replaced_once_and_nothing_is_lost():
    with Sandbox(provider="paypal", invoices=120, seed=48, latency=0.01) as paypal:
        revoked = []

        def revoke_once(incoming) -> None:
            if incoming.kind == "detail" and not revoked:
                revoked.append(True)
                paypal.api.revoke_tokens()

        paypal.on_request(revoke_once)
        result = run_sync({**paypal.tap_config(), "max_workers": 8})
        assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
        assert token_requests(paypal) == 2


def test_a_refused_client_secret_stops_at_once_in_one_line(paypal, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**paypal.tap_config(), "client_secret": "not-the-secret"}))
    result = run_cli("--config", str(config))
    assert result.returncode == 1
    assert (
        "authentication failed: PayPal refused the credentials (client_id, client_secret) with "
        "HTTP 401 on POST /v1/oauth2/token" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert "not-the-secret" not in result.stderr + result.stdout
    assert token_requests(paypal) == 1


def test_a_token_refused_twice_stops_the_run(paypal, paypal_config):
    paypal.inject(Fault(kind="status", status=401, route="list", times=2))
    with pytest.raises(AuthenticationFailedError, match="PayPal refused the credentials"):
        run_sync(paypal_config)
    assert token_requests(paypal) == 2


def test_a_failing_token_request_is_retried_like_any_request(paypal, paypal_config):
    paypal.inject(Fault(kind="status", status=503, route="token", times=1))
    result = run_sync(paypal_config)
    assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
    assert token_requests(paypal) == 2
