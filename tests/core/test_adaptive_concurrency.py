"""``max_workers: auto`` against the sandbox: the same records as a fixed pool, under the API's
shedding point once it has found it, under a rate cap, and above its start when round trips are
long. Behaviour only: how fast it goes is bench/throughput.py's business."""

from __future__ import annotations

import logging
import re

import pytest

from tap_invoicing.core.concurrency import INITIAL_LIMIT
from tap_invoicing.sandbox import Sandbox
from tests.conftest import everything, run_sync

SETTLED = re.compile(r"concurrency settled at (\d+) \(peak (\d+) in flight\), (\d+) answered 429")


def final_concurrency(caplog: pytest.LogCaptureFixture) -> tuple[int, int, int]:
    """(limit, peak, refusals) from the run's final line."""
    lines = [r.getMessage() for r in caplog.records if "; list read: " in r.getMessage()]
    assert len(lines) == 1, lines
    match = SETTLED.search(lines[0])
    assert match, lines[0]
    limit, peak, shed = (int(group) for group in match.groups())
    return limit, peak, shed


def test_auto_emits_exactly_the_records_and_state_of_a_fixed_pool():
    with Sandbox(invoices=150, seed=21, latency=0.02, latency_jitter=0.5) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 40}
        fixed = run_sync({**config, "max_workers": 8})
        auto = run_sync({**config, "max_workers": "auto"})
        by_default = run_sync(config)
    assert everything(auto) == everything(fixed) == everything(by_default)
    assert len(auto.ids()) == len(set(auto.ids())) == 150
    bookmark, reference = (run.state["bookmarks"]["invoices"] for run in (auto, fixed))
    # All but the server's clock at the last answer, which no two runs share.
    assert bookmark.pop("replication_key_value") and reference.pop("replication_key_value")
    assert bookmark == reference


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_auto_stays_under_the_apis_shedding_point_once_found_and_loses_nothing(caplog, retry_after):
    shed_above, latency = 16, 0.05
    with Sandbox(
        invoices=400, seed=22, latency=latency, shed_above=shed_above, shed_retry_after=retry_after
    ) as sandbox:
        clean = run_sync({**sandbox.tap_config(), "max_workers": 8})  # never near the point
        before = len(sandbox.load.arrivals)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            shed_run = run_sync(sandbox.tap_config())
        arrivals = sandbox.load.arrivals[before:]
    assert not any(arrival.shed for arrival in sandbox.load.arrivals[:before])
    assert everything(shed_run) == everything(clean)
    assert len(shed_run.ids()) == len(set(shed_run.ids())) == 400
    refused = [arrival for arrival in arrivals if arrival.shed]
    assert refused, "the run never reached the shedding point: the test proves nothing"
    # Once the first refusal has come back (one round trip, plus one for the requests sent
    # before it did), the tap keeps to the point, probing one request past it at most.
    settled_after = refused[0].at + 2 * latency
    later = [arrival.open for arrival in arrivals if arrival.at > settled_after]
    assert later
    assert max(later) <= shed_above + 2
    _, _, shed = final_concurrency(caplog)
    assert shed == len(refused)
    assert not [r for r in caplog.records if "pausing all requests" in r.getMessage()]


def test_auto_under_a_rate_cap_keeps_to_the_cap_and_grows_no_further(caplog):
    cap = 20
    with Sandbox(invoices=60, seed=23, latency=0.1) as sandbox:
        config = {**sandbox.tap_config(), "max_requests_per_second": cap}
        with caplog.at_level(logging.INFO):
            result = run_sync(config)
        arrivals = sorted(arrival.at for arrival in sandbox.load.arrivals)
    assert len(result.ids()) == 60
    # No second holds more than ``cap`` requests (less 20 ms for loopback scheduling jitter).
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[cap:], strict=False)]
    assert min(gaps) >= 1.0 - 0.02
    limit, peak, _ = final_concurrency(caplog)
    # 20 per second of 100 ms each keep about two in flight: the limit has no reason to grow.
    assert limit <= INITIAL_LIMIT
    assert peak < INITIAL_LIMIT


def test_auto_grows_past_its_start_when_round_trips_are_long(caplog):
    with Sandbox(invoices=300, seed=24, latency=0.15, latency_jitter=0.3) as sandbox:
        with caplog.at_level(logging.INFO):
            result = run_sync(sandbox.tap_config())
        most_open = max(arrival.open for arrival in sandbox.load.arrivals)
    assert len(result.ids()) == 300
    limit, peak, shed = final_concurrency(caplog)
    assert shed == 0
    assert peak > INITIAL_LIMIT * 2
    assert most_open > INITIAL_LIMIT * 2
    assert limit > INITIAL_LIMIT


def test_a_fixed_pool_keeps_its_size_whatever_the_latency(caplog):
    with Sandbox(invoices=100, seed=25, latency=0.1) as sandbox:
        with caplog.at_level(logging.INFO):
            run_sync({**sandbox.tap_config(), "max_workers": 4})
        most_open = max(arrival.open for arrival in sandbox.load.arrivals)
    assert most_open <= 4
    lines = [r.getMessage() for r in caplog.records if "; list read: " in r.getMessage()]
    assert "concurrency fixed at 4 (peak 4 in flight), 0 answered 429/503" in lines[0]
