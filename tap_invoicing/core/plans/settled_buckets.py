"""Incremental sync for lists whose summaries show every change a settled invoice can have.

Some invoices can change in ways the list summary does not show (an open invoice's items, note or
due date): they are read on every run. The others, settled or final, can change only in ways
their summary shows (a refund changes the status and the refunded amount; a cancellation, the
status). Each such summary is hashed into one of a fixed number of buckets by its id; a bucket's
digest combines its members' summaries, so any change, new or vanished invoice in a bucket
changes it. Once the whole list has been read, the settled invoices of every bucket whose digest
differs from the previous run's are read. The state is ``BUCKETS`` x 4 bytes however large the
account; a run costs the open invoices, plus the settled invoices sharing a bucket with a change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tap_invoicing.core.bookmark import (
    BookmarkScope,
    decode_blob,
    encode_blob,
    new_bookmark,
    read_bookmark,
)
from tap_invoicing.core.plans import remembered
from tap_invoicing.core.plans.remembered import (
    InvoiceChildren,
    RememberedInvoices,
    RemembersInvoices,
)
from tap_invoicing.errors import StateError

BUCKETS = 1024
DIGEST_BYTES = 4
"""A changed bucket goes unnoticed with probability 2^-32: once in four billion changes."""


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest(), "big")


def bucket_of(invoice_id: str) -> int:
    """The bucket an invoice id falls in."""
    return _hash(f"bucket\x1f{invoice_id}") % BUCKETS


class BucketDigests:
    """One digest per bucket: the XOR of its members' summary hashes (order does not matter)."""

    def __init__(self, values: list[int] | None = None) -> None:
        self.values = values or [0] * BUCKETS

    def add(self, invoice_id: str, fingerprint: str) -> None:
        """Fold one settled invoice's summary into its bucket."""
        self.values[bucket_of(invoice_id)] ^= _hash(f"{invoice_id}\x1f{fingerprint}")

    def spoil(self, invoice_id: str) -> None:
        """Make the invoice's bucket differ next run, so that its invoices are read again."""
        self.values[bucket_of(invoice_id)] ^= _hash(f"unread\x1f{invoice_id}")

    def to_state(self) -> dict[str, Any]:
        """The JSON form kept in the bookmark."""
        data = b"".join(value.to_bytes(DIGEST_BYTES, "big") for value in self.values)
        return {"buckets": BUCKETS, "data": encode_blob(data)}

    @classmethod
    def from_state(cls, value: object) -> BucketDigests:
        """Rebuild the digests from a bookmark, refusing any shape this version did not write."""
        if not isinstance(value, Mapping) or value.get("buckets") != BUCKETS:
            msg = "settled_buckets in the state was not written by this version of tap-invoicing"
            raise StateError(msg)
        data = decode_blob(value.get("data", ""), "settled_buckets", BUCKETS * DIGEST_BYTES)
        return cls(
            [
                int.from_bytes(data[n : n + DIGEST_BYTES], "big")
                for n in range(0, len(data), DIGEST_BYTES)
            ]
        )


@dataclass(frozen=True)
class SummaryRules:
    """How a provider's list summaries say what this plan needs to know."""

    changes_unseen: Callable[[Mapping[str, Any]], bool]
    """Whether the invoice, in its listed status, can change in ways its summary does not show."""
    fingerprint: Callable[[Mapping[str, Any]], str]
    """What of the summary changes whenever a settled invoice changes (status, amounts)."""


class SettledBucketsPlan(RemembersInvoices):
    """The change plan of an API whose list summaries show every change to settled invoices."""

    reads_whole_list = True

    def __init__(
        self,
        previous: BucketDigests | None,
        scope: BookmarkScope,
        rules: SummaryRules,
        started: datetime,
        remembered: RememberedInvoices | None = None,
    ) -> None:
        self._previous = previous
        self._remembered = remembered or RememberedInvoices()
        """The invoices that could still change at the end of the previous run (open ones,
        deletable drafts), with their rows."""
        self._scope = scope
        self._rules = rules
        self._started = started
        self._digests = BucketDigests()
        self._settled: dict[int, list[str]] = {}
        self._deferred = 0

    @classmethod
    def for_run(
        cls,
        stream_state: Mapping[str, Any],
        scope: BookmarkScope,
        rules: SummaryRules,
        started: datetime,
    ) -> SettledBucketsPlan:
        """The plan of a run started at ``started``, from its stream's bookmark (if it fits the
        run). Raises BookmarkMismatchError for a bookmark made for another run, StateError for
        a damaged one."""
        previous = read_bookmark(
            stream_state,
            scope,
            ("settled_buckets", remembered.FIELD),
            lambda bookmark: (
                BucketDigests.from_state(bookmark["settled_buckets"]),
                RememberedInvoices.parse(bookmark[remembered.FIELD]),
            ),
        )
        if previous is None:
            return cls(None, scope, rules, started)
        digests, open_invoices = previous
        return cls(digests, scope, rules, started, open_invoices)

    @property
    def skipped_unchanged(self) -> int:
        """Settled invoices not read: their bucket is as it was."""
        if self._previous is None:
            return 0
        return sum(len(ids) for ids in self._settled.values()) - self._deferred

    def note_page(self, payload: Any, ids: list[str], served_at: datetime | None) -> None:
        """Nothing to learn from a page as such."""

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Open invoices at once; settled ones are folded into their bucket and decided once the
        whole list is read (or read at once on a first run)."""
        self._remembered.listed(invoice_id)
        if self._rules.changes_unseen(item):
            return True
        self._digests.add(invoice_id, self._rules.fingerprint(item))
        self._settled.setdefault(bucket_of(invoice_id), []).append(invoice_id)
        return self._previous is None

    def deferred(self) -> Iterator[str]:
        """The settled invoices of every bucket that changed, once the list has been read."""
        if self._previous is None:
            return
        for bucket, ids in self._settled.items():
            if self._digests.values[bucket] != self._previous.values[bucket]:
                self._deferred += len(ids)
                yield from ids

    def note_read(
        self, invoice_id: str, invoice: Mapping[str, Any] | None, children: InvoiceChildren
    ) -> None:
        """Remember the invoices that can still change, with their rows; one not emitted
        spoils its bucket and is remembered as before, so the next run reads it again."""
        if invoice is None:
            self._digests.spoil(invoice_id)
            self._remembered.carry(invoice_id)
        elif self._rules.changes_unseen(invoice):
            self._remembered.keep(invoice_id, children)

    def note_gone(self, invoice_id: str) -> None:
        """The invoice is gone from the API (404): its bucket is spoiled, so that should it come
        back it is read, and it is remembered one more run, without rows."""
        self._digests.spoil(invoice_id)
        self._remembered.gone(invoice_id)

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> None:
        """Not yet: a stopped pass is made again whole (its deferred reads need the ids of
        every settled invoice listed, which no bounded state holds)."""

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The digests of this run, its start, and what the bookmark was made for."""
        return new_bookmark(
            self._scope,
            replication_key,
            replication_key_value=self._started.isoformat(),
            settled_buckets=self._digests.to_state(),
            **{remembered.FIELD: self._remembered.to_state()},
        )
