"""CyberSource HTTP Signature authentication (shared secret key, HmacSHA256).

Follows what the vendor's own SDK (cybersource-rest-client-python) sends: the signed headers are
``host date request-target [digest] v-c-merchant-id``, the request target carries the query string
exactly as sent, and the HMAC key is the base64-decoded shared secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from email.utils import formatdate
from urllib.parse import urlsplit

import requests
from typing_extensions import override

from tap_invoicing.core.provider import Authenticator

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SIGNATURE_VALUE = re.compile(r'signature="([^"]+)"')


def decode_secret(secret_b64: str) -> bytes:
    """Return the raw HMAC key; raises ValueError (without echoing the secret) if not base64."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None
    if not key:
        raise ValueError("is empty")
    return key


def body_digest(body: bytes) -> str:
    """The ``Digest`` header value for a request body."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def signed_header_names(method: str) -> str:
    """The ``headers=`` list of the Signature header for a request method."""
    if method.upper() in BODY_METHODS:
        return "host date request-target digest v-c-merchant-id"
    return "host date request-target v-c-merchant-id"


def signing_string(
    *,
    host: str,
    date: str,
    method: str,
    request_target: str,
    merchant_id: str,
    digest: str | None = None,
) -> str:
    """The text that is HMAC-signed: ``name: value`` lines, no trailing newline."""
    lines = [f"host: {host}", f"date: {date}", f"request-target: {method.lower()} {request_target}"]
    if digest is not None:
        lines.append(f"digest: {digest}")
    lines.append(f"v-c-merchant-id: {merchant_id}")
    return "\n".join(lines)


def sign(key: bytes, text: str) -> str:
    """Base64 HMAC-SHA256 of ``text`` under ``key``."""
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def signature_header(*, key_id: str, method: str, signature: str) -> str:
    """The ``Signature`` header value, formatted exactly as the vendor SDK writes it."""
    return (
        f'keyid="{key_id}", algorithm="HmacSHA256", '
        f'headers="{signed_header_names(method)}", signature="{signature}"'
    )


class HttpSignatureAuth(Authenticator):
    """Signs each prepared request at send time, so every retry carries a fresh ``Date``."""

    def __init__(self, *, merchant_id: str, key_id: str, secret_b64: str) -> None:
        self.merchant_id = merchant_id
        self.key_id = key_id
        self._key = decode_secret(secret_b64)

    def __repr__(self) -> str:
        return "HttpSignatureAuth(<credentials hidden>)"

    def headers_for(
        self, *, method: str, url: str, body: bytes | None, date: str
    ) -> dict[str, str]:
        """The authentication headers of one request: host, date, merchant id, digest, signature."""
        parts = urlsplit(url)
        method = method.upper()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc, "Date": date, "v-c-merchant-id": self.merchant_id}
        digest = None
        if method in BODY_METHODS:
            digest = headers["Digest"] = body_digest(body or b"")
        text = signing_string(
            host=parts.netloc,
            date=date,
            method=method,
            request_target=target,
            merchant_id=self.merchant_id,
            digest=digest,
        )
        headers["Signature"] = signature_header(
            key_id=self.key_id, method=method, signature=sign(self._key, text)
        )
        return headers

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign the request as it will be sent, dated now."""
        body = request.body.encode() if isinstance(request.body, str) else request.body
        request.headers.update(
            self.headers_for(
                method=request.method or "GET",
                url=request.url or "",
                body=body,
                date=formatdate(usegmt=True),
            )
        )
        return request

    @override
    def secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The Signature header and the signature in it: an error body may echo either."""
        header = request.headers.get("Signature")
        return [header, *SIGNATURE_VALUE.findall(header)] if header else []
