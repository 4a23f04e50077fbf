"""Incremental sync on the API's own last-update filter.

Each run lists the invoices updated from the previous run's window end, less a lookback, up to
the moment the run started (both ends inclusive), and reads every one of them. The bookmark keeps
only that end: an invoice updated during the run falls after it and is listed by the next run;
one updated exactly at an end is in both windows; the lookback absorbs the API's own lag and a
clock that differs from the API's by less than it. The state never grows with the invoices.

A pass writes checkpoints (``plans.windows``): the start of the window being read (a window split
past the API's page cap is read as two halves, the older first), and the invoices emitted since,
by id. A run that resumes from one lists again from that start (less the lookback) to its own
start, split where the stopped pass started: an invoice it emitted and that is listed again
before that moment has not changed since it was read, and is passed over; every other listed
invoice is read. The bookmark keeps the previous window end until a pass is whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tap_invoicing.core.bookmark import BookmarkScope, new_bookmark, read_bookmark
from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import Window as ListWindow
from tap_invoicing.core.plans.remembered import InvoiceChildren
from tap_invoicing.core.plans.windows import WindowCheckpoint, WindowProgress
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
    split_at: datetime | None = None
    """Where a resumed pass splits the window: when the pass it resumes started."""


def _window_end(bookmark: Mapping[str, Any]) -> datetime | None:
    """The previous run's window end; StateError when it is there but unreadable."""
    value = bookmark.get("replication_key_value")
    end = parse_time(value)
    if value is not None and end is None:
        msg = "the invoices bookmark in the state is damaged: its window end is unreadable"
        raise StateError(msg)
    return end


@dataclass(frozen=True)
class StoppedPass:
    """What a checkpoint says of its pass: what it claims, and the moment before which an
    invoice it emitted and lists again has not changed since (its pass started after it)."""

    claimed: WindowCheckpoint
    unchanged_before: datetime

    @classmethod
    def parse(cls, value: object) -> StoppedPass:
        """Read ``resume`` from a checkpoint, refusing any shape this version did not write."""
        claimed = WindowCheckpoint.parse(value)
        moment = parse_time(value.get("unchanged_before") if isinstance(value, Mapping) else None)
        if moment is None:
            raise StateError("resume in the state was not written by this version of tap-invoicing")
        return cls(claimed, moment)

    def passes_over(self, invoice_id: str, window: ListWindow | None) -> bool:
        """Whether a listed invoice was emitted by the stopped pass and cannot have changed
        since: listed again in a window that ends before the stopped pass started."""
        return (
            invoice_id in self.claimed.ahead
            and window is not None
            and window[1] <= self.unchanged_before
        )


@dataclass(frozen=True)
class Previous:
    """What the bookmark says: the last window end of a whole pass, and a stopped pass."""

    end: datetime | None
    stopped: StoppedPass | None = None


def _previous(bookmark: Mapping[str, Any]) -> Previous:
    stopped = StoppedPass.parse(bookmark["resume"]) if "resume" in bookmark else None
    return Previous(_window_end(bookmark), stopped)


class UpdateWindowPlan:
    """Reads every listed invoice: the list holds only invoices updated within the window (but
    those a stopped pass emitted that have not changed since, when resuming it)."""

    def __init__(
        self,
        window: Window,
        scope: BookmarkScope,
        *,
        lookback: timedelta,
        previous_end: datetime | None = None,
        stopped: StoppedPass | None = None,
    ) -> None:
        self.window = window
        self._scope = scope
        self._lookback = lookback
        self._previous_end = previous_end
        self._stopped = stopped
        self._clock_checked = False
        self._progress = WindowProgress()
        self.held_back = False
        """Whether an invoice was not emitted: the bookmark then stays where it was."""
        self._held_back_since: ListWindow | None = None
        """The earliest window of an invoice not emitted: no checkpoint claims past its start."""
        self.skipped_unchanged = 0

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
        previous = read_bookmark(stream_state, scope, (), _previous) or Previous(None)
        stopped = previous.stopped
        # A first run lists every update: start_date selects by another date than the last
        # update (the provider's invoice_date), which the engine compares.
        since = stopped.claimed.start if stopped else previous.end
        start = since - lookback if since is not None else None
        split_at = stopped.unchanged_before if stopped else None
        return cls(
            Window(start, end, split_at),
            scope,
            lookback=lookback,
            previous_end=previous.end,
            stopped=stopped,
        )

    @property
    def reads_whole_list(self) -> bool:
        """A window with no start lists every invoice; one from a bookmark, only the changed."""
        return self.window.start is None

    def note_page(
        self, payload: Any, ids: list[str], served_at: datetime | None, window: ListWindow | None
    ) -> None:
        """Note the page's window; refuse to go on with a window that ends in the API's future
        by more than the lookback: this machine's clock is ahead, and the next run would start
        after updates this one never listed. (A clock behind the API's only makes the windows
        overlap more.)"""
        self._progress.page(window)
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
        """Every invoice in the window was updated since the previous run (or the lookback),
        but one the stopped pass this run resumes emitted and that has not changed since."""
        self._progress.listed(invoice_id)
        if self._stopped and self._stopped.passes_over(invoice_id, self._progress.window):
            self.skipped_unchanged += 1
            return False
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
            self._hold_back(invoice_id)
        else:
            self._progress.emitted(invoice_id)

    def note_gone(self, invoice_id: str) -> None:
        """An invoice found gone is looked for once more: its window is listed again."""
        self._hold_back(invoice_id)

    def _hold_back(self, invoice_id: str) -> None:
        self.held_back = True
        window = self._progress.window_of(invoice_id)
        if window is not None and (
            self._held_back_since is None or _earlier(window[0], self._held_back_since[0])
        ):
            self._held_back_since = window

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> dict[str, Any] | None:
        """A bookmark of the pass so far: the previous window end still (what a whole pass
        earned is not earned yet), and in ``resume`` the windows handled, the invoices emitted
        past them, and when the pass started (with the stopped pass's, when resuming one)."""
        claim = self._progress.checkpoint(listed, ahead)
        if claim is None:
            return None
        start = claim.start
        if self._held_back_since is not None and _earlier(self._held_back_since[0], start):
            start = self._held_back_since[0]
        emitted = claim.ahead
        unchanged_before = self.window.end - CLOCK_RESOLUTION
        if self._stopped is not None:
            unchanged_before = self._stopped.unchanged_before
            listed_again_before = start is None or start - self._lookback <= unchanged_before
            if listed_again_before:
                emitted |= self._stopped.claimed.ahead
        bookmark = new_bookmark(
            self._scope,
            replication_key,
            resume={
                **WindowCheckpoint(start, emitted).to_state(),
                "unchanged_before": unchanged_before.isoformat(),
            },
        )
        if self._previous_end is not None:
            bookmark["replication_key_value"] = self._previous_end.isoformat()
        return bookmark

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The window end (or the previous one, when held back), and what it was made for."""
        end = self._previous_end if self.held_back else self.window.end
        bookmark = new_bookmark(self._scope, replication_key)
        if end is not None:
            bookmark["replication_key_value"] = end.isoformat()
        return bookmark


def _earlier(moment: datetime | None, than: datetime | None) -> bool:
    """Whether ``moment`` is before ``than``, None being the beginning of time."""
    return than is not None and (moment is None or moment < than)
