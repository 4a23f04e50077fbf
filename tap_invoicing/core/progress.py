"""Progress of a long extraction on stderr: how far, how fast, how long still to go.

Where stderr is a terminal, a live bar (tqdm) shows it; elsewhere (Meltano, Airflow, CI, a log
file) a plain line is logged every ``REPORT_EVERY`` seconds. The text is composed here only:
``summary`` is the line, ``notes`` what the bar adds after its own count, rate and time left, and
``finish`` the run's last lines.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Never

if TYPE_CHECKING:
    import logging
    from types import TracebackType

    from tqdm import tqdm

REPORT_EVERY = 10.0
"""Seconds between progress lines: a run shows it is alive this often, however slow it is."""

BAR_REFRESH = 0.25
"""Seconds between redraws of the bar. Only the progress thread draws it: a signal (SIGTERM,
Ctrl-C) interrupts the main thread, and one that struck tqdm mid-draw would leave its lock held."""


def duration(seconds: float) -> str:
    """``2 h 5 min``, ``3 min 20 s`` or ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def bar_wanted() -> bool:
    """A bar only on a terminal that says how wide it is (a bar cannot be fitted to one that
    does not), and not where the Singer messages are printed too: each would cut through it.
    Meltano, Airflow and CI read stderr through a pipe."""
    if not sys.stderr.isatty() or sys.stdout.isatty():
        return False
    return os.get_terminal_size(sys.stderr.fileno()).columns > 0


class Progress:
    """Counts listed invoices as they are handled (detailed or skipped as unchanged).

    Used as a context manager around the run: a thread of its own draws the bar, or logs a line
    every ``every`` seconds (so a run waiting on a pause or a slow list is still heard from).
    Counts are updated on one thread, the one that emits the records.
    """

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
        self._started = clock()
        self._total: int | None = None
        self._bar: tqdm[Never] | None = None
        self._stopping = threading.Event()
        self._exits = ExitStack()
        self.done = 0
        self.fetched = 0

    def __enter__(self) -> Progress:
        """Start the bar (log lines then go above it) or the progress lines."""
        if bar_wanted():
            # Imported only for a terminal: a run under Meltano or Airflow never draws a bar, and
            # tqdm took 6% of the start-up.
            from tqdm import tqdm  # noqa: PLC0415
            from tqdm.contrib.logging import logging_redirect_tqdm  # noqa: PLC0415

            self._exits.enter_context(logging_redirect_tqdm())
            self._bar = self._exits.enter_context(
                tqdm(desc="invoices", unit=" invoices", file=sys.stderr, dynamic_ncols=True)
            )
        ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        ticker.start()
        self._exits.callback(ticker.join)
        self._exits.callback(self._stopping.set)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the lines, leave the bar as it ended, and give logging back its console."""
        self._exits.close()

    def _tick(self) -> None:
        if self._bar is None:
            while not self._stopping.wait(self._every):
                self._logger.info("Progress: %s", self.summary(self._total))
            return
        while not self._stopping.wait(BAR_REFRESH):
            self._draw(self._bar)
        self._draw(self._bar, live=False)  # the state the bar is left in

    def _draw(self, bar: tqdm[Never], *, live: bool = True) -> None:
        bar.total, bar.n = self._total, self.done
        bar.set_postfix_str(", ".join(self.notes(live=live)), refresh=True)

    def advance(self, total: int | None, *, fetched: bool) -> None:
        """One more invoice handled, of ``total`` listed (when the API says)."""
        self.done += 1
        self.fetched += fetched
        self._total = total

    def reconsider(self) -> None:
        """An invoice counted as handled without a fetch is fetched after all (decided once
        the whole list was read): it is counted again when its fetch completes."""
        self.done -= 1

    def summary(self, total: int | None, *, live: bool = True) -> str:
        """The progress line: done of total, rate, the time left at that rate, then the notes."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.done / elapsed
        parts = [
            f"{self.done:,} of {total:,} invoices" if total else f"{self.done:,} invoices",
            f"{rate:,.1f} invoices/s",
        ]
        if total and self.done < total and rate > 0:
            parts.append(f"about {duration((total - self.done) / rate)} left")
        else:
            parts.append(f"{duration(elapsed)} elapsed")
        return ", ".join([*parts, *self.notes(live=live)])

    def notes(self, *, live: bool = True) -> list[str]:
        """What the count, rate and time left do not say: the line's tail, the bar's postfix;
        while the run goes (``live``), the requests in flight too."""
        notes = [f"{self.fetched:,} details fetched"]
        if live and self._in_flight is not None:
            notes.append(f"{self._in_flight()} in flight")
        return notes

    def finish(
        self, total: int | None, *, written: int, outcome: str, children: Mapping[str, int]
    ) -> None:
        """The run's last lines, one per stream: the invoices written, how the list was read and
        what became of the invoices not written; then the records each child stream wrote."""
        self._logger.info(
            "invoices: %s records written; list read: %s; %s",
            f"{written:,}",
            self.summary(total, live=False),
            outcome,
        )
        for stream, count in children.items():
            self._logger.info("%s: %s records written", stream, f"{count:,}")
