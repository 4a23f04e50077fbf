"""OAuth 2 client credentials: one bearer token for every worker of a run.

The token is fetched through the run's own transport, so its request waits at the rate gate, is
retried like any other, and its failures read like any other (a refused client is the one-line
"authentication failed"). It is reused until shortly before ``expires_in`` runs out, and
renewed once when the API refuses it (expired early, or revoked): workers that were refused
the same token together cause one renewal, not one each.
"""

from __future__ import annotations

import base64
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import requests
from typing_extensions import override

from tap_invoicing.core.provider import Authenticator
from tap_invoicing.errors import TapInvoicingError

if TYPE_CHECKING:
    from tap_invoicing.core.provider import Transport

RENEW_BEFORE = 60.0
"""Seconds before expiry a token is renewed (at most a tenth of its lifetime)."""


class ClientCredentialsAuth(Authenticator):
    """Adds ``Authorization: Bearer <token>`` to each request, fetching the token as needed."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        transport: Transport,
    ) -> None:
        self._token_url = token_url
        pair = f"{client_id}:{client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(pair).decode()
        self._transport = transport
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._issued: tuple[str, ...] = ()
        """Rebound, never changed in place: read without the lock, which a fetch holds while
        its own errors are being worded (with these masked)."""

    def __repr__(self) -> str:
        return "ClientCredentialsAuth(<credentials hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Carry the current token; the token request itself carries the client's Basic auth."""
        if request.url == self._token_url:
            return request
        request.headers["Authorization"] = f"Bearer {self._current()}"
        return request

    @override
    def renewed_after_refusal(self, request: requests.PreparedRequest) -> bool:
        """After a 401: whether a retry with another token is worth it. The token request's own
        401 is final, and so is a request that got no token because of it; a refused token is
        dropped once, however many workers were refused it."""
        sent = request.headers.get("Authorization", "")
        if request.url == self._token_url or not sent.startswith("Bearer "):
            return False
        sent = sent.removeprefix("Bearer ")
        with self._lock:
            if sent == self._token:
                self._token = None
        return True

    @override
    def secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The Basic credentials and every token of the run: an error body may echo any."""
        header = request.headers.get("Authorization")
        sent = [header] if header else []
        return [self._basic, self._basic.removeprefix("Basic "), *self._issued, *sent]

    def _current(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = self._fetch()
                self._renew_at = time.monotonic() + lifetime - min(RENEW_BEFORE, lifetime / 10)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        request = requests.Request(
            "POST",
            self._token_url,
            headers={
                "Authorization": self._basic,
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            data={"grant_type": "client_credentials"},
        ).prepare()
        response = self._transport.send(request)
        if response.status_code != HTTPStatus.OK:
            msg = (
                f"HTTP {response.status_code} for the token request: check base_url and environment"
            )
            raise TapInvoicingError(msg)
        answer = _json_object(response)
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or type(lifetime) not in {int, float}:
            raise TapInvoicingError("the token response holds no access_token and expires_in")
        assert isinstance(lifetime, int | float)  # as the line above made sure
        self._issued = (*self._issued, token)
        return token, float(lifetime)


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TapInvoicingError("the token response is not a JSON object")
    return answer
