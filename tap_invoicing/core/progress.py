"""Progress of a long extraction on stderr: how far, how fast, how long still to go."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

REPORT_EVERY = 30.0
"""Seconds between progress lines: often enough to watch, rare enough not to flood the log."""


def duration(seconds: float) -> str:
    """``2 h 5 min``, ``3 min 20 s`` or ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Progress:
    """Counts listed invoices as they are handled (detailed or skipped as unchanged)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        every: float = REPORT_EVERY,
        clock: Callable[[], float] = time.monotonic,
        in_flight: Callable[[], int] | None = None,
    ) -> None:
        self._logger = logger
        self._in_flight = in_flight
        self._every = every
        self._clock = clock
        self._started = self._last_report = clock()
        self.done = 0
        self.fetched = 0

    def advance(self, total: int | None, *, fetched: bool) -> None:
        """One more invoice handled; logs a progress line when one is due."""
        self.done += 1
        self.fetched += fetched
        now = self._clock()
        if now - self._last_report >= self._every:
            self._last_report = now
            self._logger.info("Progress: %s", self.line(total))

    def reconsider(self) -> None:
        """An invoice counted as handled without a fetch is fetched after all (decided once
        the whole list was read): it is counted again when its fetch completes."""
        self.done -= 1

    def line(self, total: int | None) -> str:
        """The summary so far, and the requests in flight now."""
        if self._in_flight is None:
            return self.summary(total)
        return f"{self.summary(total)}, {self._in_flight()} in flight"

    def summary(self, total: int | None) -> str:
        """Done of total, details fetched, rate and the time left at that rate."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.done / elapsed
        parts = [
            f"{self.done:,} of {total:,} invoices" if total else f"{self.done:,} invoices",
            f"{self.fetched:,} details fetched",
            f"{rate:,.1f} invoices/s",
        ]

        if total and self.done < total and rate > 0:
            parts.append(f"about {duration((total - self.done) / rate)} left")
        else:
            parts.append(f"{duration(elapsed)} elapsed")
        return ", ".join(parts)
