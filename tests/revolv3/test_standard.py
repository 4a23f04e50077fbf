"""The Meltano SDK's standard tap tests and singer-check-tap, on a Revolv3 sandbox."""

from __future__ import annotations

import atexit
import json

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import last_state, run_cli, singer_check
from tests.revolv3.conftest import fast

# The SDK builds the test class at import time from a config, so the sandbox starts with the module.
SANDBOX = Sandbox(provider="revolv3", invoices=40, seed=31, rate_limits=())
SANDBOX.start()
atexit.register(SANDBOX.stop)

TestTapInvoicingRevolv3 = get_tap_test_class(
    tap_class=TapInvoicing,
    config={**fast(SANDBOX), "page_size": 15},
    suite_config=SuiteConfig(max_records_limit=None),
)


def test_singer_check_tap_passes_on_a_full_run_and_on_the_state_run(revolv3, tmp_path):
    config, state = tmp_path / "config.json", tmp_path / "state.json"
    config.write_text(json.dumps({**fast(revolv3), "page_size": 25}))
    full = run_cli("--config", str(config))
    assert full.returncode == 0
    assert "invoices           | 60 " in singer_check(full.stdout, tmp_path)
    pending = [i for i in revolv3.invoice_ids() if revolv3.invoice(i)["invoiceStatus"] == "Pending"]
    revolv3.api.pay(pending[0])
    state.write_text(json.dumps(last_state(full.stdout)))
    incremental = run_cli("--config", str(config), "--state", str(state))
    assert incremental.returncode == 0
    assert "invoice_attempts" in singer_check(incremental.stdout, tmp_path)
    assert f'"invoiceId":{pending[0]}' in incremental.stdout.replace(" ", "")
