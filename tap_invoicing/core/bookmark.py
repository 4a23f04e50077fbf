"""What every bookmark carries, whatever the plan that wrote it: its format, and what it was made
for (provider, API root, account, start date, streams). A bookmark serves only a run like the
one it was made for; any other run makes a full pass instead, so nothing is skipped that the
other run never saw."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tap_invoicing.core.dates import parse_time
from tap_invoicing.errors import StateError

BOOKMARK_FORMAT = 2
"""Bumped whenever the bookmark's meaning changes; unknown formats are refused, not guessed at."""

UNSCOPED_FORMAT = 1
"""The format before bookmarks recorded what they were made for: readable, but not trusted."""


class BookmarkMismatchError(Exception):
    """The bookmark was made for another run (account, host, start date, streams): a full pass
    reads everything instead, so nothing the other run never saw is skipped."""


@dataclass(frozen=True)
class BookmarkScope:
    """What a bookmark is made for: it serves a later run only if that run reads the same API
    root and account, from no later a start date, for no more streams."""

    provider: str
    api_root: str
    account: str
    """A digest of the settings that identify the account: the state holds no credential."""
    start_date: datetime | None
    streams: tuple[str, ...]

    @staticmethod
    def account_digest(values: list[str]) -> str:
        """A short, one-way name for an account, stable across runs."""
        joined = "\x1f".join(values).encode()
        return hashlib.sha256(b"tap-invoicing account\x1f" + joined).hexdigest()[:16]

    def to_state(self) -> dict:
        """The JSON form kept in the bookmark."""
        return {
            "provider": self.provider,
            "api_root": self.api_root,
            "account": self.account,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "streams": list(self.streams),
        }

    def mismatch(self, made_for: object, account_settings: str) -> str | None:
        """Why a bookmark made for ``made_for`` cannot serve this run, or None if it can."""
        if not isinstance(made_for, Mapping):
            return "it does not say what it was made for"
        made_from = parse_time(made_for.get("start_date"))
        starts_earlier = made_from is not None and (
            self.start_date is None or self.start_date < made_from
        )
        since = self.start_date.isoformat() if self.start_date else "no start_date"
        streams = made_for.get("streams")
        unread = sorted(set(self.streams) - set(streams if isinstance(streams, list) else []))
        reasons = {
            f"it was made for provider {made_for.get('provider')}, not {self.provider}": (
                made_for.get("provider") != self.provider
            ),
            f"it was made for {made_for.get('api_root')}, not {self.api_root}": (
                made_for.get("api_root") != self.api_root
            ),
            f"it was made for another account ({account_settings} differ)": (
                made_for.get("account") != self.account
            ),
            "its start_date is unreadable": (
                made_for.get("start_date") is not None and made_from is None
            ),
            (
                f"it was made with start_date {made_from and made_from.isoformat()} and this run "
                f"reads from {since}: the invoices in between were never read"
            ): starts_earlier,
            f"streams {', '.join(unread)} were not selected when it was made": bool(unread),
        }
        return next((reason for reason, applies in reasons.items() if applies), None)


def has_bookmark(bookmark: Mapping) -> bool:
    """Whether a stream's state holds a bookmark at all (a first run has none)."""
    return "replication_key_value" in bookmark or "format" in bookmark


def check_format(bookmark: Mapping) -> None:
    """Refuse a bookmark this version cannot trust or read.

    Raises BookmarkMismatchError for a bookmark of the format before bookmarks said what they
    were made for (a full pass follows), StateError for any other format.
    """
    if bookmark.get("format") == UNSCOPED_FORMAT:
        msg = "it was written by an earlier tap-invoicing that did not record its account"
        raise BookmarkMismatchError(msg)
    if bookmark.get("format") != BOOKMARK_FORMAT:
        msg = (
            f"the invoices bookmark in the state was written by another version of "
            f"tap-invoicing (format {bookmark.get('format', 'none')}; this version reads "
            f"format {BOOKMARK_FORMAT}): run once without --state for a full pass"
        )
        raise StateError(msg)
