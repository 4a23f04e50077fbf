"""Revolv3's developer static token, sent as a header with every request."""

from __future__ import annotations

import requests
from typing_extensions import override

from tap_invoicing.core.provider import Authenticator

HEADER = "x-revolv3-token"


class StaticTokenAuth(Authenticator):
    """Adds the static token to each request as it is sent."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenAuth(<token hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Carry the token."""
        request.headers[HEADER] = self._token
        return request

    @override
    def secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The token header's value."""
        value = request.headers.get(HEADER)
        return [value] if value else []
