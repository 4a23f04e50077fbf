"""The Meltano SDK's standard tap tests, run against the bundled sandbox."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing

# The SDK builds the test class at import time from a config, so the sandbox starts with the module.
SANDBOX = Sandbox(provider="cybersource", invoices=40, seed=3)
SANDBOX.start()
atexit.register(SANDBOX.stop)

TestTapInvoicing = get_tap_test_class(
    tap_class=TapInvoicing,
    config={**SANDBOX.tap_config(), "page_size": 15},
    suite_config=SuiteConfig(max_records_limit=None),
)
