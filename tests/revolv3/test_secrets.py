"""No Revolv3 static token in any output, at any log level.

tests/conftest.py watches the captured output of every test (logs at DEBUG included) and every
tap output its runners see; these tests prove the watch sees a Revolv3 token, and drive the CLI
at DEBUG level through success, refusal and failure, an error body that echoes the token too.
"""

from __future__ import annotations

import json
import os

import pytest

from tap_invoicing.sandbox import Fault, Sandbox
from tap_invoicing.sandbox.revolv3.auth import AUTH_HEADER, Credentials
from tests.conftest import WRONG_TOKEN, run_cli, secrets_in
from tests.revolv3.conftest import fast

NO_WAIT = {"Retry-After": "0"}
"""Retries at once: the eight tries of an exhausted run take no time."""
OUTCOMES = {
    "success": "",
    "refused": "Revolv3 refused the credentials (static_token) with HTTP 401",
    "forbidden": "Revolv3 refused the credentials (static_token) for every invoice detail",
    "exhausted": "still failing after 8 tries: HTTP 503",
    "echoed": "still failing after 8 tries: HTTP 500",
    "bad-setting": "base_url: plain http is only allowed for a loopback host",
}
"""What each scenario's run must say: proof it went the way the scenario means."""


def test_the_watch_recognises_a_revolv3_token():
    token = Credentials.for_seed(21).static_token
    for leak in (token, f"{AUTH_HEADER}: {token}", f'{{"message": "bad token {token}"}}'):
        assert secrets_in(f"a log line with {leak} in it")
    assert secrets_in(f"refused {WRONG_TOKEN}")
    assert not secrets_in("GET /api/Invoices/100006 200, invoiceAttemptId 400008")


def arrange(sandbox: Sandbox, scenario: str) -> dict:
    """The tap config of a scenario, with the sandbox's faults for it armed."""
    config = {**fast(sandbox), "page_size": 20}
    token = config["static_token"]
    if scenario == "refused":
        config["static_token"] = WRONG_TOKEN
    elif scenario == "forbidden":
        sandbox.inject(Fault(kind="status", status=403, route="detail", times=None))
    elif scenario == "exhausted":
        sandbox.inject(Fault(kind="status", status=503, headers=NO_WAIT, after=3, times=None))
    elif scenario == "echoed":
        body = {"message": f"Invalid token {token}", "errors": [f"{AUTH_HEADER}={token}"]}
        sandbox.inject(
            Fault(kind="status", status=500, body=body, headers=NO_WAIT, route="detail", times=None)
        )
    elif scenario == "bad-setting":
        config["base_url"] = "http://api.example.com"
    return config


@pytest.mark.parametrize("scenario", OUTCOMES)
def test_no_token_reaches_any_output_at_debug_level(revolv3, tmp_path, scenario):
    config = arrange(revolv3, scenario)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_cli("--config", str(path), env={**os.environ, "TAP_INVOICING_LOGLEVEL": "DEBUG"})
    output = result.stdout + result.stderr
    assert "| DEBUG" in result.stderr, "the run logged at debug level"
    assert revolv3.credentials.static_token not in output
    assert WRONG_TOKEN not in output
    assert result.returncode == (0 if scenario == "success" else 1)
    assert OUTCOMES[scenario] in result.stderr
    if scenario == "echoed":
        assert "[redacted]" in result.stderr, "the echoed body was shown, masked"
        assert len(revolv3.detail_requests()) >= 8, "the retries were exhausted"
