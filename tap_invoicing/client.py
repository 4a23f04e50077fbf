"""Shared machinery of every provider's streams: HTTP and errors, the invoice fetch path, children.

A provider module subclasses :class:`InvoicesStream` (how its list and details look) and
:class:`InvoiceChildStream` (which records hang off a detail). The algorithm lives here once.
"""

from __future__ import annotations

import abc
import itertools
import logging
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

import backoff
import requests
from singer_sdk import Stream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_invoicing.errors import (
    AuthenticationFailedError,
    RequestRefusedError,
    RetriesExhaustedError,
)
from tap_invoicing.fetch import fetch_all
from tap_invoicing.http import ApiSession, describe_prepared
from tap_invoicing.incremental import (
    BookmarkMismatchError,
    BookmarkScope,
    InvoiceSyncPlan,
    PreviousRun,
    parse_time,
)
from tap_invoicing.pagination import ListingPaginator, OffsetListing
from tap_invoicing.progress import Progress
from tap_invoicing.providers import get_provider
from tap_invoicing.settings import api_root, max_requests_per_second, max_workers
from tap_invoicing.throttle import RequestGate

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, Record, RequestFunc

    from tap_invoicing.providers.base import Provider

_DECODED = "_tap_invoicing_json"
DEFAULT_REQUEST_TIMEOUT = 60.0
MAX_RETRY_WAIT = 300.0
"""Never sleep longer than this on one retry, whatever ``Retry-After`` says."""
TRANSIENT_ERRORS = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""What the SDK's request decorator retries besides RetriableAPIError."""
PAUSE_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})
"""Answers that mean the API wants fewer requests from us: every worker waits, not just one."""
AUTH_HEADERS = ("Signature", "Authorization")
SIGNATURE_VALUE = re.compile(r'signature="([^"]+)"')
MASK = "[redacted]"
"""What a credential in an error excerpt becomes."""
_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""How a lone UTF-16 surrogate arrives in JSON: only a body with one needs scrubbing."""
_SURROGATE = re.compile("[\ud800-\udfff]")
REFUSED_STATUSES = frozenset(
    status
    for status in range(HTTPStatus.BAD_REQUEST, HTTPStatus.INTERNAL_SERVER_ERROR)
    if status
    not in {HTTPStatus.NOT_FOUND, HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS}
)
"""Answers that refuse one request for good: no retry of it can succeed."""
REFUSALS_BEFORE_GIVING_UP = 10
"""Details refused as forbidden, with none served, before the run counts as refused outright."""


class UnloadableError(ValueError):
    """A value that its schema cannot hold (a number field holding text, say)."""


def conform_to_schema(value: Any, schema: Mapping, unmapped: list[str], path: str = "") -> Any:
    """The value as its schema describes it, as the SDK's type conformance would leave it, in one
    walk: numeric strings become Decimal wherever the schema says number, with the same digits
    (the API may send an amount as "12.050", "+12.050" or 12.050; the warehouse gets one exact
    numeric column), an empty string there becomes null, and properties the schema does not
    declare are dropped, their paths added to ``unmapped``. Text where only a number fits raises
    UnloadableError: a target would reject the record, or worse, coerce it."""
    if isinstance(value, str):
        return _conform_text(value, schema.get("type", ()), path)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None:
            return value
        conformed = {}
        for key, item in value.items():
            if key in properties:
                conformed[key] = conform_to_schema(item, properties[key], unmapped, f"{path}{key}.")
            elif schema.get("additionalProperties"):
                conformed[key] = item
            else:
                unmapped.append(f"{path}{key}")
        return conformed
    if isinstance(value, list):
        items = schema.get("items", {})
        return [conform_to_schema(item, items, unmapped, path) for item in value]
    return value


def _conform_text(value: str, types: Iterable[str], path: str) -> Any:
    if "number" not in types:
        return value
    if _NUMERIC.fullmatch(value):
        return Decimal(value)
    if "string" in types:
        return value
    if not value.strip() and "null" in types:
        return None
    raise UnloadableError(f"{path.rstrip('.')} is not a number")


def without_surrogates(value: Any) -> Any:
    """The value with every lone UTF-16 surrogate replaced by U+FFFD: no writer can encode one."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(key): without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    return value


def retry_after_seconds(exception: object) -> float | None:
    """The wait a 429/503 asked for in ``Retry-After`` (seconds or an HTTP date), if any."""
    response = getattr(exception, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: the time is UTC, with no claim of a local zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe_request(response: requests.Response) -> str:
    """``GET /path`` of the request behind a response."""
    return describe_prepared(response.request)


def failure_reason(error: BaseException | None) -> str:
    """What went wrong, in a few words: the HTTP error, the body's fault, or the network's."""
    if isinstance(error, RetriableAPIError):
        response = error.response
        if response is not None and response.status_code >= HTTPStatus.BAD_REQUEST:
            return f"HTTP {response.status_code} {response.reason}"
        return str(error)
    return type(error).__name__


def credentials_refused(provider: Provider, how: str) -> str:
    """The one line for refused credentials: the provider and which settings, never values."""
    settings = ", ".join(provider.credential_settings)
    return f"authentication failed: {provider.label} refused the credentials ({settings}) {how}"


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
        """The counts of the final line."""
        return (
            f"{self.emitted} emitted, {skipped_unchanged} unchanged and skipped, "
            f"{self.vanished} vanished, {self.unread} not emitted (read again next run)"
        )


class InvoicingStream(RESTStream[int]):
    """HTTP behaviour shared by every provider: base URL, authentication, error reporting."""

    provider_name: ClassVar[str]
    _warned_surrogates = False

    @property
    def provider(self) -> Provider:
        """The API this stream reads."""
        return get_provider(self.provider_name)

    @property
    def url_base(self) -> str:
        """The configured environment's host, or the ``base_url`` override."""
        return api_root(self.config)

    @cached_property
    def authenticator(self) -> requests.auth.AuthBase:
        """The provider's request signer, built once per stream."""
        return self.provider.make_auth(self.config)

    @cached_property
    def request_gate(self) -> RequestGate:
        """The rate cap and shared pauses of the run (the invoices stream makes every request)."""
        return RequestGate(max_requests_per_second(self.config), self.logger)

    @cached_property
    def requests_session(self) -> requests.Session:
        """The run's session (see tap_invoicing.http), its connection pool sized for every
        worker plus the list reader."""
        return ApiSession(pool_size=max_workers(self.config) + 1, base_url=self.url_base)

    @property
    def http_headers(self) -> dict:
        """Ask for JSON explicitly; the SDK adds its User-Agent."""
        return {"Accept": "application/json"}

    def decoded(self, response: requests.Response) -> Any:
        """The response body parsed once (amounts as Decimal); raises ValueError if it is not
        JSON a record can be made of (JSON nested too deeply to parse counts as not JSON).

        Lone UTF-16 surrogates (``\\ud83d`` alone) are replaced by U+FFFD, with one warning
        per run: no writer can encode them, and the rest of the text is worth keeping.
        """
        if _DECODED not in response.__dict__:
            try:
                payload = response.json(parse_float=Decimal)
                if _SURROGATE_ESCAPE.search(response.content):
                    payload = self._scrubbed(payload, response)
            except RecursionError:
                raise ValueError("JSON nested too deeply") from None
            response.__dict__[_DECODED] = payload
        return response.__dict__[_DECODED]

    def _scrubbed(self, payload: Any, response: requests.Response) -> Any:
        scrubbed = without_surrogates(payload)
        if scrubbed != payload and not self._warned_surrogates:
            self._warned_surrogates = True
            self.logger.warning(
                "The response to %s held text with lone UTF-16 surrogates, replaced by U+FFFD "
                "(warned once per run)",
                describe_request(response),
            )
        return scrubbed

    def validate_response(self, response: requests.Response) -> None:
        """Stop at once on refused credentials and on other refusals, refuse redirects, let 404
        through, retry malformed bodies."""
        status = response.status_code
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            msg = credentials_refused(
                self.provider, f"with HTTP {status} on {describe_request(response)}"
            )
            raise AuthenticationFailedError(
                msg, status=status, answer=self.response_error_message(response)
            )
        if status in REFUSED_STATUSES:
            raise RequestRefusedError(self.response_error_message(response), status=status)
        if status == HTTPStatus.NOT_FOUND:
            return
        super().validate_response(response)
        try:
            payload = self.decoded(response)
        except ValueError:
            msg = f"malformed JSON in the response to {describe_request(response)}"
            raise RetriableAPIError(msg, response) from None
        if missing := self.missing_fields(payload, response):
            msg = f"incomplete response to {describe_request(response)}: no {', '.join(missing)}"
            raise RetriableAPIError(msg, response)

    def missing_fields(self, payload: Any, response: requests.Response) -> list[str]:
        """Fields a well-formed body must have; a body without them is retried."""
        return []

    def response_error_message(self, response: requests.Response) -> str:
        """Status, method and path, plus a short excerpt of the body: never headers or query,
        and never a credential or signature, even if the server echoes one back."""
        excerpt = response.text[:300].replace("\n", " ") if response.content else ""
        for secret in self._secrets_of(response.request):
            excerpt = excerpt.replace(secret, MASK)
        return f"HTTP {response.status_code} {response.reason} on {describe_request(response)}" + (
            f": {excerpt}" if excerpt else ""
        )

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Wait what ``Retry-After`` asks for, at most ``MAX_RETRY_WAIT`` (saying so when that
        cuts it short), else 1, 2, 4 … seconds (at most a minute)."""
        exception = yield 0.0
        for attempt in itertools.count():
            wait = retry_after_seconds(exception)
            if wait is None:
                wait = min(60.0, 2.0**attempt)
            elif wait > MAX_RETRY_WAIT:
                self.logger.warning(
                    "%s asked to wait %g s (Retry-After): waiting %g s, the cap",
                    describe_request(exception.response),
                    wait,
                    MAX_RETRY_WAIT,
                )
                wait = MAX_RETRY_WAIT
            exception = yield wait

    def backoff_max_tries(self) -> int:
        """Eight tries span about two minutes of waiting: enough for a throttling burst."""
        return 8

    @property
    def timeout(self) -> float:
        """The ``request_timeout`` setting: a silent server costs a minute, not the SDK's 5."""
        return float(self.config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT)

    def backoff_handler(self, details: Details) -> None:
        """One line per retry, naming the request and why, never its headers or query.

        A 429 or 503 pauses every request instead, and that pause is logged once for all the
        workers it stops.
        """
        if self.request_gate.stopped:
            return  # the run is ending: no retry will follow
        request, error = describe_prepared(details["args"][0]), details.get("exception")
        response = getattr(error, "response", None)
        is_pause = response is not None and response.status_code in PAUSE_STATUSES
        if is_pause:
            self.request_gate.pause(details["wait"], f"{failure_reason(error)} on {request}")
        self.logger.log(
            logging.DEBUG if is_pause else logging.WARNING,
            "Retrying %s in %.1f s (try %d of %d failed): %s",
            request,
            details.get("wait", 0.0),
            details["tries"],
            self.backoff_max_tries(),
            failure_reason(error),
        )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The SDK's retries, each try waiting its turn at the gate; when they run out, one
        clear error naming the request.

        Built here rather than by the SDK, which also hands backoff its logger: backoff would
        then log every retry a second time, and the give-up, with the URL's query.
        """

        def one_try(prepared: requests.PreparedRequest, context: Context | None) -> Any:
            self.request_gate.wait_turn()
            return func(prepared, context)

        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            (RetriableAPIError, *TRANSIENT_ERRORS),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(one_try)

        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            try:
                return retrying(prepared, context)
            except (RetriableAPIError, *TRANSIENT_ERRORS) as error:
                msg = (
                    f"{describe_prepared(prepared)} still failing after "
                    f"{self.backoff_max_tries()} tries: {failure_reason(error)}"
                )
                raise RetriesExhaustedError(msg) from error

        return send

    def _secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The credential values and the authentication headers sent with a request, longest
        first, so that no part of a longer one survives a shorter one's masking. Values of any
        length are masked: a short credential is still a credential."""
        secrets = [str(self.config[name]) for name in self.provider.credential_settings]
        for header in AUTH_HEADERS:
            if value := request.headers.get(header):
                secrets += [value, *SIGNATURE_VALUE.findall(value)]
        return sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    @cached_property
    def _send(self) -> Any:
        return self.request_decorator(self._request)

    @cached_property
    def _get_template(self) -> requests.PreparedRequest:
        return self.build_prepared_request(
            method="GET", url=self.url_base, headers=self.http_headers
        )

    def request_json(self, url: str) -> Any | None:
        """GET one resource with the stream's retries; None when the API answers 404.

        Every such GET is the same request but for its URL (which ``detail_url`` builds already
        encoded), so it is prepared once and copied: preparing each one anew cost 15% of a
        detail request's CPU. The signature is still made per request, as it is sent.
        """
        prepared = self._get_template.copy()
        prepared.url = url
        response = self._send(prepared, self.context)
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        return self.decoded(response)


class InvoicesStream(InvoicingStream, abc.ABC):
    """The invoice list, read whole each run; details only where something may have changed.

    Each detail is fetched once and feeds this stream and every child stream.
    """

    name = "invoices"
    is_sorted = False
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    """Conformed by ``conform_to_schema`` on the worker threads, not again on the main one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        activity = self.last_activity(invoice)
        return activity is not None and activity < self.start_date

    # What each provider describes about its API.

    @abc.abstractmethod
    def page_items(self, payload: Any) -> list[dict]:
        """The invoice summaries of one list page."""

    @abc.abstractmethod
    def page_total(self, payload: Any) -> int | None:
        """How many invoices the whole list holds, when the API says."""

    @abc.abstractmethod
    def page_server_time(self, payload: Any) -> str | None:
        """The API's clock when it answered, when the API says."""

    @abc.abstractmethod
    def summary_id(self, summary: Mapping) -> str:
        """The id that addresses an invoice's detail."""

    @abc.abstractmethod
    def summary_created(self, summary: Mapping) -> datetime | None:
        """When a listed invoice was created, when the list says."""

    @abc.abstractmethod
    def invoice_status(self, invoice: Mapping) -> str:
        """The status of a summary or a detail."""

    @abc.abstractmethod
    def is_open(self, status: str) -> bool:
        """Whether an invoice in this status can still change."""

    @abc.abstractmethod
    def detail_url(self, invoice_id: str) -> str:
        """The URL of one invoice's detail."""

    @abc.abstractmethod
    def last_activity(self, invoice: Mapping) -> datetime | None:
        """The time of the latest thing that happened to a detailed invoice."""

    @abc.abstractmethod
    def is_end_of_list(self, payload: Any) -> bool:
        """Whether a 404 body is the API's own "no more invoices" answer (not a missing route)."""

    # The fetch path.

    def get_new_paginator(self) -> ListingPaginator:
        """Offset pages steered by this pass's listing."""
        return ListingPaginator(self._listing)

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """Summaries of one list page not already read in this pass."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            try:
                payload = self.decoded(response)
            except ValueError:
                payload = None
            self._listing.end(is_end_answer=self.is_end_of_list(payload))
            return
        payload = self.decoded(response)
        items = self.page_items(payload)
        ids = [self.summary_id(item) for item in items]
        self._plan.note_page(self.page_server_time(payload), ids)
        fresh = self._listing.accept(ids, self.page_total(payload))
        yield from (item for item, is_new in zip(items, fresh, strict=True) if is_new)

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

    def _previous_run(self, scope: BookmarkScope) -> PreviousRun | None:
        """The previous run's bookmark if it fits this run; else None, with the reason logged."""
        try:
            previous = PreviousRun.from_state(
                self.stream_state, scope, ", ".join(self.provider.account_settings)
            )
        except BookmarkMismatchError as mismatch:
            self.logger.warning(
                "The invoices bookmark in the state does not fit this run (%s): reading every "
                "invoice's detail",
                mismatch,
            )
            return None
        if previous is None:
            self.logger.info("No bookmark yet: reading every invoice's detail")
        return previous

    def get_records(self, context: Context | None) -> Iterator[dict]:
        """Invoices new or changed since the last run; commits the bookmark after a full pass.

        List pages are read in order on this thread; details are fetched by ``max_workers``
        workers and emitted as they arrive. The bookmark is written only after the last one.
        """
        scope = self.bookmark_scope(self.selected_family())
        self._listing = OffsetListing(self.page_size)
        self._plan = InvoiceSyncPlan(self._previous_run(scope), scope)
        self._progress = Progress(self.logger)
        self._children = [
            child
            for child in self.child_streams
            if child.selected and isinstance(child, InvoiceChildStream)
        ]
        for child in self._children:
            child._write_schema_message()
        tally = DetailTally(self.provider)
        summaries = self.request_records(context)
        details = fetch_all(
            self._ids_to_detail(summaries),
            self._fetch_detail,
            workers=max_workers(self.config),
            on_abort=self.request_gate.stop,
        )
        # Closed here when the run stops early: that stops the workers, and the list reader's
        # metrics are logged now, not by the garbage collector while the interpreter exits
        # (when a worker frozen mid-log would hold the log handler's lock).
        with closing(summaries), closing(details):
            for invoice_id, outcome in details:
                self._progress.advance(self._listing.total, fetched=True)
                if not isinstance(outcome, dict):
                    tally.not_emitted(invoice_id, outcome, self.logger)
                    self._plan.note_status(invoice_id, is_open=True)  # read it again next run
                    continue
                tally.served += 1
                is_open = self.is_open(self.invoice_status(outcome))
                self._plan.note_status(invoice_id, is_open=is_open)
                if self._before_start_date(outcome):
                    continue
                tally.emitted += 1
                yield outcome
        tally.check_not_all_refused()
        self.stream_state.update(self._plan.next_bookmark(self.replication_key))
        self.logger.info(
            "Invoice list read: %s; %s",
            self._progress.summary(self._listing.total),
            tally.summary(self._plan.skipped_unchanged),
        )
        if not self._progress.done:
            self.logger.warning("%s listed no invoices for this account", self.provider.label)
        for child in self._children:
            with child.get_record_counter() as counter:
                counter.increment(child.records_written)

    def _ids_to_detail(self, summaries: Iterable[dict]) -> Iterator[str]:
        for summary in summaries:
            invoice_id = self.summary_id(summary)
            is_open = self.is_open(self.invoice_status(summary))
            if self._plan.needs_detail(
                invoice_id, is_open=is_open, created=self.summary_created(summary)
            ):
                yield invoice_id
            else:
                self._progress.advance(self._listing.total, fetched=False)

    def _fetch_detail(self, invoice_id: str) -> dict | DetailProblem | None:
        """One invoice's detail conformed to the schema (on a worker thread); None on 404, a
        DetailProblem when the API refuses it or it cannot be loaded as its schema says."""
        try:
            invoice = self.request_json(self.detail_url(invoice_id))
        except RequestRefusedError as refusal:
            if refusal.status == HTTPStatus.UNAUTHORIZED:
                raise  # the credentials no longer work: no later detail will either
            forbidden = refusal.status == HTTPStatus.FORBIDDEN
            return DetailProblem(refusal.answer, forbidden=forbidden)
        if invoice is None:
            return None
        unmapped: list[str] = []
        try:
            invoice = conform_to_schema(invoice, self.schema, unmapped)
        except UnloadableError as error:
            return DetailProblem(f"{error}, as its schema requires")
        if unmapped:
            self._warn_unmapped(tuple(unmapped))
        return invoice

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
        """Children read their records from the detail itself: no request of their own."""
        return {"invoice": record}

    def _sync_children(self, child_context: Context | None) -> None:
        """Write the selected children's records of one invoice, right after the invoice."""
        invoice = child_context["invoice"] if child_context else {}
        for child in self._children:
            child.write_records_of(invoice)

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """No per-record bookmark: the API has no per-invoice change time to advance on.

        The bookmark (server clock, newest ids, open invoices) is committed by get_records once
        the list has been read whole; keeping the state still until then also spares one STATE
        message per invoice.
        """


class InvoiceChildStream(Stream, abc.ABC):
    """Records that hang off one invoice detail, written by the invoices stream with each invoice.

    They are parts of a record already fetched, so they are not synced per invoice the way the
    SDK syncs a child that requests its own data: that would cost a SCHEMA message, six log lines
    and state bookkeeping for every invoice.
    """

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    """The records are parts of an invoice already conformed to the invoices schema, whose
    nested definitions the child schemas mirror: conforming them again would change nothing."""

    records_written = 0

    def write_records_of(self, invoice: Mapping) -> None:
        """Write this stream's records within one invoice."""
        for record in self.records_of(invoice):
            self._write_record_message(record)
            self.records_written += 1

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The records of the invoice in ``context``, for callers that sync a child directly."""
        yield from self.records_of(context["invoice"] if context else {})

    @abc.abstractmethod
    def records_of(self, invoice: Mapping) -> Iterable[dict]:
        """This stream's records within one invoice detail."""
