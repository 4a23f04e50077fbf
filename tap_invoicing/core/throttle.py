"""One gate for every request of a run: a shared rate cap, and a pause all workers honour.

APIs count requests per client, not per thread: eight workers each keeping to a limit would
together exceed it, and a worker that backs off alone after a 429 leaves seven others hammering
the API. So every request waits its turn here, and a 429 or 503 holds back all of them.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


class RequestsStopped(Exception):  # noqa: N818  (a signal to stop, not a failure to report)
    """The run is ending: requests still waiting for their turn are not sent."""


class RequestGate:
    """Spaces request starts at least ``1 / max_per_second`` apart and holds them during pauses.

    A slot is taken only at the moment a request may start, so a pause leaves no backlog of
    reserved slots to burst out when it ends.
    """

    def __init__(self, max_per_second: float | None, logger: logging.Logger) -> None:
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._logger = logger
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._paused_until = 0.0
        self._stopped = threading.Event()
        self.pauses = 0

    def wait_turn(self) -> None:
        """Block until this request may start; raises RequestsStopped once the run is ending."""
        while True:
            with self._lock:
                if self._stopped.is_set():
                    raise RequestsStopped
                now = time.monotonic()
                ready = max(self._next_start, self._paused_until)
                if ready <= now:
                    self._next_start = now + self._interval
                    return
            self._stopped.wait(ready - now)

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every request for ``seconds``; logs once per pause, however many workers hit it.

        A pause already in force is extended silently: the workers that were refused together
        report one pause, not one each.
        """
        with self._lock:
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

    @property
    def stopped(self) -> bool:
        """Whether the run's requests have been stopped."""
        return self._stopped.is_set()

    def stop(self) -> None:
        """End the run's requests: waiting and future requests raise RequestsStopped."""
        self._stopped.set()
