"""Ways to read an invoice list page by page, each ending only where the API's answers say.

A listing decides the query of the next page from the pages read so far, passes each listed id
on once, and tells the engine when the list is over. The engine drives every listing the same
way (see :class:`Listing`); a provider picks the one its API needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Protocol

from tap_invoicing.errors import TapInvoicingError

Query = dict[str, Any]
"""The query parameters of one list page."""
Window = tuple[datetime | None, datetime]
"""A time window of a list: its start (None: from the beginning) and end, both inclusive."""


class Listing(Protocol):
    """One pass over an invoice list, as the engine drives it."""

    total: int | None
    """How many invoices the list holds, when the API says (for progress lines only)."""
    pages_read: int
    finished: bool

    @property
    def window(self) -> Window | None:
        """The time window the next page is read in (windows are read oldest first; None: a
        list not read in windows)."""
        ...

    def query(self) -> Query:
        """The query parameters of the next page to read."""
        ...

    def accept(self, ids: list[str], total: int | None) -> list[bool]:
        """Record the page just read; return, per id, whether it is new in this pass."""
        ...

    def not_found(self, payload: Any) -> None:
        """The API answered 404 for the page: end the list, or raise."""
        ...

    def tolerates(self, status: int) -> bool:
        """Whether a refusal of the page is the listing's to handle (a page cap), not an error."""
        ...

    def refused(self, status: int) -> None:
        """Handle a refusal that ``tolerates`` accepted."""
        ...


def _list_not_found(where: str) -> TapInvoicingError:
    return TapInvoicingError(
        f"HTTP 404 for {where}, and not the API's end-of-list answer: check base_url and "
        f"environment; nothing was committed to state"
    )


class _SeenIds:
    """The ids a pass has passed on, so that each is passed on once."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def fresh(self, ids: list[str]) -> list[bool]:
        flags = []
        for invoice_id in ids:
            flags.append(invoice_id not in self._seen)
            self._seen.add(invoice_id)
        return flags


class OffsetListing:
    """Tracks one pass over a newest-first list read by offset and limit.

    Invoices created during the pass push older ones to higher offsets, so an invoice can be
    listed twice: each id is passed on once. Invoices removed ahead of the reader pull later ones
    to lower offsets, which could skip one: consecutive pages therefore overlap by a few items,
    and a page sharing no id with what was already read reveals a gap, so the pass steps back.

    Only the API's answers end the pass, never its total (which can be stale or wrong) nor a
    short page alone (which can sit in the middle of the list): an empty page, its end-of-list
    answer, or a short page of invoices already read right after a page that brought none new
    (the end, reached while invoices created at the head keep pushing read ones towards it).
    """

    max_overlap = 5
    max_step_backs = 50

    def __init__(
        self,
        page_size: int,
        *,
        is_end_answer: Callable[[Any], bool] = lambda payload: False,
        offset_param: str = "offset",
        limit_param: str = "limit",
    ) -> None:
        self.page_size = page_size
        self._is_end_answer = is_end_answer
        self._params = (offset_param, limit_param)
        self.overlap = min(self.max_overlap, page_size // 4)
        self.offset = 0
        self.finished = False
        self.step_backs = 0
        self.total: int | None = None
        self.pages_read = 0
        self._last_page_was_fruitless = False
        self._seen = _SeenIds()

    @property
    def window(self) -> None:
        """Not read in windows."""
        return None

    def query(self) -> Query:
        """``offset`` and ``limit`` (named as the API names them)."""
        offset_param, limit_param = self._params
        return {offset_param: self.offset, limit_param: self.page_size}

    def accept(self, ids: list[str], total: int | None) -> list[bool]:
        """Record the page read at ``self.offset``; return, per id, whether it is new."""
        self.total = total
        self.pages_read += 1
        fresh = self._seen.fresh(ids)
        if not ids:
            self.finished = True
            return fresh
        reached = self.offset + len(ids)
        fruitless = not any(fresh)
        if fruitless and self._last_page_was_fruitless and len(ids) < self.page_size:
            self.finished = True
        elif fruitless:
            self.offset = reached  # only the overlap, or invoices pushed on by new ones
        elif self.overlap and self.offset > 1 and all(fresh):
            self._step_back()
        else:
            self.offset = max(self.offset + 1, reached - self.overlap)
        self._last_page_was_fruitless = fruitless
        return fresh

    def not_found(self, payload: Any) -> None:
        """A 404 ends the list only as the API's own end-of-list answer."""
        self.end(is_end_answer=self._is_end_answer(payload))

    def tolerates(self, status: int) -> bool:
        """Every refusal of an offset page is an error."""
        return False

    def refused(self, status: int) -> None:
        """Never called: nothing is tolerated."""

    def end(self, *, is_end_answer: bool) -> None:
        """The API answered 404 for the page at ``self.offset``: the end of the list only if it
        is the API's own end-of-list answer (on the first page: an account with no invoices);
        any other 404 (a wrong ``base_url`` path, say) fails the run rather than end it empty.
        """
        if not is_end_answer:
            where = "the invoice list" if not self.pages_read else f"offset {self.offset}"
            raise _list_not_found(where)
        self.finished = True

    def _step_back(self) -> None:
        self.step_backs += 1
        if self.step_backs > self.max_step_backs:
            msg = (
                "the invoice list kept shifting while it was read (items removed ahead of the "
                "reader); nothing was committed to state, run the sync again"
            )
            raise TapInvoicingError(msg)
        self.offset = max(1, self.offset - self.page_size + self.overlap)


class PageNumberListing:
    """Pages numbered from 1 over a list that says nothing of its length: a short or an empty
    page is its end. A full page at the last page number the API serves (``max_pages``) marks
    the pass as ``capped``: the list goes on, but not by this query."""

    def __init__(
        self,
        page_size: int,
        *,
        max_pages: int | None = None,
        page_param: str = "page",
        size_param: str = "pageSize",
        seen: _SeenIds | None = None,
    ) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self._params = (page_param, size_param)
        self._seen = seen or _SeenIds()
        self.page = 1
        self.pages_read = 0
        self.total: int | None = None
        self.finished = False
        self.capped = False

    @property
    def window(self) -> None:
        """Not read in windows."""
        return None

    def query(self) -> Query:
        """``page`` and ``pageSize`` (named as the API names them)."""
        page_param, size_param = self._params
        return {page_param: self.page, size_param: self.page_size}

    def accept(self, ids: list[str], total: int | None) -> list[bool]:
        """Record page ``self.page``; a short page ends the list, a full last page caps it."""
        self.total = total
        self.pages_read += 1
        fresh = self._seen.fresh(ids)
        if len(ids) < self.page_size:
            self.finished = True
        elif self.max_pages is not None and self.page >= self.max_pages:
            self.finished = self.capped = True
        else:
            self.page += 1
        return fresh

    def not_found(self, payload: Any) -> None:
        """A list without an end-of-list answer: any 404 means a wrong route."""
        raise _list_not_found("the invoice list" if not self.pages_read else f"page {self.page}")

    def tolerates(self, status: int) -> bool:
        """A 400 past the first page is the API refusing page numbers that high: a page cap."""
        return status == HTTPStatus.BAD_REQUEST and self.page > 1

    def refused(self, status: int) -> None:
        """The page cap was met before the list ended."""
        self.finished = self.capped = True


def iso_seconds(moment: datetime) -> str:
    """``2026-12-02T00:28:57Z``: ISO 8601 UTC to the second, the most widely accepted form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WindowedListing:
    """An invoice list filtered by a time window (``start`` to ``end``, both inclusive), read by
    page number. A window that needs more pages than the API serves is split into two halves
    read one after the other, the older first, down to one second; invoices in both halves'
    shared second are passed on once. The order within a window is never relied on. With
    ``split_at`` the window is read as two from the start, split there. With ``split_above``, a
    window whose first page says (its total) it holds more invoices than that is split before
    any of it is passed on, so that a checkpoint names few invoices. With ``windowless_first``
    the list is first read with no window at all, and split into windows only if it hits the
    page cap (for an API whose plain list and windowed search are different requests).
    """

    min_window = timedelta(seconds=1)

    def __init__(
        self,
        page_size: int,
        *,
        start: datetime | None,
        end: datetime,
        start_param: str,
        end_param: str,
        max_pages: int | None,
        floor: datetime,
        format_time: Callable[[datetime], str] = iso_seconds,
        windowless_first: bool = False,
        split_at: datetime | None = None,
        split_above: int | None = None,
        page_param: str = "page",
        size_param: str = "pageSize",
    ) -> None:
        self._page_params = (page_param, size_param)
        self.page_size = page_size
        self.windowless = windowless_first
        """Whether the window being read is the whole list, asked for with no window."""
        self.max_pages = max_pages
        self.split_above = split_above
        self._window_params = (start_param, end_param)
        self._floor = floor
        self._format = format_time
        self._seen = _SeenIds()
        self._windows: list[Window] = [(start, end)]
        if split_at is not None and (start is None or start < split_at) and split_at < end:
            self._windows = [(split_at, end), (start, split_at)]
        self._pages = self._pages_of_next_window()
        self.pages_read = 0
        self.splits = 0
        self.total: int | None = None
        self.finished = False

    def _pages_of_next_window(self) -> PageNumberListing:
        page_param, size_param = self._page_params
        return PageNumberListing(
            self.page_size,
            max_pages=self.max_pages,
            page_param=page_param,
            size_param=size_param,
            seen=self._seen,
        )

    @property
    def window(self) -> Window:
        """The window being read (the whole list's, while it is read with no window)."""
        return self._windows[-1]

    def query(self) -> Query:
        """The page of the window being read, with the window's ends."""
        if self.windowless:
            return self._pages.query()
        start, end = self.window
        start_param, end_param = self._window_params
        window = {end_param: self._format(end)}
        if start is not None:
            window = {start_param: self._format(start), **window}
        return {**window, **self._pages.query()}

    def accept(self, ids: list[str], total: int | None) -> list[bool]:
        """Record a page; move on to the next window, or split this one, at its end. A total
        the API gives counts the whole list only while no window is set."""
        self.pages_read += 1
        if self.windowless:
            self.total = total
        if self._too_full(total):
            self._windows += self._halves(*self._windows.pop())
            self._next_window()
            return [False] * len(ids)  # passed on from the halves
        fresh = self._pages.accept(ids, total)
        if self._pages.finished:
            self._window_done()
        return fresh

    def _too_full(self, total: int | None) -> bool:
        """Whether the first page of a window says it holds more than ``split_above``
        invoices, in a window that can still be halved."""
        if self.split_above is None or total is None or self._pages.pages_read:
            return False
        start, end = self.window
        return total > self.split_above and end - (start or self._floor) > self.min_window

    def not_found(self, payload: Any) -> None:
        """As for any page-numbered list."""
        self._pages.not_found(payload)

    def tolerates(self, status: int) -> bool:
        """A refusal past the first page of a window is the page cap."""
        return self._pages.tolerates(status)

    def refused(self, status: int) -> None:
        """The page cap: the window is split."""
        self._pages.refused(status)
        self._window_done()

    def _window_done(self) -> None:
        start, end = self._windows.pop()
        if self._pages.capped:
            self._windows += self._halves(start, end)
        self._next_window()

    def _next_window(self) -> None:
        self.windowless = False
        self.finished = not self._windows
        self._pages = self._pages_of_next_window()

    def _halves(self, start: datetime | None, end: datetime) -> list[Window]:
        lower = start or self._floor
        if end - lower <= self.min_window:
            msg = (
                f"more invoices share the window {self._format(lower)} to {self._format(end)} "
                f"than the API serves in {self.max_pages} pages of {self.page_size}: they "
                f"cannot all be listed; nothing was committed to state"
            )
            raise TapInvoicingError(msg)
        middle = lower + (end - lower) / 2
        middle = middle.replace(microsecond=0)
        self.splits += 1
        return [(middle, end), (lower, middle)]
