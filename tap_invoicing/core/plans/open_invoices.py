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

A closed invoice that was already closed last time cannot change and costs no request.

A pass also writes checkpoints: a bookmark like a finished pass's, whose ``tail_invoice_ids`` are
the last invoices of the list it has handled so far (everything before them is written; the
invoices written past them are kept in ``resume.ahead``). A run that starts from a checkpoint
reads the list again from its start: up to that point (and for the invoices ahead) it reads only
what may have changed since the checkpoint, by the same rules as above with the checkpoint as
the previous run; past it, what the interrupted pass would still have read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tap_invoicing.core.bookmark import BookmarkScope, new_bookmark, read_bookmark
from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import Window
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

    def to_state(self) -> dict[str, Any]:
        """Its ends and clock, as a checkpoint records the run its pass started from."""
        return {
            "head_invoice_ids": sorted(self.head_ids),
            "tail_invoice_ids": sorted(self.tail_ids),
            "replication_key_value": self.server_time.isoformat() if self.server_time else None,
        }


def previous_run_of(bookmark: Mapping[str, Any]) -> tuple[PreviousRun, Resumption | None]:
    """What a bookmark says of the run it was made by, and, for a checkpoint, of its pass."""
    previous = PreviousRun.parse(bookmark)
    if "resume" not in bookmark:
        return previous, None
    return previous, Resumption.parse(bookmark["resume"], previous.open_invoices)


@dataclass
class ListPosition:
    """Where the list being read stands against an earlier run's list: past its first ids, and
    at or past its last ones (reached in either list order)."""

    previous: PreviousRun
    passed_head: bool = False
    reached_tail: bool = False

    def note(self, invoice_id: str) -> bool:
        """Record a listed invoice; whether it is one of the earlier list's first or last ids."""
        previous = self.previous
        at_edge = invoice_id in previous.head_ids or invoice_id in previous.tail_ids
        if at_edge:
            self.passed_head = True
            self.reached_tail |= invoice_id in previous.tail_ids
        return at_edge

    def may_have_changed(self, invoice_id: str, *, at_edge: bool, created: datetime | None) -> bool:
        """Whether a closed listed invoice may be new or changed since that earlier run: listed
        before its first ids or after its last ones, open then, or created after its clock."""
        if not at_edge and (not self.passed_head or self.reached_tail):
            return True
        previous = self.previous
        if invoice_id in previous.open_invoices:
            return True
        return (
            created is not None
            and previous.server_time is not None
            and created >= previous.server_time - CREATED_MARGIN
        )


@dataclass(frozen=True)
class Resumption:
    """What a checkpoint says of the pass it was written in: the invoices written past its
    handled part, how many invoices that part held, and the run the pass started from."""

    ahead: frozenset[str]
    listed: int
    started_from: PreviousRun | None

    @classmethod
    def parse(cls, value: object, open_invoices: RememberedInvoices) -> Resumption:
        """Read ``resume`` from a checkpoint, refusing any shape this version did not write."""
        ahead = value.get("ahead") if isinstance(value, Mapping) else None
        listed = value.get("listed") if isinstance(value, Mapping) else None
        origin = value.get("from") if isinstance(value, Mapping) else None
        if not (
            isinstance(ahead, list)
            and all(isinstance(i, str) for i in ahead)
            and type(listed) is int
            and (origin is None or isinstance(origin, Mapping))
        ):
            raise StateError("resume in the state was not written by this version of tap-invoicing")
        started_from = None
        if origin is not None:
            started_from = PreviousRun(
                server_time=parse_time(origin.get("replication_key_value")),
                head_ids=_id_list(origin, "head_invoice_ids"),
                tail_ids=_id_list(origin, "tail_invoice_ids"),
                open_invoices=open_invoices,
            )
        return cls(frozenset(ahead), listed, started_from)


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
        self,
        previous: PreviousRun | None,
        scope: BookmarkScope,
        rules: OpenInvoiceRules,
        resumption: Resumption | None = None,
    ) -> None:
        self.previous = previous
        self.scope = scope
        self._rules = rules
        self._resumption = resumption
        if resumption is not None:
            self._checkpoint: ListPosition | None = ListPosition(previous) if previous else None
            started_from = resumption.started_from
            self._origin = ListPosition(started_from) if started_from else None
        else:
            self._checkpoint = None
            self._origin = ListPosition(previous) if previous else None
        self._listed = 0
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
        read = read_bookmark(stream_state, scope, PreviousRun.FIELDS, previous_run_of)
        if read is None:
            return cls(None, scope, rules)
        previous, resumption = read
        return cls(previous, scope, rules, resumption)

    def note_page(
        self, payload: Any, ids: list[str], served_at: datetime | None, window: Window | None
    ) -> None:
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
        self._listed += 1
        edges = {
            id(position): position.note(invoice_id)
            for position in (self._checkpoint, self._origin)
            if position is not None
        }
        if self._rules.is_open(item):
            return True
        position = self._judged_by(invoice_id)
        if position is None:
            return True  # a first pass: every invoice is new
        created = self._rules.created(item)
        if position.may_have_changed(invoice_id, at_edge=edges[id(position)], created=created):
            return True
        self.skipped_unchanged += 1
        return False

    def _judged_by(self, invoice_id: str) -> ListPosition | None:
        """The earlier list an invoice is judged against: the checkpoint's, for the part of the
        list the interrupted pass handled (and the invoices it wrote past it); else the list of
        the run the pass started from (None on a first pass)."""
        checkpoint, resumption = self._checkpoint, self._resumption
        if checkpoint is not None and resumption is not None:
            before_its_end = (
                not checkpoint.reached_tail and self._listed <= resumption.listed + EDGE_SIZE
            )
            handled = invoice_id in checkpoint.previous.tail_ids or invoice_id in resumption.ahead
            if before_its_end or handled:
                return checkpoint
        return self._origin

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
        else:
            self._remembered.drop(invoice_id)

    def note_gone(self, invoice_id: str) -> None:
        """The invoice is gone from the API (404): remembered one more run, without rows."""
        self._remembered.gone(invoice_id)

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> dict[str, Any] | None:
        """A bookmark of the pass so far: ``handled`` are the last invoices of the part of the
        list handled in full (``listed`` invoices), ``ahead`` those written past it. None until
        that part holds the pass's first ids (then a checkpoint would claim nothing)."""
        if not handled or listed < len(self._head_ids) or self._server_time is None:
            return None
        origin = self._origin.previous if self._origin else None
        return new_bookmark(
            self.scope,
            replication_key,
            replication_key_value=self._server_time,
            head_invoice_ids=self._head_ids,
            tail_invoice_ids=handled,
            **{remembered.FIELD: self._remembered.checkpoint_state()},
            resume={
                "ahead": ahead,
                "listed": listed,
                "from": origin.to_state() if origin else None,
            },
        )

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
