"""Checkpoints of a pass that lists invoices in time windows read oldest first.

A windowed listing (``core.listing.WindowedListing``) reads its windows in time order, and a
window split at the API's page cap is read again as two halves, the older first. The order within
a window is never relied on. So the invoices a pass has handled are, at any moment: every one
listed in a window that ended before the window of the first invoice not yet handled (its start is
the checkpoint's ``start``), and some listed since, named one by one (``ahead``). A resumed pass
lists again from ``start`` and passes over the ``ahead`` invoices that cannot have changed since,
by its plan's rules.

In the state: ``{"from": start or null, "ahead": [id, ...]}``; ``ahead`` holds at most one
window's invoices (what the API serves for one query) and those written past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import Window
from tap_invoicing.errors import StateError

WINDOW_TARGET = 5000
"""The most invoices a window should hold, where the API says how many one holds (a fuller one
is split before it is read): a checkpoint then names at most about two windows' invoices."""


@dataclass(frozen=True)
class WindowCheckpoint:
    """What a checkpoint of a windowed pass claims: every invoice listed before ``start`` (all,
    with None), and the ``ahead`` invoices, emitted past it."""

    start: datetime | None
    ahead: frozenset[str]

    def claims(self, invoice_id: str, created: datetime | None) -> bool:
        """Whether the invoice, created at ``created`` (the date the windows select by), was
        emitted by the pass this checkpoint is of."""
        listed_before = self.start is not None and created is not None and created < self.start
        return listed_before or invoice_id in self.ahead

    def to_state(self) -> dict[str, Any]:
        """``{"from": ..., "ahead": [...]}``."""
        return {
            "from": self.start.isoformat() if self.start else None,
            "ahead": sorted(self.ahead),
        }

    @classmethod
    def parse(cls, value: object) -> WindowCheckpoint:
        """Read ``resume`` from a checkpoint, refusing any shape this version did not write."""
        start = value.get("from") if isinstance(value, Mapping) else None
        ahead = value.get("ahead") if isinstance(value, Mapping) else None
        if not (
            isinstance(ahead, list)
            and all(isinstance(i, str) for i in ahead)
            and (start is None or parse_time(start) is not None)
        ):
            raise StateError("resume in the state was not written by this version of tap-invoicing")
        return cls(parse_time(start), frozenset(ahead))


class WindowProgress:
    """Which windows the listed invoices of one pass came from, and which were emitted, so that
    a checkpoint claims only emitted invoices. Told of each page's window (``page``), each listed
    invoice in list order (``listed``), and each one emitted (``emitted``)."""

    def __init__(self) -> None:
        self._windows: list[tuple[int, Window]] = []
        """Each window read, with the place of its first listed invoice, in list order."""
        self._places = 0
        self._listed_in: dict[str, tuple[int, int]] = {}
        """Listed invoices not yet known to be before a checkpoint: place and window index."""
        self._emitted: set[str] = set()

    @property
    def window(self) -> Window | None:
        """The window of the page being read."""
        return self._windows[-1][1] if self._windows else None

    def page(self, window: Window | None) -> None:
        """A page of ``window`` was read (None: a list without windows, never checkpointed)."""
        if window is not None and (not self._windows or self._windows[-1][1] != window):
            self._windows.append((self._places, window))

    def listed(self, invoice_id: str) -> None:
        """The next invoice of the list (its place is the count of those before it)."""
        if self._windows:
            self._listed_in[invoice_id] = (self._places, len(self._windows) - 1)
        self._places += 1

    def window_of(self, invoice_id: str) -> Window | None:
        """The window an invoice of this pass was listed in, if still known."""
        found = self._listed_in.get(invoice_id)
        return self._windows[found[1]][1] if found else None

    def emitted(self, invoice_id: str) -> None:
        """The invoice's records are (or are being) written."""
        if invoice_id in self._listed_in:
            self._emitted.add(invoice_id)

    def checkpoint(self, handled: int, written_past: Iterable[str]) -> WindowCheckpoint | None:
        """What a checkpoint may claim once the first ``handled`` listed invoices are handled and
        ``written_past`` are written beyond them; None before any window was read."""
        if not self._windows:
            return None
        begun = [n for n, (first, _) in enumerate(self._windows) if first <= handled]
        if not begun:
            return None
        current = begun[-1]
        start = self._windows[current][1][0]
        before = {
            invoice_id
            for invoice_id, (place, window) in self._listed_in.items()
            if window < current and _ends_before(self._windows[window][1], start)
        }
        for invoice_id in before:
            del self._listed_in[invoice_id]
            self._emitted.discard(invoice_id)
        ahead = {
            invoice_id for invoice_id in self._emitted if self._listed_in[invoice_id][0] < handled
        }
        return WindowCheckpoint(start, frozenset(ahead | set(written_past)))


def _ends_before(window: Window, moment: datetime | None) -> bool:
    """Whether ``window`` ends before ``moment``: its invoices are all listed before it (one
    listed in the second the window ends, which the next window shares, is named in ``ahead``,
    so that a resumed pass tells it apart)."""
    return moment is not None and window[1] < moment
