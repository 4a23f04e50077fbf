"""The Meltano SDK's standard tap tests and singer-check-tap, on a PayPal sandbox."""

from __future__ import annotations

import atexit
import json

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import last_state, run_cli, singer_check
from tests.paypal.conftest import with_status

# The SDK builds the test class at import time from a config, so the sandbox starts with the module.
SANDBOX = Sandbox(provider="paypal", invoices=80, seed=50)
SANDBOX.start()
atexit.register(SANDBOX.stop)

TestTapInvoicingPayPal = get_tap_test_class(
    tap_class=TapInvoicing,
    config={**SANDBOX.tap_config(), "page_size": 15},
    suite_config=SuiteConfig(max_records_limit=None),
)


def test_singer_check_tap_passes_on_a_full_run_and_on_the_state_run(paypal, tmp_path):
    config, state = tmp_path / "config.json", tmp_path / "state.json"
    config.write_text(json.dumps({**paypal.tap_config(), "page_size": 25}))
    full = run_cli("--config", str(config))
    assert full.returncode == 0
    assert "invoices           | 80 " in singer_check(full.stdout, tmp_path)
    refunded = with_status(paypal, "PAID")[0]
    paypal.api.refund(refunded)
    state.write_text(json.dumps(last_state(full.stdout)))
    incremental = run_cli("--config", str(config), "--state", str(state))
    assert incremental.returncode == 0
    assert "invoice_refunds" in singer_check(incremental.stdout, tmp_path)
    assert refunded in incremental.stdout
