"""The invoice run every provider shares: list, decide, fetch details, emit, commit.

The invoices stream pages the provider's list with the provider's listing, asks the provider's
change plan which invoices to read, fetches their details as many at once as the request gate's
concurrency limit allows (or uses the list item when it already is the whole invoice), writes
each invoice with its children, and commits the plan's bookmark only after a whole pass. Only
the :class:`Provider` it is given knows which API this is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from singer_sdk.streams.rest import HTTPRequest

from tap_invoicing.core.bookmark import BookmarkMismatchError, BookmarkScope, has_bookmark
from tap_invoicing.core.children import InvoiceChildStream
from tap_invoicing.core.conform import UnloadableError, conform_to_schema, with_extra_fields
from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.fetch import fetch_all
from tap_invoicing.core.http_stream import InvoicingStream, credentials_refused, served_at
from tap_invoicing.core.listing import ListingPaginator
from tap_invoicing.core.progress import Progress
from tap_invoicing.core.provider import RunStart
from tap_invoicing.core.schemas import load_schema
from tap_invoicing.core.sdk_hooks import ParentStreamHooks, RequestMetricsHooks
from tap_invoicing.errors import AuthenticationFailedError, RequestRefusedError

if TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.streams.rest import PageContext

    from tap_invoicing.core.listing import Listing
    from tap_invoicing.core.plans import ChangePlan
    from tap_invoicing.core.provider import Provider

REFUSALS_BEFORE_GIVING_UP = 10
"""Details refused as forbidden, with none served, before the run counts as refused outright."""


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


class InvoicesStream(ParentStreamHooks, RequestMetricsHooks, InvoicingStream):
    """The invoice list, with details read only where the provider's plan says something may
    have changed. Each detail is fetched once and feeds this stream and every child stream."""

    is_sorted = False
    payload_as_json = True
    """A list page asked for by POST (a search) sends its criteria as JSON."""

    def __init__(self, tap: Tap, provider: Provider) -> None:
        self.api = provider.make_api(tap.config)
        super().__init__(
            tap,
            provider,
            name="invoices",
            schema=load_schema(provider, "invoices"),
            path=self.api.list_path,
        )
        self.primary_keys = (provider.invoice_key,)
        self.replication_key = provider.replication_key
        self._unmapped_seen: set[tuple[str, ...]] = set()
        self._children: list[InvoiceChildStream] = []

    @property
    def page_size(self) -> int:
        """The ``page_size`` setting, else the provider's default."""
        return int(self.config.get("page_size") or self.provider.default_page_size)

    @cached_property
    def start_date(self) -> datetime | None:
        """Invoices whose latest activity is older than this are not emitted."""
        return parse_time(self.config.get("start_date"))

    def _before_start_date(self, invoice: Mapping) -> bool:
        if self.start_date is None:
            return False
        activity = self.api.last_activity(invoice)
        return activity is not None and activity < self.start_date

    # The list, paged by the provider's listing.

    def get_new_paginator(self) -> ListingPaginator:
        """Pages as this pass's listing chooses them."""
        return ListingPaginator(self._listing)

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The provider's request for the page the listing chose."""
        request = self.api.list_request(page.next_page_token or {})
        return HTTPRequest(
            url=self.url_base + request.path,
            method=request.method,
            headers=self.http_headers,
            params=dict(request.params),
            data=dict(request.body) if request.body is not None else None,
        )

    def tolerates(self, response: requests.Response) -> bool:
        """A refusal of a list page that the listing handles (a page cap)."""
        return self._is_list_page(response) and self._listing.tolerates(response.status_code)

    def missing_fields(self, payload: Any, response: requests.Response) -> list[str]:
        """What the provider says a list page or a detail must hold."""
        return self.api.missing_fields(payload, listed=self._is_list_page(response))

    def _is_list_page(self, response: requests.Response) -> bool:
        return urlsplit(response.request.url or "").path in self._list_paths

    @cached_property
    def _list_paths(self) -> frozenset[str]:
        return frozenset(urlsplit(self.url_base + path).path for path in self.api.list_paths)

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """Listed invoices of one page not already passed on in this pass."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            try:
                payload = self.decoded(response)
            except ValueError:
                payload = None
            self._listing.not_found(payload)
            return
        if response.status_code != HTTPStatus.OK:
            self._listing.refused(response.status_code)
            return
        payload = self.decoded(response)
        items = self.api.page_items(payload)
        ids = [self.api.item_id(item) for item in items]
        self._plan.note_page(payload, ids, served_at(response))
        fresh = self._listing.accept(ids, self.api.page_total(payload))
        yield from (item for item, is_new in zip(items, fresh, strict=True) if is_new)

    # The run.

    def bookmark_scope(self, selected: list[str]) -> BookmarkScope:
        """What this run's bookmark is made for: provider, API root, account, start, streams."""
        account = [str(self.config.get(name, "")) for name in self.provider.account_settings]
        return BookmarkScope(
            provider=self.provider.name,
            api_root=self.url_base,
            account=BookmarkScope.account_digest(account),
            start_date=self.start_date,
            streams=tuple(selected),
        )

    def _begin(self, scope: BookmarkScope) -> tuple[Listing, ChangePlan]:
        """The provider's listing and plan, from the bookmark if it fits this run; else a full
        pass, with the reason logged."""
        run = RunStart(
            bookmark=dict(self.stream_state),
            scope=scope,
            account_settings=", ".join(self.provider.account_settings),
            page_size=self.page_size,
            config=self.config,
            logger=self.logger,
        )
        if not has_bookmark(run.bookmark):
            self.logger.info("No bookmark yet: a full pass over the invoice list")
        try:
            return self.api.begin(run)
        except BookmarkMismatchError as mismatch:
            self.logger.warning(
                "The invoices bookmark in the state does not fit this run (%s): a full pass "
                "over the invoice list",
                mismatch,
            )
        return self.api.begin(dataclasses.replace(run, bookmark={}))

    def get_records(self, context: Context | None) -> Iterator[dict]:
        """Invoices new or changed since the last run; commits the bookmark after a full pass.

        List pages are read in order on this thread; details are fetched by workers, as many at
        once as the concurrency limit allows, and emitted as they arrive. The bookmark is written
        only after the last one.
        """
        self._listing, self._plan = self._begin(self.bookmark_scope(self.selected_family()))
        self._progress = Progress(self.logger, in_flight=lambda: self.request_gate.in_flight)
        self._children = [
            child
            for child in self.child_streams
            if child.selected and isinstance(child, InvoiceChildStream)
        ]
        for child in self._children:
            child.write_schema()
        tally = DetailTally(self.provider)
        listed = self.request_records(context)
        invoices = fetch_all(
            self._to_read(listed),
            self._read,
            limit=self.request_gate.limit,
            on_abort=self.request_gate.stop,
        )
        # Closed here when the run stops early: that stops the workers, and the list reader's
        # metrics are logged now, not by the garbage collector while the interpreter exits
        # (when a worker frozen mid-log would hold the log handler's lock).
        with closing(listed), closing(invoices), self._progress:
            for (invoice_id, _), outcome in invoices:
                self._progress.advance(self._listing.total, fetched=True)
                if not isinstance(outcome, dict):
                    tally.not_emitted(invoice_id, outcome, self.logger)
                    self._plan.note_read(invoice_id, None)
                    continue
                tally.served += 1
                self._plan.note_read(invoice_id, outcome)
                if self._before_start_date(outcome):
                    continue
                tally.emitted += 1
                yield outcome
        tally.check_not_all_refused()
        self.stream_state.update(self._plan.next_bookmark(self.provider.replication_key))
        self._progress.finish(
            self._listing.total,
            written=tally.emitted,
            outcome=f"{tally.summary(self._plan.skipped_unchanged)}; {self.request_gate.report()}",
            children={child.name: child.records_written for child in self._children},
        )
        if not self._progress.done and self._plan.reads_whole_list:
            self.logger.warning("%s listed no invoices for this account", self.provider.label)
        for child in self._children:
            child.count_records()

    def _to_read(self, listed: Iterable[dict]) -> Iterator[tuple[str, Mapping]]:
        for item in listed:
            invoice_id = self.api.item_id(item)
            if self._plan.needs_detail(invoice_id, item):
                yield invoice_id, item
            else:
                self._progress.advance(self._listing.total, fetched=False)
        for invoice_id in self._plan.deferred():
            self._progress.reconsider()
            yield invoice_id, {}

    def _read(self, listed: tuple[str, Mapping]) -> dict | DetailProblem | None:
        """One invoice conformed to the schema (on a worker thread): the list item when it is
        the whole invoice, else its detail; None on 404, a DetailProblem when the API refuses
        it or it cannot be loaded as its schema says."""
        invoice_id, item = listed
        if self.api.is_complete(item):
            invoice: Any = item
        else:
            try:
                invoice = self.request_json(self._detail_url(invoice_id))
            except RequestRefusedError as refusal:
                if refusal.status == HTTPStatus.UNAUTHORIZED:
                    raise  # the credentials no longer work: no later detail will either
                forbidden = refusal.status == HTTPStatus.FORBIDDEN
                return DetailProblem(refusal.answer, forbidden=forbidden)
            if invoice is None:
                return None
        if self.provider.extra_fields:
            invoice = with_extra_fields(invoice, self.schema, self.provider.extra_fields)
        unmapped: list[str] = []
        try:
            invoice = conform_to_schema(invoice, self.schema, unmapped)
        except UnloadableError as error:
            return DetailProblem(f"{error}, as its schema requires")
        if unmapped:
            self._warn_unmapped(tuple(unmapped))
        return self.api.finish_record(invoice)

    def _detail_url(self, invoice_id: str) -> str:
        query = urlencode(self.api.detail_params())
        return f"{self.url_base}{self.api.detail_path(invoice_id)}" + (f"?{query}" if query else "")

    def _warn_unmapped(self, paths: tuple[str, ...]) -> None:
        """Warn once per set of undeclared properties, not once per invoice."""
        if paths not in self._unmapped_seen:
            self._unmapped_seen.add(paths)
            self.logger.warning(
                "Properties %s were present in the '%s' stream but not found in its schema: "
                "not extracted",
                ", ".join(paths),
                self.name,
            )

    def selected_family(self) -> list[str]:
        """This stream and its children that are selected: a bookmark serves only these."""
        family = [self, *self.child_streams]
        return sorted(stream.name for stream in family if stream.selected)

    def get_child_context(self, record: Record, context: Context | None) -> dict:
        """Children read their records from the invoice itself: no request of their own."""
        return {"invoice": record}

    def write_children(self, child_context: Context | None) -> None:
        """Write the selected children's records of one invoice, right after the invoice."""
        invoice = child_context["invoice"] if child_context else {}
        for child in self._children:
            child.write_records_of(invoice)


InvoiceChildStream.parent_stream_type = InvoicesStream
"""The SDK links children to their parent by the parent's class: every provider's children
hang off the one invoices stream class."""
