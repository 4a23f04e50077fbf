"""Change plans: how a run decides which listed invoices to read, and what its bookmark keeps.

A provider picks the plan its API allows: open-invoice tracking where the list has no change
filter (``open_invoices``), digests of settled invoices' summaries where the summaries show every
change a settled invoice can have (``settled_buckets``), or the API's own last-update filter
(``update_window``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol


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

    def note_page(self, payload: Any, ids: list[str], served_at: datetime | None) -> None:
        """A list page was read; ``served_at`` is the API's clock (its ``Date`` header)."""
        ...

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Whether a listed invoice must be read (it may be new or changed)."""
        ...

    def deferred(self) -> Iterable[str]:
        """Invoices to read once the whole list has been read (decided by the whole list)."""
        ...

    def note_read(self, invoice_id: str, invoice: Mapping[str, Any] | None) -> None:
        """What became of a read: the invoice, or None when it was not emitted this run."""
        ...

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The bookmark to commit once the whole list has been read."""
        ...
