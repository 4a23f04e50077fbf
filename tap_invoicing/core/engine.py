"""One pass over a provider's invoice list, from its list pages to the records written and the
bookmark to commit. ``InvoiceRun``'s methods, read top to bottom, are one invoice's path:

1. ``run`` starts the pass: the provider's listing and change plan, from the bookmark;
2. ``_listed`` reads the list page by page (``ApiClient.list_page``) as the listing chooses;
3. ``_to_read`` keeps the listed invoices the plan says may have changed, and dated within
   ``start_date`` and ``end_date`` where the list item says its date;
4. ``_read`` (on a fetch worker) reads one invoice's detail (``ApiClient.detail``), checks its
   date against the range, and conforms it to its schema;
5. ``_emit`` hands the invoice and its child records to the writer (the invoice first, then each
   child stream's records in the order the provider declares them), with tombstones for the rows
   the previous run wrote that the invoice no longer holds; an invoice gone from the API (404)
   is written as a tombstone, with its remembered rows;
6. ``_finish`` reports the pass and returns the bookmark of the whole pass.

On the way, the writer gets checkpoints (at least every ``CHECKPOINT_EVERY`` invoices written and
every ``CHECKPOINT_SECONDS``, and when the run stops early) from plans that can resume: each
claims only what was written (see ``Watermark``).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from tap_invoicing.core.bookmark import BookmarkMismatchError, has_bookmark
from tap_invoicing.core.children import child_keys, child_records, removed_rows
from tap_invoicing.core.client import ApiClient, credentials_refused
from tap_invoicing.core.conform import (
    EXTRA_FIELDS,
    FieldNotes,
    UnloadableError,
    conform_to_schema,
    with_extra_fields,
)
from tap_invoicing.core.fetch import fetch_all
from tap_invoicing.core.progress import Progress
from tap_invoicing.core.schemas import DELETED_AT, load_schema
from tap_invoicing.errors import AuthenticationFailedError, RequestRefusedError

if TYPE_CHECKING:
    import logging

    from tap_invoicing.core.bookmark import BookmarkScope
    from tap_invoicing.core.plans.remembered import ChildKeys, InvoiceChildren
    from tap_invoicing.core.provider import ChildSpec, Pass, Provider
    from tap_invoicing.core.run_settings import RunSettings

REFUSALS_BEFORE_GIVING_UP = 10
"""Details refused as forbidden, with none served, before the run counts as refused outright."""

Listed = tuple[int, str, Mapping[str, Any]]
"""A listed invoice to read: its place in the pass (see ``Watermark``), its id, its list item."""

CHECKPOINT_EVERY = 1000
"""Invoices written between checkpoints, at most."""
CHECKPOINT_SECONDS = 5.0
"""Seconds between checkpoints, at most, while invoices are being written."""
HANDLED_EDGE = 10
"""How many of the last handled invoices a checkpoint names, to find its place in the list."""

ChildRows = list[tuple[str, list[dict[str, Any]]]]
"""One invoice's child records (tombstones included), stream by stream."""


class InvoiceWriter(Protocol):
    """Where the run writes records: the Singer output, through the SDK (``core.sdk``)."""

    def write_invoice(
        self, invoice: dict[str, Any], children: list[tuple[str, list[dict[str, Any]]]]
    ) -> None:
        """Write one invoice, then its child records, stream by stream."""
        ...

    def checkpoint(self, bookmark: dict[str, Any]) -> None:
        """Put a bookmark of the pass so far in the state, and write the state."""
        ...


class Watermark:
    """Which listed invoices a pass has handled (written, or decided on without a read), in
    list order: every invoice before the mark, and some after it, written out of order by the
    fetch workers. A checkpoint names the last ones before the mark and the ones written past
    it: never an invoice not yet written."""

    def __init__(self) -> None:
        self._next = 0
        self.mark = 0
        """How many invoices, from the start of the pass, are all handled."""
        self._handled_past: dict[int, str] = {}
        self.written_past: dict[int, str] = {}
        """Invoices written past the mark, by place."""
        self.last_handled: deque[str] = deque(maxlen=HANDLED_EDGE)

    def place(self) -> int:
        """The place of the next listed invoice."""
        self._next += 1
        return self._next - 1

    def handled(self, place: int, invoice_id: str, *, written: bool) -> None:
        """The invoice at ``place`` is handled (``written``: its records are out)."""
        if place != self.mark:
            self._handled_past[place] = invoice_id
            if written:
                self.written_past[place] = invoice_id
            return
        self.last_handled.append(invoice_id)
        self.mark += 1
        while self.mark in self._handled_past:
            self.last_handled.append(self._handled_past.pop(self.mark))
            self.written_past.pop(self.mark, None)
            self.mark += 1


@dataclass(frozen=True)
class Gone:
    """A listed or remembered invoice whose detail answers 404: the API no longer serves it."""

    record_id: Any
    """Its id as its records carry it (a number, for an API whose ids are numbers)."""


@dataclass(frozen=True)
class OutOfRange:
    """A read invoice dated outside ``start_date`` and ``end_date``: not emitted, and not
    remembered by the plan (a run with a wider range makes a full pass anyway)."""


@dataclass(frozen=True)
class DetailProblem:
    """Why one listed invoice was not emitted this run: it is read again on the next run."""

    reason: str
    forbidden: bool = False


class DetailTally:
    """What became of the details a run requested, for the final line and the refusal check."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self.served = self.emitted = self.vanished = self.unread = self.forbidden = 0
        self.removed_rows = self.out_of_range = 0

    def not_emitted(self, invoice_id: str, problem: DetailProblem, logger: logging.Logger) -> None:
        """Count and log one invoice that is not emitted this run; stop the run if every
        detail so far was refused as forbidden (the credentials cannot read details)."""
        self.unread += 1
        self.forbidden += problem.forbidden
        logger.warning(
            "Invoice %s not emitted, read again next run: %s", invoice_id, problem.reason
        )
        if self.forbidden >= REFUSALS_BEFORE_GIVING_UP and not self.served:
            self.check_not_all_refused()

    def check_not_all_refused(self) -> None:
        """A run whose every detail was refused as forbidden failed to authenticate."""
        if self.forbidden and not self.served:
            how = f"for every invoice detail requested ({self.forbidden})"
            msg = credentials_refused(self._provider, f"{how}, although it served the list")
            raise AuthenticationFailedError(msg, status=HTTPStatus.FORBIDDEN)

    def summary(self, skipped_unchanged: int, *, dated: bool = False) -> str:
        """What became of the listed invoices not emitted, for the final line (with ``dated``,
        those left out by ``start_date``/``end_date`` too)."""
        outside = f", {self.out_of_range} dated outside start_date/end_date" if dated else ""
        return (
            f"{skipped_unchanged} unchanged and skipped, {self.vanished} vanished, "
            f"{self.unread} not emitted (read again next run), {self.removed_rows} child rows "
            f"removed (vanished invoices and removed rows written as deleted){outside}"
        )


class InvoiceRun:
    """The invoices new or changed since the last run, each read once (list item or detail)
    and written with its children; the next bookmark once the whole list has been read."""

    def __init__(
        self,
        provider: Provider,
        settings: RunSettings,
        *,
        schema: Mapping[str, Any],
        children: list[ChildSpec],
        writer: InvoiceWriter,
        logger: logging.Logger,
        record_limit: int | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.logger = logger
        self.api = provider.make_api(settings)
        self.client = ApiClient(provider, self.api, settings, logger)
        self._schema = schema
        self._children = [(spec, load_schema(provider, spec.name)) for spec in children]
        self._writer = writer
        self._record_limit = record_limit
        self._tally = DetailTally(provider)
        self._progress = Progress(logger, in_flight=lambda: self.client.gate.in_flight)
        self._undeclared: defaultdict[str, set[str]] = defaultdict(set)
        self._as_text: defaultdict[str, set[str]] = defaultdict(set)
        self._child_counts = Counter({spec.name: 0 for spec in children})
        self._watermark = Watermark()
        self._written_since_checkpoint = 0
        self._checkpointed_at = time.monotonic()

    def run(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> dict[str, Any] | None:
        """Read and write the pass; return the bookmark to commit, or None when the run stopped
        at its record limit (a dry run), which commits nothing.

        List pages are read in order on this thread; details are fetched by workers, as many at
        once as the concurrency limit allows, and written as they arrive.
        """
        self._pass = self._begin(stream_state, scope)
        listed = self._to_read(self._listed())
        invoices = fetch_all(
            listed, self._read, limit=self.client.gate.limit, on_abort=self.client.gate.stop
        )
        # Closed here when the run stops early: that stops the workers at once.
        with closing(self.client), closing(listed), closing(invoices), self._progress:
            try:
                for (place, invoice_id, _), outcome in invoices:
                    written = self._emit(invoice_id, outcome)
                    self._watermark.handled(place, invoice_id, written=written)
                    if self._record_limit is not None and self._tally.emitted >= self._record_limit:
                        return None
                    self._checkpoint_if_due()
            except BaseException:
                self._checkpoint_on_the_way_out()
                raise
        return self._finish()

    def _checkpoint_if_due(self) -> None:
        """A checkpoint once enough invoices were written, or enough time went by, since the
        last one (none in a dry run: it commits nothing)."""
        due = (
            self._written_since_checkpoint >= CHECKPOINT_EVERY
            or time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS
        )
        if due and self._record_limit is None:
            self._checkpoint()

    def _checkpoint(self) -> None:
        watermark = self._watermark
        bookmark = self._pass.plan.checkpoint(
            self.provider.replication_key,
            list(watermark.last_handled),
            sorted(watermark.written_past.values()),
            watermark.mark,
        )
        self._checkpointed_at = time.monotonic()
        if bookmark is not None:
            self._written_since_checkpoint = 0
            self._writer.checkpoint(bookmark)

    def _checkpoint_on_the_way_out(self) -> None:
        """A last checkpoint when the run stops early (a signal, a failure): the next run
        resumes from it. Its own failure (the output closed, say) leaves the one before."""
        if self._record_limit is not None:
            return
        try:
            self._checkpoint()
        except Exception:
            self.logger.debug("No checkpoint on the way out", exc_info=True)

    def _begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """The provider's listing and plan, from the bookmark if it fits this run; else a full
        pass, with the reason logged."""
        if not has_bookmark(stream_state):
            self.logger.info("No bookmark yet: a full pass over the invoice list")
        try:
            return self.api.begin(stream_state, scope)
        except BookmarkMismatchError as mismatch:
            self.logger.warning(
                "The invoices bookmark in the state does not fit this run (%s): a full pass "
                "over the invoice list",
                mismatch,
            )
        return self.api.begin({}, scope)

    def _listed(self) -> Iterator[dict[str, Any]]:
        """Each listed invoice once, page after page, until the listing saw the list's end."""
        listing, plan = self._pass.listing, self._pass.plan
        while not listing.finished:
            request = self.api.list_request(listing.query())
            answer = self.client.list_page(request, listing.tolerates)
            if answer.status == HTTPStatus.NOT_FOUND:
                listing.not_found(answer.payload)
                continue
            if listing.tolerates(answer.status):
                listing.refused(answer.status)
                continue
            items = self.api.page_items(answer.payload)
            ids = [self.api.item_id(item) for item in items]
            plan.note_page(answer.payload, ids, answer.served_at, listing.window)
            fresh = listing.accept(ids, self.api.page_total(answer.payload))
            yield from (item for item, is_new in zip(items, fresh, strict=True) if is_new)

    def _to_read(self, listed: Iterable[dict[str, Any]]) -> Generator[Listed, None, None]:
        """The listed invoices the plan says may have changed, but those whose list item dates
        them outside the range (no detail is read for them); then those the plan decides on
        only once the whole list has been read."""
        watermark = self._watermark
        for item in listed:
            invoice_id = self.api.item_id(item)
            place = watermark.place()
            needed = self._pass.plan.needs_detail(invoice_id, item)
            if needed and not self._out_of_range(item):
                yield place, invoice_id, item
                continue
            self._tally.out_of_range += needed
            watermark.handled(place, invoice_id, written=False)
            self._progress.advance(self._pass.listing.total, fetched=False)
        for invoice_id in self._pass.plan.deferred():
            self._progress.reconsider()
            yield watermark.place(), invoice_id, {}
        for invoice_id in self._pass.plan.unlisted():
            yield watermark.place(), invoice_id, {}

    def _read(self, listed: Listed) -> dict[str, Any] | DetailProblem | Gone | OutOfRange:
        """One invoice conformed to the schema (on a worker thread): the list item when it is
        the whole invoice, else its detail; Gone on 404, a DetailProblem when the API refuses it
        or it cannot be loaded as its schema says, OutOfRange when it is dated outside the run's
        range. Fields the schema does not declare are kept (top-level ones in ``extraFields``)
        and named once, at the end of the run."""
        _, invoice_id, item = listed
        if self.api.is_complete(item):
            invoice: Any = item
        else:
            try:
                invoice = self.client.detail(invoice_id)
            except RequestRefusedError as refusal:
                if refusal.status == HTTPStatus.UNAUTHORIZED:
                    raise  # the credentials no longer work: no later detail will either
                forbidden = refusal.status == HTTPStatus.FORBIDDEN
                return DetailProblem(refusal.answer, forbidden=forbidden)
            if invoice is None:
                return Gone(item.get(self.provider.invoice_key, invoice_id))
        if self._out_of_range(item, invoice):
            return OutOfRange()
        notes = FieldNotes()
        invoice = with_extra_fields(invoice, self._schema, notes)
        try:
            invoice = conform_to_schema(invoice, self._schema, notes)
        except UnloadableError as error:
            return DetailProblem(f"{error}, as its schema requires")
        self._note_fields("invoices", notes)
        record = self.api.finish_record(invoice)
        record.update(self._pass.stamp)
        record[DELETED_AT] = None
        return record

    def _emit(
        self, invoice_id: str, outcome: dict[str, Any] | DetailProblem | Gone | OutOfRange
    ) -> bool:
        """Write one read invoice with its children and the tombstones of the rows it no longer
        holds; write a gone one as deleted; or count why it was not written (dated outside the
        range, or not read). Whether records were written."""
        self._progress.advance(self._pass.listing.total, fetched=True)
        plan = self._pass.plan
        if isinstance(outcome, OutOfRange):
            self._tally.out_of_range += 1
            return False
        if isinstance(outcome, Gone):
            self._write_gone(invoice_id, outcome.record_id)
            return True
        if isinstance(outcome, DetailProblem):
            self._tally.not_emitted(invoice_id, outcome, self.logger)
            plan.note_read(invoice_id, None, {})
            return False
        self._tally.served += 1
        children = self._child_records(outcome)
        written = dict(children)
        keys = {spec.name: child_keys(spec, written[spec.name]) for spec, _ in self._children}
        before = plan.previous_children(invoice_id)
        plan.note_read(invoice_id, outcome, keys)
        if before is not None:
            self._add_removed(children, outcome[self.provider.invoice_key], before, keys)
        self._tally.emitted += 1
        self._written_since_checkpoint += 1
        self._writer.write_invoice(outcome, children)
        return True

    def _write_gone(self, invoice_id: str, record_id: Any) -> None:
        """An invoice the API no longer serves: its tombstone, then its remembered rows'."""
        self._tally.vanished += 1
        self.logger.warning(
            "Invoice %s is gone (its detail answers 404): written as deleted", invoice_id
        )
        deleted_at = datetime.now(UTC).isoformat()
        tombstone = {
            self.provider.invoice_key: record_id,
            self.provider.replication_key: deleted_at,
            **self._pass.stamp,
            DELETED_AT: deleted_at,
        }
        children: ChildRows = [(spec.name, []) for spec, _ in self._children]
        before = self._pass.plan.previous_children(invoice_id) or {}
        self._add_removed(children, record_id, before, {}, deleted_at)
        self._pass.plan.note_gone(invoice_id)
        self._writer.write_invoice(tombstone, children)

    def _add_removed(
        self,
        children: ChildRows,
        record_id: Any,
        before: InvoiceChildren,
        now: Mapping[str, ChildKeys],
        deleted_at: str | None = None,
    ) -> None:
        """Append, to each stream's records, the tombstones of the rows written ``before`` that
        the invoice does not hold ``now``."""
        deleted_at = deleted_at or datetime.now(UTC).isoformat()
        for (spec, _), (name, rows) in zip(self._children, children, strict=True):
            if name not in before:
                continue
            gone = removed_rows(spec, record_id, before[name], now.get(name, []), deleted_at)
            self._tally.removed_rows += len(gone)
            rows.extend(gone)

    def _finish(self) -> dict[str, Any]:
        """The pass's last lines, and the bookmark it earned."""
        self._tally.check_not_all_refused()
        listing, plan = self._pass.listing, self._pass.plan
        dated = self.settings.dates.bounded
        summary = self._tally.summary(plan.skipped_unchanged, dated=dated)
        outcome = f"{summary}; {self.client.gate.report()}"
        self._progress.finish(
            listing.total,
            written=self._tally.emitted,
            outcome=outcome,
            children=self._child_counts,
        )
        if not self._progress.done and plan.reads_whole_list and not dated:
            self.logger.warning("%s listed no invoices for this account", self.provider.label)
        if any(self._undeclared.values()):
            self.logger.warning(
                "Fields the schemas do not declare, kept as sent (top-level ones in %s): %s",
                EXTRA_FIELDS,
                _by_stream(self._undeclared),
            )
        if any(self._as_text.values()):
            self.logger.warning(
                "Values sent as a number or JSON where the schema says text, written as their "
                "text: %s",
                _by_stream(self._as_text),
            )
        return plan.next_bookmark(self.provider.replication_key)

    def _child_records(self, invoice: Mapping[str, Any]) -> ChildRows:
        """Each selected child stream's records of one invoice."""
        records: ChildRows = []
        for spec, schema in self._children:
            notes = FieldNotes()
            key = self.provider.invoice_key
            rows = list(child_records(spec, invoice, invoice_key=key, schema=schema, notes=notes))
            self._note_fields(spec.name, notes)
            records.append((spec.name, rows))
        self._child_counts.update({name: len(written) for name, written in records})
        return records

    def _note_fields(self, stream: str, notes: FieldNotes) -> None:
        """Keep what conforming one record found, for the run's last lines (from any worker)."""
        self._undeclared[stream].update(notes.undeclared)
        self._as_text[stream].update(notes.as_text)

    def _out_of_range(self, *sources: Mapping[str, Any]) -> bool:
        """Whether the invoice is dated outside ``start_date`` and ``end_date``: the first of
        ``sources`` (its list item, then the invoice read) that gives its date decides, so a
        listed date is never contradicted by the detail's; an invoice with no date is kept."""
        dates = self.settings.dates
        if not dates.bounded:
            return False
        for source in sources:
            date = self.api.invoice_date(source)
            if date is not None:
                return date not in dates
        return False


def _by_stream(paths: Mapping[str, set[str]]) -> str:
    """``invoices: a, b.c; invoice_line_items: d``: the streams with any, each path once."""
    return "; ".join(
        f"{stream}: {', '.join(sorted(found))}" for stream, found in sorted(paths.items()) if found
    )
