"""One gate for every request of a run: a shared rate cap, a concurrency limit, and a pause all
workers honour.

APIs count requests per client, not per thread: eight workers each keeping to a limit would
together exceed it, and a worker that backs off alone after a 429 leaves seven others hammering
the API. So every request waits its turn here: for a start slot under the rate cap and for a
place under the concurrency limit (see tap_invoicing.core.concurrency), which learns from each
try's latency and refusals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_invoicing.core.concurrency import ConcurrencyReport

if TYPE_CHECKING:
    import logging

    from tap_invoicing.core.concurrency import ConcurrencyLimit


class RequestsStopped(Exception):  # noqa: N818  (a signal to stop, not a failure to report)
    """The run is ending: requests still waiting for their turn are not sent."""


@dataclass
class Turn:
    """One try in flight: when it started, with how many in flight (itself included) under
    which epoch of the limit, and whether the API refused it for load."""

    started: float
    in_flight: int = 0
    epoch: int = 0
    shed: bool = False


class RequestGate:
    """Spaces request starts at least ``1 / max_per_second`` apart, keeps at most the limit's
    number in flight, and holds them all during pauses.

    A start slot is taken only at the moment a request may start, so a pause leaves no backlog
    of reserved slots to burst out when it ends; and a request waiting for the rate cap holds no
    place in flight, so the concurrency settles where the cap puts it.
    """

    def __init__(
        self, max_per_second: float | None, logger: logging.Logger, limit: ConcurrencyLimit
    ) -> None:
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._logger = logger
        self.limit = limit
        self._changed = threading.Condition()
        self._next_start = 0.0
        self._paused_until = 0.0
        self._stopped = False
        self._waiting = 0
        self._holding = threading.local()
        self.in_flight = 0
        self.peak = 0
        self.shed = 0
        self.pauses = 0

    @contextmanager
    def turn(self) -> Iterator[Turn]:
        """Wait for this request's turn, then hold its place in flight until it returns; the
        caller marks ``shed`` when the API refused it for load. A request an authenticator sends
        while its thread holds a place (a token renewal) shares that place."""
        if getattr(self._holding, "turn", None) is not None:
            yield Turn(time.monotonic())
            return
        turn = self._enter()
        self._holding.turn = turn
        completed = False
        try:
            yield turn
            completed = True
        finally:
            self._holding.turn = None
            self._leave(turn, completed=completed)

    def _enter(self) -> Turn:
        with self._changed:
            while True:
                if self._stopped:
                    raise RequestsStopped
                now = time.monotonic()
                ready = max(self._next_start, self._paused_until)
                if ready <= now and self.in_flight < self.limit.limit:
                    self._next_start = now + self._interval
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                    return Turn(now, self.in_flight, self.limit.epoch)
                self._waiting += 1
                self._changed.wait(ready - now if ready > now else None)
                self._waiting -= 1

    def _leave(self, turn: Turn, *, completed: bool) -> None:
        with self._changed:
            before = self.limit.limit
            if turn.shed:
                self.shed += 1
                if self.limit.on_shed(turn.in_flight, turn.epoch):
                    self._logger.info(
                        "The API is refusing requests for load: %d at once from now (was %d)",
                        self.limit.limit,
                        before,
                    )
            elif completed:
                self.limit.on_response(time.monotonic() - turn.started, self.in_flight)
            self.in_flight -= 1
            if self._waiting:  # notify() costs even with no one to wake: 4% of a run's CPU
                self._changed.notify(1 + max(0, self.limit.limit - before))

    def refused(self, seconds: float, reason: str) -> None:
        """The API refused a request for load and asked for ``seconds`` of quiet. A fixed limit
        holds every request for that long; an adaptive one was cut instead as the refusal came
        back, and pauses everyone only once it is down to one request at a time."""
        if self.limit.at_floor:
            self.pause(seconds, reason)

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every request for ``seconds``; logs once per pause, however many workers hit it.

        A pause already in force is extended silently: the workers that were refused together
        report one pause, not one each.
        """
        with self._changed:
            now = time.monotonic()
            until = now + seconds
            if until <= self._paused_until:
                return
            is_new = self._paused_until <= now
            self._paused_until = until
            if is_new:
                self.pauses += 1
        if is_new:
            self._logger.warning("%s: pausing all requests for %.1f s", reason, seconds)

    def report(self) -> ConcurrencyReport:
        """Where the concurrency ended, its peak, and the refusals met."""
        return ConcurrencyReport(self.limit.adaptive, self.limit.limit, self.peak, self.shed)

    @property
    def stopped(self) -> bool:
        """Whether the run's requests have been stopped."""
        return self._stopped

    def stop(self) -> None:
        """End the run's requests: waiting and future requests raise RequestsStopped."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
