"""The adaptive concurrency limit on its own, fed made-up round trips: how it grows, where it
stops, how it answers latency that climbs and refusals for load."""

from __future__ import annotations

import logging
import threading

import pytest

from tap_invoicing.core.concurrency import (
    INITIAL_LIMIT,
    AdaptiveLimit,
    ConcurrencyLimit,
    FixedLimit,
)
from tap_invoicing.core.fetch import SUBMITTED_PER_PLACE, fetch_all
from tap_invoicing.core.progress import Progress
from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.core.throttle import RequestGate
from tap_invoicing.providers import PROVIDERS

LOGGER = logging.getLogger("tests.concurrency_limit")


class Clock:
    """A clock the rounds move: each round at full concurrency takes one round trip."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def adaptive(**options) -> AdaptiveLimit:
    return AdaptiveLimit(ceiling=options.pop("ceiling", 64), clock=Clock(), **options)


def full_round(limit: AdaptiveLimit, latency: float, *, lasting: float | None = None) -> None:
    """One round trip at full concurrency: as many responses as the limit, all of them with
    the limit in flight, taking ``lasting`` seconds (one latency unless said)."""
    in_flight = limit.limit
    limit._clock.now += latency if lasting is None else lasting
    for _ in range(in_flight):
        limit.on_response(latency, in_flight)


def test_it_starts_at_eight_and_grows_by_half_per_round_while_latency_is_flat():
    limit = adaptive()
    seen = [limit.limit]
    for _ in range(6):
        full_round(limit, 0.1)
        seen.append(limit.limit)
    assert seen == [INITIAL_LIMIT, 12, 18, 27, 40, 60, 64]


def test_the_ceiling_binds():
    limit = adaptive(ceiling=10)
    for _ in range(10):
        full_round(limit, 0.1)
    assert limit.limit == 10


def test_a_round_that_did_not_fill_the_limit_grows_nothing():
    limit = adaptive()
    for _ in range(10):
        limit._clock.now += 0.1
        for _ in range(limit.limit):
            limit.on_response(0.1, 2)  # a rate cap keeps two in flight
    assert limit.limit == INITIAL_LIMIT


def test_latency_climbing_past_the_tolerance_shrinks_the_limit_in_proportion():
    limit = adaptive()
    for _ in range(3):
        full_round(limit, 0.1)
    assert limit.limit == 27
    full_round(limit, 0.3)  # three times the baseline: queuing
    assert limit.limit == 13  # 27 x 0.1 x 1.5 / 0.3 = 13.5
    full_round(limit, 0.1)  # flat again: additive growth now, slow start is over
    assert limit.limit == 14


def test_latency_climbing_while_throughput_still_rises_grows_the_limit_by_one():
    limit = adaptive()
    for _ in range(3):
        full_round(limit, 0.02)
    assert limit.limit == 27  # 27 per 20 ms: 1,350 per second
    # Twice the latency: this machine's CPU queues the responses, yet the round of 27 took 15 ms
    # (1,800 per second): overlapping more still pays.
    full_round(limit, 0.04, lasting=0.015)
    assert limit.limit == 28
    full_round(limit, 0.04, lasting=0.0155)  # no faster than the best round: queuing for nothing
    assert limit.limit == 21  # 28 x 0.02 x 1.5 / 0.04


def test_latency_within_the_tolerance_is_not_queuing():
    limit = adaptive()
    for latency in (0.1, 0.14, 0.12, 0.149):
        full_round(limit, latency)
    assert limit.limit == 40


def test_a_refusal_cuts_below_the_point_the_api_shed_at_once_per_cut():
    limit = adaptive()
    for _ in range(3):
        full_round(limit, 0.1)
    assert limit.limit == 27
    epoch = limit.epoch
    # The API served 24 and refused the 25th; the other refusals of that burst were sent under
    # the same limit and say nothing new.
    assert limit.on_shed(sent_with=25, epoch=epoch)
    assert limit.limit == 20  # 24 x 0.85
    assert not limit.on_shed(sent_with=26, epoch=epoch)
    assert not limit.on_shed(sent_with=27, epoch=epoch)
    assert limit.limit == 20


def test_growth_near_the_shedding_point_is_careful():
    limit = adaptive()
    for _ in range(3):
        full_round(limit, 0.1)
    limit.on_shed(sent_with=21, epoch=limit.epoch)  # the point: 20; the limit: 17
    assert limit.limit == 17
    seen = []
    for _ in range(25):
        full_round(limit, 0.1)
        seen.append(limit.limit)
    # +1 per round up to 90% of the point (18), then +1 per ten rounds.
    assert seen[:2] == [18, 18]
    assert seen[10] == 19
    assert seen[20] == 20
    assert max(seen) == 20


def test_a_refusal_at_one_request_at_a_time_leaves_it_at_one():
    limit = adaptive(initial=1)
    assert limit.on_shed(sent_with=1, epoch=limit.epoch)
    assert limit.limit == 1
    assert limit.at_floor


def test_a_fixed_pool_waits_where_auto_cuts():
    gate = RequestGate(None, LOGGER, FixedLimit(8))
    gate.refused(0.01, "HTTP 429 on GET /x")
    assert gate.pauses == 1
    auto = RequestGate(None, LOGGER, adaptive())
    auto.refused(0.01, "HTTP 429 on GET /x")
    assert auto.pauses == 0
    floored = RequestGate(None, LOGGER, adaptive(initial=1))
    floored.refused(0.01, "HTTP 429 on GET /x")
    assert floored.pauses == 1


def test_the_gate_holds_requests_to_the_limit_and_lets_a_nested_request_share_a_place():
    gate = RequestGate(None, LOGGER, FixedLimit(1))
    with gate.turn(), gate.turn():  # a token request sent from within a detail request
        assert gate.in_flight == 1
    assert gate.in_flight == 0
    entered = threading.Event()

    def second() -> None:
        with gate.turn():
            entered.set()

    with gate.turn():
        other = threading.Thread(target=second)
        other.start()
        assert not entered.wait(0.2)  # one place, and it is taken
    other.join(5)
    assert entered.is_set()
    assert gate.peak == 1


class ShrinkingLimit(FixedLimit):
    """A limit that drops from 16 to 2 after some results, as an adaptive one can."""

    adaptive = True


def test_fetches_held_follow_the_limit_down():
    limit = ShrinkingLimit(16)
    taken = 0

    def items():
        nonlocal taken
        for item in range(400):
            taken += 1
            yield item

    handed_back = 0
    for _ in fetch_all(items(), lambda item: item, limit=limit, on_abort=lambda: None):
        handed_back += 1
        if handed_back == 100:
            limit.limit = 2
        if handed_back > 100 + SUBMITTED_PER_PLACE * 16:
            assert taken - handed_back < SUBMITTED_PER_PLACE * 2
    assert handed_back == 400


def test_the_progress_line_shows_the_requests_in_flight_and_the_last_line_does_not():
    progress = Progress(LOGGER, in_flight=lambda: 24)
    progress.advance(total=100, fetched=True)
    assert progress.summary(100).endswith(", 1 details fetched, 24 in flight")
    assert progress.summary(100, live=False).endswith(", 1 details fetched")


def concurrency_limit(config: dict) -> ConcurrencyLimit:
    return RunSettings.parse(config, PROVIDERS["cybersource"]).concurrency_limit()


@pytest.mark.parametrize("value", ["auto", None])
def test_auto_is_the_default(value):
    config = {} if value is None else {"max_workers": value}
    limit = concurrency_limit(config)
    assert limit.adaptive
    assert limit.ceiling == 64
    assert concurrency_limit({"max_workers": "12"}).limit == 12
    assert concurrency_limit({"max_workers_ceiling": 20}).ceiling == 20
