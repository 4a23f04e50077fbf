"""No credential, signature or merchant id in any output, at any log level.

tests/conftest.py watches the captured output of every test (logs at DEBUG included) and every
tap output its runners see; these tests prove the watch sees secrets, and drive the CLI at DEBUG
level through success, refusal and failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tap_invoicing.core.client import ApiClient
from tap_invoicing.core.sdk import InvoicesStream
from tap_invoicing.sandbox import Fault
from tap_invoicing.sandbox.cybersource.signature import Credentials
from tap_invoicing.tap import TapInvoicing
from tests.conftest import WRONG_SECRET, run_cli, secrets_in


def test_the_watch_recognises_each_kind_of_secret():
    credentials = Credentials.for_seed(11)
    for leak in (
        credentials.merchant_secret_key,
        credentials.merchant_key_id,
        f"v-c-merchant-id: {credentials.merchant_id}",
        'Signature: keyid="k", algorithm="HmacSHA256", signature="c2lnbmF0dXJl"',
        WRONG_SECRET,
    ):
        assert secrets_in(f"a log line with {leak} in it")
    assert not secrets_in(
        "GET /invoicing/v2/invoices/10001 200, id 123e4567-e89b-42d3-a456-4266141740"
    )


@pytest.mark.parametrize(
    "scenario", ["success", "refused", "forbidden", "exhausted", "bad-setting"]
)
def test_no_secret_reaches_any_output_at_debug_level(sandbox, tmp_path, scenario):
    config = {**sandbox.tap_config(), "page_size": 20}
    if scenario == "refused":
        config["merchant_secret_key"] = WRONG_SECRET
    elif scenario == "forbidden":
        sandbox.inject(Fault(kind="status", status=403, times=None))
    elif scenario == "exhausted":
        sandbox.inject(
            Fault(kind="status", status=503, headers={"Retry-After": "0"}, after=3, times=None)
        )
    elif scenario == "bad-setting":
        config["base_url"] = "http://api.example.com"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_cli("--config", str(path), env={**os.environ, "TAP_INVOICING_LOGLEVEL": "DEBUG"})
    assert "| DEBUG" in result.stderr, "the run logged at debug level"
    assert result.returncode == (0 if scenario == "success" else 1)


def test_tls_verification_stays_on(sandbox):
    config = {**sandbox.tap_config(), "base_url": "https://apitest.cybersource.com"}
    stream = TapInvoicing(config=config).streams["invoices"]
    assert isinstance(stream, InvoicesStream)
    api = stream.provider.make_api(stream.settings)
    client = ApiClient(stream.provider, api, stream.settings, stream.logger)
    verify = client.session.verify  # True, or REQUESTS_CA_BUNDLE's certificates
    assert verify is True or Path(verify).is_file()
    assert stream.settings.api_root == "https://apitest.cybersource.com"
