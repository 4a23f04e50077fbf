"""Incremental sync for invoice lists that offer no updated-since filter.

The list endpoints return summaries only and carry no per-invoice change time, while every
change that matters (paid, partly paid, cancelled, updated, re-sent, reminded) happens to an
invoice that is still open. So a run re-reads the details of:

- every invoice that is open now (anything about it may have changed);
- every invoice that was open at the end of the previous run (it may have closed since): those
  ids live in a Bloom filter sized for them, so the state grows with the open invoices only,
  never with the invoices ever seen;
- every invoice that is new since the previous run: listed before the previous run's first
  listed invoices or after its last ones (so either list order works: newest first, as the API
  appears to list, or oldest first), or created after the previous run's server clock.

A closed invoice that was already closed last time cannot change and costs no request. The new
state is committed only when the whole list has been read, so an interrupted run repeats work
but never skips an invoice. A bookmark serves only the run it was made for (the same provider,
API root, account, start date and streams); any other run makes a full pass instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tap_invoicing.errors import StateError

BOOKMARK_FORMAT = 2
"""Bumped whenever the bookmark's meaning changes; unknown formats are refused, not guessed at."""

UNSCOPED_FORMAT = 1
"""The format before bookmarks recorded what they were made for: readable, but not trusted."""

EDGE_SIZE = 10
"""How many of the first and of the last listed ids are kept to find the previous list's ends."""

CREATED_MARGIN = timedelta(minutes=5)
"""Slack for ``createdDate``'s whole seconds against the server clock of the previous run."""


def parse_time(value: object) -> datetime | None:
    """Parse an API timestamp (nanosecond fractions allowed) as an aware datetime, UTC unless
    it says otherwise; None when absent or unparseable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))  # fast, and enough for the APIs' timestamps
    except ValueError:
        # Imported here: pendulum costs 25 ms of every start-up, for the rare odd timestamp.
        import pendulum  # noqa: PLC0415

        try:
            parsed = pendulum.parse(str(value))
        except (ValueError, pendulum.parsing.exceptions.ParserError):
            return None
    if not isinstance(parsed, datetime):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class BookmarkMismatchError(Exception):
    """The bookmark was made for another run (account, host, start date, streams): a full pass
    reads everything instead, so nothing the other run never saw is skipped."""


def id_digest(invoice_id: str) -> bytes:
    """The 128-bit digest an open-invoice filter places an id by."""
    return hashlib.blake2b(invoice_id.encode(), digest_size=16).digest()


class OpenInvoiceFilter:
    """A Bloom filter of the invoice ids that were open: never a false negative, so an invoice
    that was open is always re-read; a false positive costs one extra detail request.

    It is sized for the ids it holds, so false positives stay at ``FALSE_POSITIVE_RATE`` for any
    number of open invoices, and it costs about 14.4 bits (2.4 bytes of base64 in the state) per
    open invoice, however many closed invoices the account holds.
    """

    FALSE_POSITIVE_RATE = 0.001
    BITS_PER_ID = -math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2
    HASHES = 10
    """The optimal count for ``BITS_PER_ID`` (ln 2 x bits per id)."""
    MIN_BITS = 1024
    MAX_BITS = 1 << 32

    def __init__(self, bits: int, hashes: int, data: bytes | None = None) -> None:
        self.bits = bits
        self.hashes = hashes
        self._data = bytearray(data) if data is not None else bytearray(bits // 8)

    @classmethod
    def of(cls, digests: Collection[bytes]) -> OpenInvoiceFilter:
        """A filter sized for these id digests, holding them."""
        wanted = math.ceil(len(digests) * cls.BITS_PER_ID)
        bits = max(cls.MIN_BITS, -(-wanted // 64) * 64)
        remembered = cls(bits, cls.HASHES)
        for digest in digests:
            for position in remembered._positions(digest):
                remembered._data[position >> 3] |= 1 << (position & 7)
        return remembered

    def _positions(self, digest: bytes) -> list[int]:
        first = int.from_bytes(digest[:8], "big")
        step = int.from_bytes(digest[8:], "big") | 1
        return [(first + i * step) % self.bits for i in range(self.hashes)]

    def __contains__(self, invoice_id: object) -> bool:
        """Whether the invoice may have been open."""
        return isinstance(invoice_id, str) and all(
            self._data[p >> 3] & (1 << (p & 7)) for p in self._positions(id_digest(invoice_id))
        )

    def to_state(self) -> dict:
        """The JSON form kept in the stream's bookmark."""
        return {
            "bits": self.bits,
            "hashes": self.hashes,
            "data": base64.b64encode(bytes(self._data)).decode(),
        }

    @classmethod
    def from_state(cls, value: object) -> OpenInvoiceFilter:
        """Rebuild the filter from a bookmark, refusing any shape this version did not write."""
        bits = value.get("bits") if isinstance(value, Mapping) else None
        hashes = value.get("hashes") if isinstance(value, Mapping) else None
        if not (
            isinstance(value, Mapping)
            and type(bits) is int
            and type(hashes) is int
            and cls.MIN_BITS <= bits <= cls.MAX_BITS
            and bits % 8 == 0
            and 1 <= hashes <= 32
        ):
            msg = "open_invoices in the state was not written by this version of tap-invoicing"
            raise StateError(msg)
        try:
            data = base64.b64decode(str(value.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if len(data) != bits // 8:
            raise StateError("open_invoices in the state is damaged (wrong length or encoding)")
        return cls(bits, hashes, data)


def _id_list(bookmark: Mapping, key: str) -> frozenset[str]:
    ids = bookmark.get(key)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise StateError(f"{key} in the state must be a list of invoice ids")
    return frozenset(ids)


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


@dataclass(frozen=True)
class PreviousRun:
    """What the last complete run left in the bookmark."""

    server_time: datetime | None
    head_ids: frozenset[str]
    tail_ids: frozenset[str]
    open_invoices: OpenInvoiceFilter

    @classmethod
    def from_state(
        cls, bookmark: Mapping, scope: BookmarkScope, account_settings: str
    ) -> PreviousRun | None:
        """None when there is no bookmark yet.

        Raises BookmarkMismatchError when the bookmark was made for another run, and StateError
        when it is damaged or of a format this version does not know.
        """
        if "replication_key_value" not in bookmark and "format" not in bookmark:
            return None
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
        for key in ("made_for", "head_invoice_ids", "tail_invoice_ids", "open_invoices"):
            if key not in bookmark:
                msg = f"the invoices bookmark in the state is damaged: it has no {key}"
                raise StateError(msg)
        previous = cls(
            server_time=parse_time(bookmark.get("replication_key_value")),
            head_ids=_id_list(bookmark, "head_invoice_ids"),
            tail_ids=_id_list(bookmark, "tail_invoice_ids"),
            open_invoices=OpenInvoiceFilter.from_state(bookmark["open_invoices"]),
        )
        if reason := scope.mismatch(bookmark["made_for"], account_settings):
            raise BookmarkMismatchError(reason)
        return previous


class InvoiceSyncPlan:
    """Decides which listed invoices need a detail request, and builds the next bookmark.

    Invoices are offered in list order, each once.
    """

    def __init__(self, previous: PreviousRun | None, scope: BookmarkScope) -> None:
        self.previous = previous
        self.scope = scope
        self._passed_previous_head = False
        self._reached_previous_tail = False
        self._first_page_seen = False
        self._server_time: str | None = None
        self._head_ids: list[str] = []
        self._tail_ids: deque[str] = deque(maxlen=EDGE_SIZE)
        self._open_now: set[bytes] = set()
        self.skipped_unchanged = 0

    def note_page(self, server_time: str | None, ids: list[str]) -> None:
        """The first page read fixes this run's clock and first ids."""
        if not self._first_page_seen:
            self._first_page_seen = True
            self._server_time = server_time
            self._head_ids = ids[:EDGE_SIZE]

    def needs_detail(self, invoice_id: str, *, is_open: bool, created: datetime | None) -> bool:
        """Whether this listed invoice may be new or changed since the previous run.

        The previous list's ends are looked for in every invoice, open or closed: new invoices
        are mostly open, so the previous head is usually open too.
        """
        self._tail_ids.append(invoice_id)
        previous = self.previous
        if previous is None:
            return True
        at_previous_edge = invoice_id in previous.head_ids or invoice_id in previous.tail_ids
        if at_previous_edge:
            self._passed_previous_head = True
            self._reached_previous_tail |= invoice_id in previous.tail_ids
        if is_open:
            return True
        if not at_previous_edge and (not self._passed_previous_head or self._reached_previous_tail):
            return True
        if invoice_id in previous.open_invoices:
            return True
        if (
            created is not None
            and previous.server_time is not None
            and created >= previous.server_time - CREATED_MARGIN
        ):
            return True
        self.skipped_unchanged += 1
        return False

    def note_status(self, invoice_id: str, *, is_open: bool) -> None:
        """Remember invoices still open at the end of this run (and ones to read again)."""
        if is_open:
            self._open_now.add(id_digest(invoice_id))

    def next_bookmark(self, replication_key: str) -> dict:
        """The bookmark to commit once the whole list has been read."""
        bookmark: dict = {
            "format": BOOKMARK_FORMAT,
            "replication_key": replication_key,
            "made_for": self.scope.to_state(),
            "head_invoice_ids": self._head_ids,
            "tail_invoice_ids": list(self._tail_ids),
            "open_invoices": OpenInvoiceFilter.of(self._open_now).to_state(),
        }
        if self._server_time:
            bookmark["replication_key_value"] = self._server_time
        elif self.previous and self.previous.server_time:
            bookmark["replication_key_value"] = self.previous.server_time.isoformat()
        return bookmark
