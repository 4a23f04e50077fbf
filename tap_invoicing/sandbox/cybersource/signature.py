"""HTTP Signature verification, recomputed with the tap's own signing helpers."""

from __future__ import annotations

import hmac
import random
import re
import uuid
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from tap_invoicing.providers.cybersource.auth import (
    BODY_METHODS,
    body_digest,
    decode_secret,
    sign,
    signed_header_names,
    signing_string,
)
from tap_invoicing.sandbox.server import ApiRequest

MAX_CLOCK_SKEW = timedelta(minutes=15)
SIGNATURE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    """The shared-secret key the sandbox accepts; names match the tap's settings."""

    merchant_id: str
    merchant_key_id: str
    merchant_secret_key: str

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        """Deterministic per seed, so a CI config written once keeps working."""
        rng = random.Random(f"{seed}:credentials")
        key_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return cls(f"sandbox_merchant_{seed}", key_id, b64encode(rng.randbytes(32)).decode())


class SignatureVerifier:
    """Accepts exactly what the vendor SDK sends, signed with the sandbox's key."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._key = decode_secret(credentials.merchant_secret_key)

    def verify(self, request: ApiRequest, now: datetime) -> bool:
        """Whether the request is signed by this merchant's key, for this target, recently."""
        headers = request.headers
        merchant_id = headers.get("v-c-merchant-id")
        date = headers.get("Date")
        host = headers.get("Host")
        signature = headers.get("Signature")
        if merchant_id is None or date is None or host is None or signature is None:
            return False
        params = dict(SIGNATURE_PARAM.findall(signature))
        if (
            merchant_id != self._credentials.merchant_id
            or params.get("keyid") != self._credentials.merchant_key_id
            or params.get("algorithm") != "HmacSHA256"
            or params.get("headers") != signed_header_names(request.method)
            or not self._is_fresh(date, now)
        ):
            return False
        digest = None
        if request.method.upper() in BODY_METHODS:
            digest = headers.get("Digest")
            if digest != body_digest(request.body):
                return False
        text = signing_string(
            host=host,
            date=date,
            method=request.method,
            request_target=request.target,
            merchant_id=merchant_id,
            digest=digest,
        )
        expected = sign(self._key, text).encode()
        return hmac.compare_digest(expected, params.get("signature", "").encode())

    @staticmethod
    def _is_fresh(date: str, now: datetime) -> bool:
        """An RFC 7231 date within the allowed clock skew (stops replaying old requests)."""
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return False
        if sent.tzinfo is None:
            return False
        return abs(now - sent) <= MAX_CLOCK_SKEW
