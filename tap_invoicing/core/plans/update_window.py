"""Incremental sync on the API's own last-update filter.

Each run lists the invoices updated from the previous run's window end, less a lookback, up to
the moment the run started (both ends inclusive), and reads every one of them. The bookmark keeps
only that end: an invoice updated during the run falls after it and is listed by the next run;
one updated exactly at an end is in both windows; the lookback absorbs the API's own lag and a
clock that differs from the API's by less than it. The state never grows with the invoices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tap_invoicing.core.bookmark import BookmarkScope, new_bookmark, read_bookmark
from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.plans.remembered import InvoiceChildren
from tap_invoicing.errors import StateError, TapInvoicingError

ZERO = timedelta(0)
CLOCK_RESOLUTION = timedelta(seconds=2)
"""The window end is rounded up to a second and ``Date`` is to the second."""


@dataclass(frozen=True)
class Window:
    """The last-update window of one run: ``start`` None reads from the beginning; ``end`` is
    the run's start rounded up to a whole second (the windows are sent to the second), so an
    update made just before the run started is in it."""

    start: datetime | None
    end: datetime


def _window_end(bookmark: Mapping[str, Any]) -> datetime | None:
    """The previous run's window end; StateError when it is there but unreadable."""
    value = bookmark.get("replication_key_value")
    end = parse_time(value)
    if value is not None and end is None:
        msg = "the invoices bookmark in the state is damaged: its window end is unreadable"
        raise StateError(msg)
    return end


class UpdateWindowPlan:
    """Reads every listed invoice: the list holds only invoices updated within the window."""

    skipped_unchanged = 0

    def __init__(
        self,
        window: Window,
        scope: BookmarkScope,
        *,
        lookback: timedelta,
        previous_end: datetime | None = None,
    ) -> None:
        self.window = window
        self._scope = scope
        self._lookback = lookback
        self._previous_end = previous_end
        self._clock_checked = False
        self.held_back = False
        """Whether an invoice was not emitted: the bookmark then stays where it was."""

    @classmethod
    def for_run(
        cls,
        stream_state: Mapping[str, Any],
        scope: BookmarkScope,
        *,
        lookback: timedelta,
        now: datetime | None = None,
    ) -> UpdateWindowPlan:
        """The plan of a run starting now, from its stream's bookmark (if it fits the run).

        Raises BookmarkMismatchError when the bookmark was made for another run, and StateError
        when it is damaged or of a format this version does not know.
        """
        now = now or datetime.now(UTC)
        end = now.replace(microsecond=0) + (timedelta(seconds=1) if now.microsecond else ZERO)
        previous_end = read_bookmark(stream_state, scope, (), _window_end)
        # A first run lists every update: start_date selects by another date than the last
        # update (the provider's invoice_date), which the engine compares.
        start = previous_end - lookback if previous_end is not None else None
        return cls(Window(start, end), scope, lookback=lookback, previous_end=previous_end)

    @property
    def reads_whole_list(self) -> bool:
        """A window with no start lists every invoice; one from a bookmark, only the changed."""
        return self.window.start is None

    def note_page(self, payload: Any, ids: list[str], served_at: datetime | None) -> None:
        """Refuse to go on with a window that ends in the API's future by more than the lookback:
        this machine's clock is ahead, and the next run would start after updates this one never
        listed. (A clock behind the API's only makes the windows overlap more.)"""
        if self._clock_checked or served_at is None:
            return
        self._clock_checked = True
        ahead = self.window.end - served_at - CLOCK_RESOLUTION
        if ahead > self._lookback:
            msg = (
                f"this machine's clock is {ahead.total_seconds():.0f} s ahead of the API's (its "
                f"Date header), more than lookback_minutes ({self._lookback.total_seconds() / 60:g}"
                f"): updates could be missed; set the clock right or raise lookback_minutes. "
                f"Nothing was committed to state"
            )
            raise TapInvoicingError(msg)

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Every invoice in the window was updated since the previous run (or the lookback)."""
        return True

    def deferred(self) -> tuple[str, ...]:
        """Nothing waits for the end of the list."""
        return ()

    def unlisted(self) -> tuple[str, ...]:
        """A window lists only what changed: nothing is missing from it."""
        return ()

    def previous_children(self, invoice_id: str) -> InvoiceChildren | None:
        """Nothing is remembered: every change lists the invoice again, whole."""
        return None

    def note_read(
        self, invoice_id: str, invoice: Mapping[str, Any] | None, children: InvoiceChildren
    ) -> None:
        """An invoice not emitted would be in no later window unless it changed again: the
        bookmark then keeps the previous end, so the next run lists this window again."""
        if invoice is None:
            self.held_back = True

    def note_gone(self, invoice_id: str) -> None:
        """An invoice found gone is looked for once more: its window is listed again."""
        self.held_back = True

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> None:
        """Not yet: a stopped pass lists its window again whole (an invoice updated meanwhile
        leaves the window, which moves the others between pages)."""

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The window end (or the previous one, when held back), and what it was made for."""
        end = self._previous_end if self.held_back else self.window.end
        bookmark = new_bookmark(self._scope, replication_key)
        if end is not None:
            bookmark["replication_key_value"] = end.isoformat()
        return bookmark
