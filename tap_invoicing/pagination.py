"""Offset/limit paging over an invoice list that can change while it is being read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from singer_sdk.pagination import OffsetPaginator

from tap_invoicing.errors import TapInvoicingError

if TYPE_CHECKING:
    import requests


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

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.overlap = min(self.max_overlap, page_size // 4)
        self.offset = 0
        self.finished = False
        self.step_backs = 0
        self.total: int | None = None
        self.pages_read = 0
        self._last_page_was_fruitless = False
        self._seen: set[str] = set()

    def accept(self, ids: list[str], total: int | None) -> list[bool]:
        """Record the page read at ``self.offset``; return, per id, whether it is new."""
        self.total = total
        self.pages_read += 1
        fresh = []
        for invoice_id in ids:
            fresh.append(invoice_id not in self._seen)
            self._seen.add(invoice_id)
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

    def end(self, *, is_end_answer: bool) -> None:
        """The API answered 404 for the page at ``self.offset``: the end of the list only if it
        is the API's own end-of-list answer (on the first page: an account with no invoices);
        any other 404 (a wrong ``base_url`` path, say) fails the run rather than end it empty.
        """
        if not is_end_answer:
            where = "the invoice list" if not self.pages_read else f"offset {self.offset}"
            msg = (
                f"HTTP 404 for {where}, and not the API's end-of-list answer: check base_url "
                f"and environment; nothing was committed to state"
            )
            raise TapInvoicingError(msg)
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


class ListingPaginator(OffsetPaginator):
    """The SDK's offset paginator, steered by an :class:`OffsetListing`."""

    def __init__(self, listing: OffsetListing) -> None:
        super().__init__(start_value=0, page_size=listing.page_size)
        self.listing = listing

    def get_next(self, response: requests.Response) -> int | None:
        """The offset the listing chose after parsing this page."""
        return self.listing.offset

    def has_more(self, response: requests.Response) -> bool:
        """More pages until the listing saw the end of the list."""
        return not self.listing.finished

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page of already-seen invoices is not the end of the list."""
        return not self.listing.finished
