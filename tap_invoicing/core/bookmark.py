"""What every bookmark carries, whatever the plan that wrote it: its format, and what it was made
for (provider, API root, account, date range, streams). A bookmark serves only a run like the
one it was made for, or one that selects less; any other run makes a full pass instead, so
nothing is skipped that the other run never saw."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tap_invoicing.core.dates import parse_time
from tap_invoicing.errors import StateError

BOOKMARK_FORMAT = 3
"""Bumped whenever the bookmark's meaning changes; unknown formats are refused, not guessed at."""

EARLIER_FORMATS = {
    1: "did not record its account",
    2: "kept no rows of the open invoices (for tombstones)",
}
"""Formats an earlier tap-invoicing wrote, and why they are not used: a full pass follows."""


class BookmarkMismatchError(Exception):
    """The bookmark was made for another run (account, host, date range, streams): a full pass
    reads everything instead, so nothing the other run never saw is skipped."""


@dataclass(frozen=True)
class BookmarkScope:
    """What a bookmark is made for: it serves a later run only if that run reads the same API
    root and account, within its date range (from no earlier a start date, to no later an end
    date), for no more streams. A run with an ``end_date`` reads less than one without: its
    bookmark never serves a run with a later or no end date, which would skip the rest."""

    provider: str
    api_root: str
    account: str
    """A digest of the settings that identify the account: the state holds no credential."""
    start_date: datetime | None
    streams: tuple[str, ...]
    end_date: datetime | None = None
    """Exclusive; None: no end (a bookmark of an earlier version, which had none, is one)."""
    account_settings: str = "the account settings"
    """The names of the settings the account digest is made of, for a mismatch's message."""

    @staticmethod
    def account_digest(values: list[str]) -> str:
        """A short, one-way name for an account, stable across runs."""
        joined = "\x1f".join(values).encode()
        return hashlib.sha256(b"tap-invoicing account\x1f" + joined).hexdigest()[:16]

    def to_state(self) -> dict[str, Any]:
        """The JSON form kept in the bookmark."""
        return {
            "provider": self.provider,
            "api_root": self.api_root,
            "account": self.account,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "streams": list(self.streams),
        }

    def mismatch(self, made_for: object) -> str | None:
        """Why a bookmark made for ``made_for`` cannot serve this run, or None if it can."""
        if not isinstance(made_for, Mapping):
            return "it does not say what it was made for"
        made_from = parse_time(made_for.get("start_date"))
        starts_earlier = made_from is not None and (
            self.start_date is None or self.start_date < made_from
        )
        since = self.start_date.isoformat() if self.start_date else "no start_date"
        made_until = parse_time(made_for.get("end_date"))
        ends_later = made_until is not None and (
            self.end_date is None or self.end_date > made_until
        )
        until = self.end_date.isoformat() if self.end_date else "no end_date"
        streams = made_for.get("streams")
        unread = sorted(set(self.streams) - set(streams if isinstance(streams, list) else []))
        reasons = {
            f"it was made for provider {made_for.get('provider')}, not {self.provider}": (
                made_for.get("provider") != self.provider
            ),
            f"it was made for {made_for.get('api_root')}, not {self.api_root}": (
                made_for.get("api_root") != self.api_root
            ),
            f"it was made for another account ({self.account_settings} differ)": (
                made_for.get("account") != self.account
            ),
            "its start_date is unreadable": (
                made_for.get("start_date") is not None and made_from is None
            ),
            (
                f"it was made with start_date {made_from and made_from.isoformat()} and this run "
                f"reads from {since}: the invoices in between were never read"
            ): starts_earlier,
            "its end_date is unreadable": (
                made_for.get("end_date") is not None and made_until is None
            ),
            (
                f"it was made with end_date {made_until and made_until.isoformat()} and this run "
                f"reads until {until}: the invoices in between were never read"
            ): ends_later,
            f"streams {', '.join(unread)} were not selected when it was made": bool(unread),
        }
        return next((reason for reason, applies in reasons.items() if applies), None)


Parsed = TypeVar("Parsed")


def read_bookmark(
    stream_state: Mapping[str, Any],
    scope: BookmarkScope,
    fields: tuple[str, ...],
    parse: Callable[[Mapping[str, Any]], Parsed],
) -> Parsed | None:
    """What a plan keeps in its bookmark, parsed by ``parse``; None on a first run.

    Every plan's bookmark is read the same way: its format checked, its ``made_for`` and the
    plan's ``fields`` required, their values parsed (StateError when damaged), and only then
    its scope compared with this run's (BookmarkMismatchError: a full pass follows).
    """
    if not has_bookmark(stream_state):
        return None
    check_format(stream_state)
    for key in ("made_for", *fields):
        if key not in stream_state:
            msg = f"the invoices bookmark in the state is damaged: it has no {key}"
            raise StateError(msg)
    parsed = parse(stream_state)
    if reason := scope.mismatch(stream_state["made_for"]):
        raise BookmarkMismatchError(reason)
    return parsed


def new_bookmark(scope: BookmarkScope, replication_key: str, **fields: Any) -> dict[str, Any]:
    """A plan's bookmark: the format, the replication key and ``made_for``, then its fields."""
    return {
        "format": BOOKMARK_FORMAT,
        "replication_key": replication_key,
        "made_for": scope.to_state(),
        **fields,
    }


def encode_blob(data: bytes) -> str:
    """Binary plan data (a filter, digests) as text for the state: base64."""
    return base64.b64encode(data).decode()


def decode_blob(value: object, name: str, length: int) -> bytes:
    """The bytes ``encode_blob`` wrote, which must be ``length`` long; StateError otherwise."""
    try:
        data = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if len(data) != length:
        raise StateError(f"{name} in the state is damaged (wrong length or encoding)")
    return data


def has_bookmark(bookmark: Mapping[str, Any]) -> bool:
    """Whether a stream's state holds a bookmark at all (a first run has none)."""
    return "replication_key_value" in bookmark or "format" in bookmark


def check_format(bookmark: Mapping[str, Any]) -> None:
    """Refuse a bookmark this version cannot trust or read.

    Raises BookmarkMismatchError for a bookmark of an earlier format (a full pass follows),
    StateError for any other format.
    """
    written = bookmark.get("format")
    earlier = EARLIER_FORMATS.get(written) if type(written) is int else None
    if earlier is not None:
        raise BookmarkMismatchError(f"it was written by an earlier tap-invoicing that {earlier}")
    if bookmark.get("format") != BOOKMARK_FORMAT:
        msg = (
            f"the invoices bookmark in the state was written by another version of "
            f"tap-invoicing (format {bookmark.get('format', 'none')}; this version reads "
            f"format {BOOKMARK_FORMAT}): run once without --state for a full pass"
        )
        raise StateError(msg)
