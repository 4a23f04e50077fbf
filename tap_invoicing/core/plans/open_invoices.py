"""Incremental sync for invoice lists that offer no updated-since filter.

The list endpoints return summaries only and carry no per-invoice change time, while every
change that matters (paid, partly paid, cancelled, updated, re-sent, reminded) happens to an
invoice that is still open. So a run re-reads the details of:

- every invoice that is open now (anything about it may have changed);
- every invoice that was open at the end of the previous run (it may have closed since): those
  are remembered (``remembered.py``), with the keys of their child rows, so the state
  grows with the open invoices only, never with the invoices ever seen;
- every invoice that is new since the previous run: listed before the previous run's first
  listed invoices or after its last ones (so either list order works: newest first, as the API
  appears to list, or oldest first), or created after the previous run's server clock;
- every remembered invoice the whole list no longer names: its detail tells whether it is gone.

A closed invoice that was already closed last time cannot change and costs no request. The new
state is committed only when the whole list has been read, so an interrupted run repeats work
but never skips an invoice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tap_invoicing.core.bookmark import BookmarkScope, new_bookmark, read_bookmark
from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.plans import remembered
from tap_invoicing.core.plans.remembered import (
    InvoiceChildren,
    RememberedInvoices,
    RemembersInvoices,
)
from tap_invoicing.errors import StateError

EDGE_SIZE = 10
"""How many of the first and of the last listed ids are kept to find the previous list's ends."""

CREATED_MARGIN = timedelta(minutes=5)
"""Slack for ``createdDate``'s whole seconds against the server clock of the previous run."""


def _id_list(bookmark: Mapping[str, Any], key: str) -> frozenset[str]:
    ids = bookmark.get(key)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise StateError(f"{key} in the state must be a list of invoice ids")
    return frozenset(ids)


@dataclass(frozen=True)
class PreviousRun:
    """What the last complete run left in the bookmark."""

    server_time: datetime | None
    head_ids: frozenset[str]
    tail_ids: frozenset[str]
    open_invoices: RememberedInvoices

    FIELDS: ClassVar = ("head_invoice_ids", "tail_invoice_ids", remembered.FIELD)

    @classmethod
    def parse(cls, bookmark: Mapping[str, Any]) -> PreviousRun:
        """The previous run's ends, clock and open invoices; StateError when damaged."""
        return cls(
            server_time=parse_time(bookmark.get("replication_key_value")),
            head_ids=_id_list(bookmark, "head_invoice_ids"),
            tail_ids=_id_list(bookmark, "tail_invoice_ids"),
            open_invoices=RememberedInvoices.parse(bookmark[remembered.FIELD]),
        )


@dataclass(frozen=True)
class OpenInvoiceRules:
    """How a provider's list and details say what the open-invoice plan needs to know."""

    is_open: Callable[[Mapping[str, Any]], bool]
    """Whether a list item or a detail is in a status that can still change."""
    created: Callable[[Mapping[str, Any]], datetime | None]
    """When a listed invoice was created, when the list says."""
    server_time: Callable[[Any], str | None]
    """The API's clock in a list page, when it says."""


class OpenInvoicePlan(RemembersInvoices):
    """The change plan of an API without an updated-since filter (see the module docstring).

    Invoices are offered in list order, each once.
    """

    reads_whole_list = True

    def __init__(
        self, previous: PreviousRun | None, scope: BookmarkScope, rules: OpenInvoiceRules
    ) -> None:
        self.previous = previous
        self.scope = scope
        self._rules = rules
        self._passed_previous_head = False
        self._reached_previous_tail = False
        self._first_page_seen = False
        self._server_time: str | None = None
        self._head_ids: list[str] = []
        self._tail_ids: deque[str] = deque(maxlen=EDGE_SIZE)
        self._remembered = previous.open_invoices if previous else RememberedInvoices()
        self.skipped_unchanged = 0
        """Listed invoices whose detail was not requested: closed, and closed already before."""

    @classmethod
    def for_run(
        cls, stream_state: Mapping[str, Any], scope: BookmarkScope, rules: OpenInvoiceRules
    ) -> OpenInvoicePlan:
        """The plan of a run, from its stream's bookmark (if it fits the run).

        Raises BookmarkMismatchError when the bookmark was made for another run, and StateError
        when it is damaged or of a format this version does not know.
        """
        previous = read_bookmark(stream_state, scope, PreviousRun.FIELDS, PreviousRun.parse)
        return cls(previous, scope, rules)

    def note_page(self, payload: Any, ids: list[str], served_at: datetime | None) -> None:
        """The first page read fixes this run's clock (the API's own, from the page) and its
        first ids."""
        if not self._first_page_seen:
            self._first_page_seen = True
            self._server_time = self._rules.server_time(payload)
            self._head_ids = ids[:EDGE_SIZE]

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Whether this listed invoice may be new or changed since the previous run.

        The previous list's ends are looked for in every invoice, open or closed: new invoices
        are mostly open, so the previous head is usually open too.
        """
        self._tail_ids.append(invoice_id)
        self._remembered.listed(invoice_id)
        previous = self.previous
        if previous is None:
            return True
        at_previous_edge = invoice_id in previous.head_ids or invoice_id in previous.tail_ids
        if at_previous_edge:
            self._passed_previous_head = True
            self._reached_previous_tail |= invoice_id in previous.tail_ids
        if self._rules.is_open(item):
            return True
        if not at_previous_edge and (not self._passed_previous_head or self._reached_previous_tail):
            return True
        if invoice_id in previous.open_invoices:
            return True
        created = self._rules.created(item)
        if (
            created is not None
            and previous.server_time is not None
            and created >= previous.server_time - CREATED_MARGIN
        ):
            return True
        self.skipped_unchanged += 1
        return False

    def deferred(self) -> tuple[str, ...]:
        """Nothing waits for the end of the list."""
        return ()

    def note_read(
        self, invoice_id: str, invoice: Mapping[str, Any] | None, children: InvoiceChildren
    ) -> None:
        """Remember invoices still open at the end of this run, with their rows, and those not
        read this run (read again next run)."""
        if invoice is None:
            self._remembered.carry(invoice_id)
        elif self._rules.is_open(invoice):
            self._remembered.keep(invoice_id, children)

    def note_gone(self, invoice_id: str) -> None:
        """The invoice is gone from the API (404): remembered one more run, without rows."""
        self._remembered.gone(invoice_id)

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The bookmark to commit once the whole list has been read."""
        server_time = self._server_time or (
            self.previous.server_time.isoformat()
            if self.previous and self.previous.server_time
            else None
        )
        bookmark = new_bookmark(
            self.scope,
            replication_key,
            head_invoice_ids=self._head_ids,
            tail_invoice_ids=list(self._tail_ids),
            **{remembered.FIELD: self._remembered.to_state()},
        )
        if server_time:
            bookmark["replication_key_value"] = server_time
        return bookmark
