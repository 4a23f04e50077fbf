"""Change plans: how a run decides which listed invoices to read, and what its bookmark keeps.

A provider picks the plan its API allows: open-invoice tracking where the list has no change
filter (``open_invoices``), digests of settled invoices' summaries where the summaries show every
change a settled invoice can have (``settled_buckets``), or the API's own last-update filter
(``update_window``). The first two also remember the invoices that can still change, with the
keys of their child rows (``remembered``), for the tombstones of what the API removes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tap_invoicing.core.listing import Window
    from tap_invoicing.core.plans.remembered import InvoiceChildren


class ChangePlan(Protocol):
    """What the engine asks of a plan during one pass over the list."""

    @property
    def reads_whole_list(self) -> bool:
        """Whether this pass lists the whole account (an empty list is then worth a warning),
        not only what changed in a window (where an empty one is routine)."""
        ...

    @property
    def skipped_unchanged(self) -> int:
        """Listed invoices not read because they cannot have changed."""
        ...

    def note_page(
        self, payload: Any, ids: list[str], served_at: datetime | None, window: Window | None
    ) -> None:
        """A list page was read; ``served_at`` is the API's clock (its ``Date`` header),
        ``window`` the time window it was read in (None: the list is not read in windows)."""
        ...

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Whether a listed invoice must be read (it may be new or changed)."""
        ...

    def deferred(self) -> Iterable[str]:
        """Invoices to read once the whole list has been read (decided by the whole list)."""
        ...

    def unlisted(self) -> Iterable[str]:
        """Invoices the previous run remembered that this pass's whole list did not name: each
        is read (a 404 confirms it is gone), once the whole list has been read."""
        ...

    def previous_children(self, invoice_id: str) -> InvoiceChildren | None:
        """The invoice's child rows as the previous run wrote them, if it remembered
        the invoice (None: it did not)."""
        ...

    def note_read(
        self, invoice_id: str, invoice: Mapping[str, Any] | None, children: InvoiceChildren
    ) -> None:
        """What became of a read: the invoice and its child rows as written, or None
        when it was not emitted this run (it is read again next run)."""
        ...

    def note_gone(self, invoice_id: str) -> None:
        """The API no longer serves the invoice (404): it and its rows were tombstoned."""
        ...

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> dict[str, Any] | None:
        """A bookmark of the pass so far, from which a later run resumes: ``handled`` are the
        last invoices of the part of the list handled in full (``listed`` invoices long),
        ``ahead`` those written past it. None when this plan cannot resume a pass (the pass is
        then made again whole)."""
        ...

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The bookmark to commit once the whole list has been read."""
        ...
