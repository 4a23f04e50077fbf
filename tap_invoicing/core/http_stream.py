"""HTTP behaviour every provider's streams share: the run's session and rate gate, retries,
refusals and their one-line errors, redaction of credentials, and exact JSON decoding."""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Generator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream

from tap_invoicing.core.conform import without_surrogates
from tap_invoicing.core.http import ApiSession, describe_prepared
from tap_invoicing.core.throttle import RequestGate
from tap_invoicing.errors import (
    AuthenticationFailedError,
    RequestRefusedError,
    RetriesExhaustedError,
)
from tap_invoicing.settings import (
    api_root,
    concurrency_limit,
    max_requests_per_second,
    request_timeout,
)

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_invoicing.core.provider import Provider

_DECODED = "_tap_invoicing_json"
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
MASK = "[redacted]"
"""What a credential in an error excerpt becomes."""
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""How a lone UTF-16 surrogate arrives in JSON: only a body with one needs scrubbing."""
REFUSED_STATUSES = frozenset(
    status
    for status in range(HTTPStatus.BAD_REQUEST, HTTPStatus.INTERNAL_SERVER_ERROR)
    if status
    not in {HTTPStatus.NOT_FOUND, HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS}
)
"""Answers that refuse one request for good: no retry of it can succeed."""


def http_date(value: str) -> datetime | None:
    """An HTTP date (``Wed, 02 Dec 2026 00:28:57 GMT``) as an aware datetime, if it is one."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: the time is UTC, with no claim of a local zone
        when = when.replace(tzinfo=UTC)
    return when


def retry_after_seconds(exception: object) -> float | None:
    """The wait a 429/503 asked for in ``Retry-After`` (seconds or an HTTP date), if any."""
    response = getattr(exception, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = http_date(value)
    return None if when is None else max(0.0, (when - datetime.now(UTC)).total_seconds())


def served_at(response: requests.Response) -> datetime | None:
    """The API's clock when it answered (its ``Date`` header), if it said."""
    return http_date(response.headers.get("Date", ""))


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


class InvoicingStream(RESTStream[int]):
    """HTTP behaviour shared by every provider: base URL, authentication, error reporting."""

    _warned_surrogates = False

    def __init__(self, tap: Tap, provider: Provider, **kwargs: Any) -> None:
        self.provider = provider
        """The API this stream reads."""
        super().__init__(tap, **kwargs)

    @property
    def url_base(self) -> str:
        """The configured environment's host, or the ``base_url`` override."""
        return api_root(self.config, self.provider)

    @cached_property
    def authenticator(self) -> requests.auth.AuthBase:
        """The provider's authenticator, built once per stream; it may send requests of its own
        through this stream (see ``send``)."""
        return self.provider.make_auth(self.config, self)

    @cached_property
    def request_gate(self) -> RequestGate:
        """The rate cap, concurrency limit and shared pauses of the run (the invoices stream
        makes every request), paced the provider's margin under the cap."""
        rate = max_requests_per_second(self.config, self.provider)
        paced = rate / (1 + self.provider.pacing_margin) if rate else None
        return RequestGate(paced, self.logger, concurrency_limit(self.config))

    @cached_property
    def requests_session(self) -> requests.Session:
        """The run's session (see tap_invoicing.core.http), its connection pool sized for the
        most requests the run may have in flight, plus a token request sent from within one."""
        return ApiSession(pool_size=self.request_gate.limit.ceiling + 1, base_url=self.url_base)

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
        if self.tolerates(response):
            return
        if status in REFUSED_STATUSES:
            raise RequestRefusedError(self.response_error_message(response), status=status)
        if status == HTTPStatus.NOT_FOUND:
            return
        super().validate_response(response)
        if getattr(self._exchange, "active", False):
            return
        try:
            payload = self.decoded(response)
        except ValueError:
            msg = f"malformed JSON in the response to {describe_request(response)}"
            raise RetriableAPIError(msg, response) from None
        if missing := self.missing_fields(payload, response):
            msg = f"incomplete response to {describe_request(response)}: no {', '.join(missing)}"
            raise RetriableAPIError(msg, response)

    def tolerates(self, response: requests.Response) -> bool:
        """Whether a refusal is for the caller to handle (see ``parse_response``), not an error."""
        return False

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
        return request_timeout(self.config)

    def backoff_handler(self, details: Details) -> None:
        """One line per retry, naming the request and why, never its headers or query.

        A 429 or 503 cuts the concurrency or pauses every request instead (see
        ``RequestGate.refused``), logged once for all the workers it stops.
        """
        if self.request_gate.stopped:
            return  # the run is ending: no retry will follow
        request, error = describe_prepared(details["args"][0]), details.get("exception")
        response = getattr(error, "response", None)
        is_pause = response is not None and response.status_code in PAUSE_STATUSES
        if is_pause:
            self.request_gate.refused(details["wait"], f"{self.reason(error)} on {request}")
        self.logger.log(
            logging.DEBUG if is_pause else logging.WARNING,
            "Retrying %s in %.1f s (try %d of %d failed): %s",
            request,
            details.get("wait", 0.0),
            details["tries"],
            self.backoff_max_tries(),
            self.reason(error),
        )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The SDK's retries, each try holding its place at the gate; when they run out, one
        clear error naming the request. A 401 is tried once more when the authenticator can
        renew what it sent (a bearer token); a second 401 stops the run.

        Built here rather than by the SDK, which also hands backoff its logger: backoff would
        then log every retry a second time, and the give-up, with the URL's query.
        """

        def one_try(prepared: requests.PreparedRequest, context: Context | None) -> Any:
            with self.request_gate.turn() as turn:
                try:
                    return func(prepared, context)
                except RetriableAPIError as error:
                    status = getattr(error.response, "status_code", None)
                    turn.shed = status in PAUSE_STATUSES
                    raise

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
                return exhausting(prepared, context)
            except AuthenticationFailedError as refusal:
                renewed = getattr(self.authenticator, "renewed_after_refusal", None)
                if refusal.status != HTTPStatus.UNAUTHORIZED or not (renewed and renewed(prepared)):
                    raise
            return exhausting(prepared, context)  # once more, with a fresh token

        def exhausting(
            prepared: requests.PreparedRequest, context: Context | None
        ) -> requests.Response:
            try:
                return retrying(prepared, context)
            except (RetriableAPIError, *TRANSIENT_ERRORS) as error:
                msg = (
                    f"{describe_prepared(prepared)} still failing after "
                    f"{self.backoff_max_tries()} tries: {self.reason(error)}"
                )
                raise RetriesExhaustedError(msg) from error

        return send

    def _secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The credential values and what the authenticator put into a request (tokens,
        signatures), longest first, so that no part of a longer one survives a shorter one's
        masking. Values of any length are masked: a short credential is still a credential."""
        secrets = [str(self.config[name]) for name in self.provider.credential_settings]
        secrets_of = getattr(self.authenticator, "secrets_of", None)
        if secrets_of is not None:
            secrets += secrets_of(request)
        return sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    @cached_property
    def _send(self) -> Any:
        return self.request_decorator(self._request)

    @cached_property
    def _get_template(self) -> requests.PreparedRequest:
        return self.build_prepared_request(
            method="GET", url=self.url_base, headers=self.http_headers
        )

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """Send an authenticator's own request (a token request) through the run's gate and
        retries: refusals raise as for any other request; its body is the authenticator's to
        read, so it is not held to a list page's or a detail's fields."""
        self._exchange.active = True
        try:
            return self._send(request, self.context)
        finally:
            self._exchange.active = False

    @cached_property
    def _exchange(self) -> threading.local:
        """Whether this thread is sending an authenticator's own request."""
        return threading.local()

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
