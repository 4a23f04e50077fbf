"""Revolv3's documented rate limit (20 requests in any sliding second) is never hit with
default settings, and a 429 (which comes without Retry-After) pauses every worker."""

from __future__ import annotations

import pytest

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.ratelimit import RateLimit
from tests.conftest import run_sync
from tests.revolv3.conftest import FAST, invoice_ids


def busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(times)
    most, first = 0, 0
    for last, arrived in enumerate(times):
        while arrived - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.slow
def test_default_settings_get_no_429_over_a_long_run():
    with Sandbox(provider="revolv3", invoices=400, seed=27, latency=0.01) as sandbox:
        result = run_sync(sandbox.tap_config())
        served = sandbox.requests
    assert len(invoice_ids(result)) == 400
    assert len(served) > 400  # a detail per invoice, plus the list pages: over 20 s of requests
    assert [r for r in served if r.status == 429] == []
    assert busiest_second([r.time for r in served]) <= 19


def test_a_429_pauses_all_workers_and_loses_nothing():
    with Sandbox(
        provider="revolv3", invoices=40, seed=28, rate_limits=(RateLimit(10, 1.0),)
    ) as sandbox:
        result = run_sync({**sandbox.tap_config(), "max_requests_per_second": FAST})
        throttled = [r for r in sandbox.requests if r.status == 429]
        assert throttled, "the tap was let to exceed the limit"
        assert sorted(invoice_ids(result)) == sorted(sandbox.invoice_ids())
