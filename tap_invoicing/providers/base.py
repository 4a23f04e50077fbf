"""What every provider declares: hosts, credentials, authentication and streams."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests
    from singer_sdk import Stream


@dataclass(frozen=True)
class Provider:
    """One invoicing API: the tap's settings and streams are driven by this description."""

    name: str
    label: str
    environments: Mapping[str, str]
    default_environment: str
    credential_settings: tuple[str, ...]
    account_settings: tuple[str, ...]
    """The settings that tell one account from another: a bookmark serves only its account."""
    max_page_size: int
    default_page_size: int
    make_auth: Callable[[Mapping], requests.auth.AuthBase]
    check_credentials: Callable[[Mapping], list[str]]
    stream_types: tuple[type[Stream], ...]
    default_max_requests_per_second: float | None = None
    """The request rate the API documents as its limit, if it documents one."""
