"""One pass over a provider's invoice list, from its list pages to the records written and the
bookmark to commit. ``InvoiceRun``'s methods, read top to bottom, are one invoice's path:

1. ``run`` starts the pass: the provider's listing and change plan, from the bookmark;
2. ``_listed`` reads the list page by page (``ApiClient.list_page``) as the listing chooses;
3. ``_to_read`` keeps the listed invoices the plan says may have changed;
4. ``_read`` (on a fetch worker) reads one invoice's detail (``ApiClient.detail``) and conforms it
   to its schema;
5. ``_emit`` hands the invoice and its child records to the writer (the invoice first, then each
   child stream's records in the order the provider declares them);
6. ``_finish`` reports the pass and returns the bookmark, committed only after a whole pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from tap_invoicing.core.bookmark import BookmarkMismatchError, has_bookmark
from tap_invoicing.core.children import child_records
from tap_invoicing.core.client import ApiClient, credentials_refused
from tap_invoicing.core.conform import UnloadableError, conform_to_schema, with_extra_fields
from tap_invoicing.core.fetch import fetch_all
from tap_invoicing.core.progress import Progress
from tap_invoicing.core.schemas import load_schema
from tap_invoicing.errors import AuthenticationFailedError, RequestRefusedError

if TYPE_CHECKING:
    import logging

    from tap_invoicing.core.bookmark import BookmarkScope
    from tap_invoicing.core.provider import ChildSpec, Pass, Provider
    from tap_invoicing.core.run_settings import RunSettings

REFUSALS_BEFORE_GIVING_UP = 10
"""Details refused as forbidden, with none served, before the run counts as refused outright."""

Listed = tuple[str, Mapping[str, Any]]
"""A listed invoice to read: its id and its list item."""


class InvoiceWriter(Protocol):
    """Where the run writes records: the Singer output, through the SDK (``core.sdk``)."""

    def write_invoice(
        self, invoice: dict[str, Any], children: list[tuple[str, list[dict[str, Any]]]]
    ) -> None:
        """Write one invoice, then its child records, stream by stream."""
        ...


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

    def not_emitted(
        self, invoice_id: str, problem: DetailProblem | None, logger: logging.Logger
    ) -> None:
        """Count and log one invoice that is not emitted this run; stop the run if every
        detail so far was refused as forbidden (the credentials cannot read details)."""
        if problem is None:
            self.vanished += 1
            logger.warning("Invoice %s vanished between list and detail (404)", invoice_id)
            return
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

    def summary(self, skipped_unchanged: int) -> str:
        """What became of the listed invoices not emitted, for the final line."""
        return (
            f"{skipped_unchanged} unchanged and skipped, {self.vanished} vanished, "
            f"{self.unread} not emitted (read again next run)"
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
        self._unmapped_seen: set[tuple[str, ...]] = set()
        self._child_counts = Counter({spec.name: 0 for spec in children})

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
            for (invoice_id, _), outcome in invoices:
                if not self._emit(invoice_id, outcome):
                    return None
        return self._finish()

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
            plan.note_page(answer.payload, ids, answer.served_at)
            fresh = listing.accept(ids, self.api.page_total(answer.payload))
            yield from (item for item, is_new in zip(items, fresh, strict=True) if is_new)

    def _to_read(self, listed: Iterable[dict[str, Any]]) -> Generator[Listed, None, None]:
        """The listed invoices the plan says may have changed, then those it decides on only
        once the whole list has been read."""
        for item in listed:
            invoice_id = self.api.item_id(item)
            if self._pass.plan.needs_detail(invoice_id, item):
                yield invoice_id, item
            else:
                self._progress.advance(self._pass.listing.total, fetched=False)
        for invoice_id in self._pass.plan.deferred():
            self._progress.reconsider()
            yield invoice_id, {}

    def _read(self, listed: Listed) -> dict[str, Any] | DetailProblem | None:
        """One invoice conformed to the schema (on a worker thread): the list item when it is
        the whole invoice, else its detail; None on 404, a DetailProblem when the API refuses
        it or it cannot be loaded as its schema says."""
        invoice_id, item = listed
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
                return None
        if self.provider.extra_fields:
            invoice = with_extra_fields(invoice, self._schema, self.provider.extra_fields)
        unmapped: list[str] = []
        try:
            invoice = conform_to_schema(invoice, self._schema, unmapped)
        except UnloadableError as error:
            return DetailProblem(f"{error}, as its schema requires")
        if unmapped:
            self._warn_unmapped(tuple(unmapped))
        record = self.api.finish_record(invoice)
        record.update(self._pass.stamp)
        return record

    def _emit(self, invoice_id: str, outcome: dict[str, Any] | DetailProblem | None) -> bool:
        """Write one read invoice with its children (unless it is older than ``start_date``),
        or count why it was not read; False once the record limit is reached."""
        self._progress.advance(self._pass.listing.total, fetched=True)
        plan = self._pass.plan
        if not isinstance(outcome, dict):
            self._tally.not_emitted(invoice_id, outcome, self.logger)
            plan.note_read(invoice_id, None)
            return True
        self._tally.served += 1
        plan.note_read(invoice_id, outcome)
        if self._before_start_date(outcome):
            return True
        self._tally.emitted += 1
        self._writer.write_invoice(outcome, self._child_records(outcome))
        return self._record_limit is None or self._tally.emitted < self._record_limit

    def _finish(self) -> dict[str, Any]:
        """The pass's last lines, and the bookmark it earned."""
        self._tally.check_not_all_refused()
        listing, plan = self._pass.listing, self._pass.plan
        outcome = f"{self._tally.summary(plan.skipped_unchanged)}; {self.client.gate.report()}"
        self._progress.finish(
            listing.total,
            written=self._tally.emitted,
            outcome=outcome,
            children=self._child_counts,
        )
        if not self._progress.done and plan.reads_whole_list:
            self.logger.warning("%s listed no invoices for this account", self.provider.label)
        return plan.next_bookmark(self.provider.replication_key)

    def _child_records(self, invoice: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
        """Each selected child stream's records of one invoice."""
        records = [
            (
                spec.name,
                list(
                    child_records(
                        spec,
                        invoice,
                        invoice_key=self.provider.invoice_key,
                        schema=schema,
                        extra_fields=self.provider.extra_fields,
                    )
                ),
            )
            for spec, schema in self._children
        ]
        self._child_counts.update({name: len(written) for name, written in records})
        return records

    def _before_start_date(self, invoice: Mapping[str, Any]) -> bool:
        """Whether the invoice's latest activity is older than ``start_date``."""
        start = self.settings.start_date
        if start is None:
            return False
        activity = self.api.last_activity(invoice)
        return activity is not None and activity < start

    def _warn_unmapped(self, paths: tuple[str, ...]) -> None:
        """Warn once per set of undeclared properties, not once per invoice."""
        if paths not in self._unmapped_seen:
            self._unmapped_seen.add(paths)
            self.logger.warning(
                "Properties %s were present in the 'invoices' stream but not found in its "
                "schema: not extracted",
                ", ".join(paths),
            )
