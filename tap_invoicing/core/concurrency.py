"""How many requests a run keeps in flight: a fixed number, or one that adapts to the API.

No user knows in advance how much load an API accepts, or at which concurrency the round trips
stop overlapping and start queuing (at the API, or on this machine's CPU). ``max_workers: auto``
finds out while the run goes, in rounds: a round ends once as many responses came back as the
limit allows in flight, i.e. about one round trip at full concurrency.

- **Latency, as TCP Vegas.** The baseline is the lowest mean round latency seen (forgetting 1%
  per round, so that an API that became slower for good is not held to its best moment). A round
  whose mean stays within ``LATENCY_TOLERANCE`` of it, having used the whole limit, means more
  requests overlap for free: the limit grows. A round above it means requests queue somewhere:
  the limit shrinks in proportion (at most halved), before the API has to refuse anything;
  unless the round also delivered ``THROUGHPUT_GAIN`` more responses per second than any before
  (the queue is this machine's CPU, and overlapping more still pays): then it grows by one.
- **Refusals, as AIMD.** A 429 or 503 tells where the API's point is: it was serving the others
  in flight when the refused request was sent. The limit is cut at once to ``SHED_CUT`` of that
  point (or of the limit, if lower); refusals of requests sent before the cut are the same
  signal, not a new one. The point is remembered: growth within ``NEAR_SHEDDING`` of it is one
  step per ``CAREFUL_ROUNDS`` rounds, so that a run settles just under it instead of hitting it
  every few rounds.
- **Growth.** x1.5 per round until the first sign of either (slow start: 8 → 64 in six round
  trips), then +1 per round. A round that did not fill the limit (a rate cap binds, or the list
  cannot keep up) grows nothing: the limit stays where the requests actually are.

A latency gradient alone cannot see an API that sheds load without slowing down, and AIMD alone
keeps hitting the API's limit to find it; each covers the other's blind spot. The same scheme
runs in Netflix's concurrency-limits (Vegas, Gradient, AIMD limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

INITIAL_LIMIT = 8
"""Where ``auto`` starts: the fixed default the tap had before, safe for any API we know."""
LATENCY_TOLERANCE = 1.5
"""A round whose mean latency exceeds the baseline by more than this factor is queuing."""
BASELINE_FORGETTING = 0.01
"""The baseline rises by this fraction per round: a lasting change of the API's latency is
accepted after a few dozen rounds."""
THROUGHPUT_GAIN = 1.1
"""A round this much faster than the best before is worth its higher latency."""
SLOW_START_GROWTH = 1.5
"""The factor per round before the first sign of queuing or shedding."""
SHED_CUT = 0.85
"""The limit after a 429/503, as a fraction of what it was."""
NEAR_SHEDDING = 0.9
"""Within this fraction of the limit at which the API last shed load, growth is careful."""
CAREFUL_ROUNDS = 10
"""Rounds per +1 near the shedding point."""


@dataclass(frozen=True)
class ConcurrencyReport:
    """Where a run's concurrency ended, for its final line."""

    adaptive: bool
    limit: int
    peak: int
    shed: int

    def __str__(self) -> str:
        how = f"settled at {self.limit}" if self.adaptive else f"fixed at {self.limit}"
        return f"concurrency {how} (peak {self.peak} in flight), {self.shed} answered 429/503"


class FixedLimit:
    """``max_workers: N``: N requests at once, whatever the API answers."""

    adaptive = False

    at_floor = True
    """A fixed limit is never cut: a refusal for load is answered by waiting."""
    epoch = 0

    def __init__(self, limit: int) -> None:
        self.limit = self.ceiling = limit

    def on_response(self, latency: float, in_flight: int) -> None:
        """A fixed limit learns nothing from a response."""

    def on_shed(self, sent_with: int, epoch: int) -> bool:
        """A fixed limit is not cut: the gate pauses every request instead."""
        return False


class AdaptiveLimit:
    """``max_workers: auto``: the limit the module docstring describes, between 1 and
    ``ceiling``. Thread-safe; fed by the request gate with each try's outcome."""

    adaptive = True

    def __init__(
        self,
        ceiling: int,
        initial: int = INITIAL_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = ceiling
        self._limit = float(min(initial, ceiling))
        self._clock = clock
        self._best_rate = 0.0
        self._lock = threading.Lock()
        self._slow_start = True
        self._baseline: float | None = None
        self._shed_at: float | None = None
        self._careful_rounds = 0
        self.epoch = 0
        """Counts the cuts: a request tells which limit it was sent under."""
        self._peak = 0
        self._new_round()

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(1, int(self._limit))

    @property
    def at_floor(self) -> bool:
        """One request at a time: a refusal now can only be answered by waiting."""
        return self.limit == 1

    def on_response(self, latency: float, in_flight: int) -> None:
        """One response that was not a refusal: ``latency`` seconds, with ``in_flight`` requests
        (itself included) out when it came back."""
        with self._lock:
            self._samples += 1
            self._latency_sum += latency
            self._peak = max(self._peak, in_flight)
            if self._samples >= self.limit:
                self._end_round()

    def on_shed(self, sent_with: int, epoch: int) -> bool:
        """The API refused a request for load (429/503) that was sent with ``sent_with``
        requests in flight (itself included) in ``epoch``; True if that cut the limit (a refusal
        of a request sent before the last cut does not)."""
        with self._lock:
            if epoch != self.epoch:
                return False
            self._shed_at = max(1.0, sent_with - 1.0)
            self._limit = max(1.0, min(self._limit, self._shed_at) * SHED_CUT)
            self._slow_start = False
            self._careful_rounds = 0
            self.epoch += 1
            self._new_round()
            return True

    def _new_round(self) -> None:
        self._round_started = self._clock()
        self._samples = 0
        self._latency_sum = 0.0
        self._peak = 0

    def _end_round(self) -> None:
        mean = self._latency_sum / self._samples
        rate = self._samples / max(self._clock() - self._round_started, 1e-9)
        filled = self._peak >= self.limit
        faster = rate > self._best_rate * THROUGHPUT_GAIN
        self._best_rate = max(self._best_rate, rate)
        self._new_round()
        if self._baseline is None or mean < self._baseline:
            self._baseline = mean
        else:
            self._baseline *= 1 + BASELINE_FORGETTING
        if mean > self._baseline * LATENCY_TOLERANCE:
            self._slow_start = False
            if filled and faster:
                self._limit = min(float(self.ceiling), self._limit + 1)
            else:
                gradient = self._baseline * LATENCY_TOLERANCE / mean
                self._limit = max(1.0, self._limit * max(0.5, gradient))
        elif filled:
            self._limit = min(float(self.ceiling), self._grown())

    def _grown(self) -> float:
        if self._slow_start:
            return max(self._limit + 1, self._limit * SLOW_START_GROWTH)
        if self._shed_at is not None and self._limit >= self._shed_at * NEAR_SHEDDING:
            self._careful_rounds += 1
            if self._careful_rounds < CAREFUL_ROUNDS:
                return self._limit
            self._careful_rounds = 0
        return self._limit + 1


ConcurrencyLimit = FixedLimit | AdaptiveLimit
