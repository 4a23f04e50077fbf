"""PayPal's OAuth 2.0 client-credentials flow (api-notes section 1): the REST app's client id
and secret, and the bearer tokens issued for them, each valid for its lifetime."""

from __future__ import annotations

import base64
import binascii
import hmac
import random
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

from tap_invoicing.sandbox.options import EmulatorOption

CREDENTIAL_LENGTH = 80
CREDENTIAL_ALPHABET = string.ascii_letters + string.digits + "-_"
"""Client ids and secrets look like 80 base64url characters, as PayPal's do."""
TOKEN_PREFIX = "A21AA"  # noqa: S105  (the look of a token, not one)
TOKEN_TAIL = 92
"""Access tokens look like PayPal's: ``A21AA`` and some 90 more base64url characters."""
ACCESS_TOKEN = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{20,}}")
"""An access token of this sandbox, found by its look (each one is random)."""


def _positive(value: float) -> bool:
    return value > 0


TOKEN_LIFETIME = EmulatorOption(
    "token_lifetime",
    "how long an access token works (default 32400)",
    type=float,
    metavar="SECONDS",
    valid=_positive,
    requirement="must be > 0",
)


@dataclass(frozen=True)
class Credentials:
    """The app credentials the sandbox accepts; the names match the tap's settings. Both are
    left out of the repr, so a failing test never prints them."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        """Deterministic per seed, so a CI config written once keeps working."""
        rng = random.Random(f"{seed}:paypal-client")

        def padded(prefix: str) -> str:
            tail = CREDENTIAL_LENGTH - len(prefix)
            return prefix + "".join(rng.choice(CREDENTIAL_ALPHABET) for _ in range(tail))

        return cls(padded(f"AYpp{seed}"), padded(f"EL{seed}"))

    def accepts(self, headers: Message) -> bool:
        """Whether HTTP Basic carries ``client_id:client_secret`` (compared in constant time)."""
        scheme, _, encoded = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        client_id, colon, client_secret = decoded.partition(b":")
        id_matches = hmac.compare_digest(client_id, self.client_id.encode())
        secret_matches = hmac.compare_digest(client_secret, self.client_secret.encode())
        return bool(colon) and id_matches and secret_matches


def bearer_token(headers: Message) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if there is one."""
    scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class TokenIssuer:
    """Issues random access tokens, each valid from issue until issue + ``lifetime`` seconds
    (on the monotonic clock); ``revoke_all`` ends every one of them at once."""

    def __init__(self, lifetime: float) -> None:
        if lifetime <= 0:
            raise ValueError("token_lifetime must be > 0 seconds")
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._every: list[str] = []

    def issue(self) -> str:
        """A new token, valid from now."""
        token = TOKEN_PREFIX + "".join(
            secrets.choice(CREDENTIAL_ALPHABET) for _ in range(TOKEN_TAIL)
        )
        with self._lock:
            self._expiry[token] = time.monotonic() + self.lifetime
            self._every.append(token)
        return token

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` was issued here, is not revoked and has not expired."""
        if token is None:
            return False
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def revoke_all(self) -> None:
        """Every token issued so far stops working."""
        with self._lock:
            self._expiry.clear()

    def every_token(self) -> list[str]:
        """Every token issued so far, revoked and expired ones included (tests look for them in
        the tap's output)."""
        with self._lock:
            return list(self._every)
