"""The fetch engine's parts on their own: the bounded worker pool and the request gate."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from tap_invoicing.core.concurrency import FixedLimit
from tap_invoicing.core.fetch import SUBMITTED_PER_PLACE, fetch_all
from tap_invoicing.core.throttle import RequestGate, RequestsStopped

LOGGER = logging.getLogger("tests.fetch_engine")


class CountingItems:
    """An item source that counts how many items were taken from it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    def __iter__(self):
        for item in range(self.count):
            self.taken += 1
            yield item


def test_every_item_is_fetched_once_and_few_are_held_at_a_time():
    workers = 4
    items = CountingItems(300)
    calls: list[int] = []
    lock = threading.Lock()

    def fetch(item: int) -> int:
        with lock:
            calls.append(item)
        time.sleep(random.uniform(0, 0.003))
        return item * 2

    results = {}
    pairs = fetch_all(items, fetch, limit=FixedLimit(workers), on_abort=lambda: None)
    for handed_back, (item, result) in enumerate(pairs, start=1):
        # Taken from the source but not handed back yet: in flight or queued, never more.
        assert items.taken - handed_back < SUBMITTED_PER_PLACE * workers
        results[item] = result
    assert results == {item: item * 2 for item in range(300)}
    assert sorted(calls) == list(range(300))


def test_one_worker_fetches_in_order_on_the_callers_thread():
    threads = set()

    def fetch(item: int) -> int:
        threads.add(threading.get_ident())
        return item

    pairs = list(fetch_all(range(20), fetch, limit=FixedLimit(1), on_abort=lambda: None))
    assert pairs == [(i, i) for i in range(20)]
    assert threads == {threading.get_ident()}


@pytest.mark.parametrize("workers", [1, 4])
def test_a_failed_fetch_stops_the_run_and_starts_nothing_more(workers):
    started: list[int] = []
    aborted = threading.Event()

    def fetch(item: int) -> int:
        started.append(item)
        if item == 10:
            raise ValueError("detail 10 is broken")
        time.sleep(0.01)
        return item

    with pytest.raises(ValueError, match="detail 10 is broken"):
        for _ in fetch_all(range(1000), fetch, limit=FixedLimit(workers), on_abort=aborted.set):
            pass
    assert aborted.is_set()
    time.sleep(0.1)  # workers finish what they had started, then take nothing new
    assert len(started) <= 10 + 1 + SUBMITTED_PER_PLACE * workers


def test_the_gate_spaces_requests_from_all_threads():
    gate = RequestGate(50, LOGGER, FixedLimit(8))
    passed = []

    def request() -> None:
        for _ in range(5):
            with gate.turn():
                passed.append(1)

    threads = [threading.Thread(target=request) for _ in range(4)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 20 requests at 50 per second: the last cannot start before 19 intervals have passed.
    assert len(passed) == 20
    assert time.monotonic() - began >= 19 / 50


def test_a_pause_hit_by_every_worker_is_logged_once_and_holds_them_all(caplog):
    gate = RequestGate(None, LOGGER, FixedLimit(8))
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        threads = [
            threading.Thread(target=gate.pause, args=(0.3, "HTTP 429 on GET /x")) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        before = time.monotonic()
        with gate.turn():
            pass
    assert time.monotonic() - before >= 0.25
    assert [r.getMessage() for r in caplog.records] == [
        "HTTP 429 on GET /x: pausing all requests for 0.3 s"
    ]
    assert gate.pauses == 1


def test_stopping_the_gate_releases_waiting_requests_at_once():
    gate = RequestGate(None, LOGGER, FixedLimit(8))
    gate.pause(60, "HTTP 503 on GET /x")
    outcome: list[BaseException] = []

    def request() -> None:
        try:
            with gate.turn():
                pass
        except RequestsStopped as error:
            outcome.append(error)

    waiting = threading.Thread(target=request)
    waiting.start()
    gate.stop()
    waiting.join(timeout=5)
    assert not waiting.is_alive()
    assert len(outcome) == 1
