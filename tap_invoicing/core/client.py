"""One run's requests to one invoicing API: a list page, an invoice's detail, and an
authenticator's own request (a token), each with the checks of its own answer.

Every request waits its turn at the run's gate (rate cap, concurrency limit, pauses), is signed
or authorised as it is sent, and is retried on transient failures: 5xx, 408, 429, a network
error, a body that is not the JSON it should be. A refusal that no retry can change ends the
request at once with one line that names the request, never a credential.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import backoff
import requests
from singer_sdk import metrics

from tap_invoicing.core.conform import without_surrogates
from tap_invoicing.core.http import ApiSession, describe_prepared
from tap_invoicing.core.throttle import RequestGate
from tap_invoicing.errors import (
    AuthenticationFailedError,
    RequestRefusedError,
    RetriesExhaustedError,
)

if TYPE_CHECKING:
    from backoff.types import Details

    from tap_invoicing.core.provider import InvoiceApi, ListRequest, Provider
    from tap_invoicing.core.run_settings import RunSettings

Answer = TypeVar("Answer")

MAX_TRIES = 8
"""Eight tries span about two minutes of waiting: enough for a throttling burst."""
MAX_RETRY_WAIT = 300.0
"""Never sleep longer than this on one retry, whatever ``Retry-After`` says."""
TRANSIENT_ERRORS = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""Network failures worth another try."""
PAUSE_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})
"""Answers that mean the API wants fewer requests from us: the concurrency is cut, or every
request waits, not just the refused one."""
CREDENTIAL_REFUSALS = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})
REFUSED_STATUSES = frozenset(
    status
    for status in range(HTTPStatus.BAD_REQUEST, HTTPStatus.INTERNAL_SERVER_ERROR)
    if status
    not in {HTTPStatus.NOT_FOUND, HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS}
)
"""Answers that refuse one request for good: no retry of it can succeed."""
MASK = "[redacted]"
"""What a credential in an error excerpt becomes."""
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""How a lone UTF-16 surrogate arrives in JSON: only a body with one needs scrubbing."""
USER_AGENT = f"tap-invoicing/{version('tap-invoicing')}"


class RetryableAnswerError(Exception):
    """An answer worth another try (a 5xx, 408 or 429, a malformed body)."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(message)
        self.response = response


def http_date(value: str) -> datetime | None:
    """An HTTP date (``Wed, 02 Dec 2026 00:28:57 GMT``) as an aware datetime, if it is one."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: the time is UTC, with no claim of a local zone
        when = when.replace(tzinfo=UTC)
    return when


def retry_after_seconds(error: BaseException | None) -> float | None:
    """The wait a 429/503 asked for in ``Retry-After`` (seconds or an HTTP date), if any."""
    response = getattr(error, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = http_date(value)
    return None if when is None else max(0.0, (when - datetime.now(UTC)).total_seconds())


def failure_reason(error: BaseException | None) -> str:
    """What went wrong, in a few words: the HTTP error, the body's fault, or the network's."""
    if isinstance(error, RetryableAnswerError):
        response = error.response
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            return f"HTTP {response.status_code} {response.reason}"
        return str(error)
    return type(error).__name__


def credentials_refused(provider: Provider, how: str) -> str:
    """The one line for refused credentials: the provider and which settings, never values."""
    settings = ", ".join(provider.credential_settings)
    return f"authentication failed: {provider.label} refused the credentials ({settings}) {how}"


@dataclass(frozen=True)
class ListAnswer:
    """The API's answer to a list page: a page, its end-of-list 404, or a refusal the listing
    handles (a page cap)."""

    status: int
    payload: Any
    """The decoded body (None for a 404 or a refusal whose body is not JSON)."""
    served_at: datetime | None
    """The API's clock when it answered (its ``Date`` header), if it said."""


class ApiClient:
    """The requests of one run to one provider's API, through one pooled session."""

    def __init__(
        self,
        provider: Provider,
        api: InvoiceApi,
        settings: RunSettings,
        logger: logging.Logger,
    ) -> None:
        self.provider = provider
        self.logger = logger
        self._api = api
        self._settings = settings
        rate = settings.max_requests_per_second
        paced = rate / (1 + provider.pacing_margin) if rate else None
        self.gate = RequestGate(paced, logger, settings.concurrency_limit())
        """The rate cap, concurrency limit and shared pauses of every request of the run."""
        self.session = ApiSession(pool_size=self.gate.limit.ceiling + 1, base_url=settings.api_root)
        """Sized for the most requests in flight, plus a token request sent from within one."""
        self.auth = provider.make_auth(settings, self)
        self._detail_template = self._prepare("GET", settings.api_root)
        self._warned_surrogates = False

    # The three kinds of request, each with the checks of its answer.

    def list_page(self, request: ListRequest, tolerates: Callable[[int], bool]) -> ListAnswer:
        """One page of the list. A 404 and the refusals the listing ``tolerates`` are
        answers for it to read; a page must hold what the provider says a page holds."""

        def read(response: requests.Response) -> ListAnswer:
            status = response.status_code
            served_at = http_date(response.headers.get("Date", ""))
            if status == HTTPStatus.NOT_FOUND or (
                status not in CREDENTIAL_REFUSALS and tolerates(status)
            ):
                return ListAnswer(status, self._lenient_json(response), served_at)
            self._check_refusals(response)
            payload = self._json(response)
            self._check_fields(response, self._api.missing_from_page(payload))
            return ListAnswer(status, payload, served_at)

        body = dict(request.body) if request.body is not None else None
        prepared = self._prepare(
            request.method, self._settings.api_root + request.path, request.params, body
        )
        return self._send(prepared, read, endpoint="list")

    def detail(self, invoice_id: str) -> Any | None:
        """One invoice's detail, None when the API answers 404 (the invoice is gone).

        Every detail GET is the same request but for its URL, so it is prepared once and
        copied: preparing each anew cost 15% of a detail request's CPU. It is still signed
        per request, as it is sent.
        """

        def read(response: requests.Response) -> Any | None:
            if response.status_code == HTTPStatus.NOT_FOUND:
                return None
            self._check_refusals(response)
            payload = self._json(response)
            self._check_fields(response, self._api.missing_from_detail(payload))
            return payload

        query = urlencode(self._api.detail_params())
        prepared = self._detail_template.copy()
        prepared.url = f"{self._settings.api_root}{self._api.detail_path(invoice_id)}" + (
            f"?{query}" if query else ""
        )
        return self._send(prepared, read, endpoint="detail")

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """An authenticator's own request (a token): its refusals raise as for any request;
        its body is the authenticator's to read."""

        def read(response: requests.Response) -> requests.Response:
            if response.status_code != HTTPStatus.NOT_FOUND:
                self._check_refusals(response)
            return response

        return self._send(request, read, endpoint="token")

    # Checks of an answer.

    def _check_refusals(self, response: requests.Response) -> None:
        """Stop at once on refused credentials and on other refusals; retry the transient."""
        status = response.status_code
        if status in CREDENTIAL_REFUSALS:
            msg = credentials_refused(
                self.provider, f"with HTTP {status} on {describe_prepared(response.request)}"
            )
            raise AuthenticationFailedError(msg, status=status, answer=self._answer(response))
        if status in REFUSED_STATUSES:
            raise RequestRefusedError(self._answer(response), status=status)
        if status >= HTTPStatus.BAD_REQUEST:
            raise RetryableAnswerError(self._answer(response), response)

    def _json(self, response: requests.Response) -> Any:
        """The body of an answer that must be JSON: retried when it is not."""
        try:
            return self._decoded(response)
        except ValueError:
            msg = f"malformed JSON in the response to {describe_prepared(response.request)}"
            raise RetryableAnswerError(msg, response) from None

    def _lenient_json(self, response: requests.Response) -> Any:
        """The body of an answer that may be JSON (a 404's), else None."""
        try:
            return self._decoded(response)
        except ValueError:
            return None

    def _decoded(self, response: requests.Response) -> Any:
        """The body as JSON, amounts as Decimal; ValueError when it is not JSON (or nested too
        deeply to parse). Lone UTF-16 surrogates (``\\ud83d`` alone) become U+FFFD, with one
        warning per run: no writer can encode them, and the rest of the text is worth keeping.
        """
        try:
            payload = response.json(parse_float=Decimal)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if not _SURROGATE_ESCAPE.search(response.content):
            return payload
        scrubbed = without_surrogates(payload)
        if scrubbed != payload and not self._warned_surrogates:
            self._warned_surrogates = True
            self.logger.warning(
                "The response to %s held text with lone UTF-16 surrogates, replaced by U+FFFD "
                "(warned once per run)",
                describe_prepared(response.request),
            )
        return scrubbed

    @staticmethod
    def _check_fields(response: requests.Response, missing: list[str]) -> None:
        if missing:
            msg = (
                f"incomplete response to {describe_prepared(response.request)}: "
                f"no {', '.join(missing)}"
            )
            raise RetryableAnswerError(msg, response)

    def _answer(self, response: requests.Response) -> str:
        """Status, method and path, plus a short excerpt of the body: never headers or query,
        and never a credential or signature, even if the server echoes one back."""
        excerpt = response.text[:300].replace("\n", " ") if response.content else ""
        for secret in self._secrets_of(response.request):
            excerpt = excerpt.replace(secret, MASK)
        described = describe_prepared(response.request)
        return f"HTTP {response.status_code} {response.reason} on {described}" + (
            f": {excerpt}" if excerpt else ""
        )

    def _secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The credential values and what the authenticator put into a request (tokens,
        signatures), longest first, so that no part of a longer one survives a shorter one's
        masking. Values of any length are masked: a short credential is still a credential."""
        options = self._settings.options
        secrets = [str(options[name]) for name in self.provider.credential_settings]
        secrets += self.auth.secrets_of(request)
        return sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    # Sending, with the gate, retries and one renewal of refused credentials.

    def _prepare(
        self,
        method: str,
        url: str,
        params: Any = None,
        body: dict[str, Any] | None = None,
    ) -> requests.PreparedRequest:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        request = requests.Request(method, url, headers=headers, params=params, json=body)
        return self.session.prepare_request(request)

    def _send(
        self,
        prepared: requests.PreparedRequest,
        read: Callable[[requests.Response], Answer],
        *,
        endpoint: str,
    ) -> Answer:
        """Send with retries; when they run out, one clear error naming the request. A 401 is
        tried once more when the authenticator can renew what it sent (a bearer token)."""
        try:
            return self._send_until_exhausted(prepared, read, endpoint)
        except AuthenticationFailedError as refusal:
            if refusal.status != HTTPStatus.UNAUTHORIZED or not self.auth.renewed_after_refusal(
                prepared
            ):
                raise
        return self._send_until_exhausted(prepared, read, endpoint)

    def _send_until_exhausted(
        self,
        prepared: requests.PreparedRequest,
        read: Callable[[requests.Response], Answer],
        endpoint: str,
    ) -> Answer:
        retrying = backoff.on_exception(
            self.retry_waits,
            (RetryableAnswerError, *TRANSIENT_ERRORS),
            max_tries=MAX_TRIES,
            on_backoff=self._log_retry,
            jitter=self.jitter,
            logger=None,
        )(self._try)
        try:
            return retrying(prepared, read, endpoint)
        except (RetryableAnswerError, *TRANSIENT_ERRORS) as error:
            msg = (
                f"{describe_prepared(prepared)} still failing after {MAX_TRIES} tries: "
                f"{self.reason(error)}"
            )
            raise RetriesExhaustedError(msg) from error

    def _try(
        self,
        prepared: requests.PreparedRequest,
        read: Callable[[requests.Response], Answer],
        endpoint: str,
    ) -> Answer:
        """One try, holding its place at the gate while it is in flight; authorised as it is
        sent (a signature covers the moment it is made)."""
        with self.gate.turn() as turn:
            response = self.session.send(
                self.auth(prepared), timeout=self._settings.request_timeout
            )
            if self._settings.log_request_metrics:
                self._log_request_metric(response, endpoint)
            try:
                return read(response)
            except RetryableAnswerError:
                turn.shed = response.status_code in PAUSE_STATUSES
                raise

    def retry_waits(self) -> Generator[float, BaseException | None, None]:
        """Wait what ``Retry-After`` asks for, at most ``MAX_RETRY_WAIT`` (saying so when that
        cuts it short), else 1, 2, 4 … seconds (at most a minute)."""
        error = yield 0.0
        for attempt in itertools.count():
            wait = retry_after_seconds(error)
            if wait is None:
                wait = min(60.0, 2.0**attempt)
            elif wait > MAX_RETRY_WAIT:
                response = getattr(error, "response", None)
                self.logger.warning(
                    "%s asked to wait %g s (Retry-After): waiting %g s, the cap",
                    describe_prepared(response.request) if response is not None else "A request",
                    wait,
                    MAX_RETRY_WAIT,
                )
                wait = MAX_RETRY_WAIT
            error = yield wait

    def jitter(self, wait: float) -> float:
        """The wait, spread by backoff's random jitter so that workers do not retry together."""
        return backoff.random_jitter(wait)

    def _log_retry(self, details: Details) -> None:
        """One line per retry, naming the request and why, never its headers or query.

        A 429 or 503 cuts the concurrency or pauses every request instead (see
        ``RequestGate.refused``), logged once for all the workers it stops.
        """
        if self.gate.stopped:
            return  # the run is ending: no retry will follow
        request, error = describe_prepared(details["args"][0]), details.get("exception")
        response = getattr(error, "response", None)
        is_pause = response is not None and response.status_code in PAUSE_STATUSES
        if is_pause:
            self.gate.refused(details["wait"], f"{self.reason(error)} on {request}")
        self.logger.log(
            logging.DEBUG if is_pause else logging.WARNING,
            "Retrying %s in %.1f s (try %d of %d failed): %s",
            request,
            details.get("wait", 0.0),
            details["tries"],
            MAX_TRIES,
            self.reason(error),
        )

    def reason(self, error: BaseException | None) -> str:
        """``failure_reason``, with the API's id of the failure when its body has one (the
        provider's ``correlation_id_field``, e.g. PayPal's ``debug_id``, which its support asks
        for)."""
        reason = failure_reason(error)
        field = self.provider.correlation_id_field
        response = getattr(error, "response", None)
        if field is None or response is None:
            return reason
        try:
            body = response.json()
        except ValueError:
            return reason
        value = body.get(field) if isinstance(body, dict) else None
        return f"{reason} ({field} {value})" if isinstance(value, str) and value else reason

    def _log_request_metric(self, response: requests.Response, endpoint: str) -> None:
        """The SDK's ``METRIC http_request_duration`` line, with the kind of request as its
        endpoint (a path would carry an invoice id)."""
        failed = response.status_code >= HTTPStatus.BAD_REQUEST
        point = metrics.Point(
            "timer",
            metric=metrics.Metric.HTTP_REQUEST_DURATION,
            value=response.elapsed.total_seconds(),
            tags={
                metrics.Tag.STREAM: "invoices",
                metrics.Tag.ENDPOINT: endpoint,
                metrics.Tag.HTTP_STATUS_CODE: response.status_code,
                metrics.Tag.STATUS: metrics.Status.FAILED if failed else metrics.Status.SUCCEEDED,
            },
        )
        metrics.log(metrics.get_metrics_logger(), point)

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()
