"""Incremental sync for lists whose summaries show every change a settled invoice can have.

Some invoices can change in ways the list summary does not show (an open invoice's items, note or
due date): they are read on every run. The others, settled or final, can change only in ways
their summary shows (a refund changes the status and the refunded amount; a cancellation, the
status). Each such summary is hashed into one of a fixed number of buckets by its id; a bucket's
digest combines its members' summaries, so any change, new or vanished invoice in a bucket
changes it. Once the whole list has been read, the settled invoices of every bucket whose digest
differs from the previous run's are read. The state is ``BUCKETS`` x 4 bytes however large the
account; a run costs the open invoices, plus the settled invoices sharing a bucket with a change.

A pass writes checkpoints. On a first pass, which reads every invoice as it is listed, in creation
windows read oldest first (``plans.windows``): the digests of the settled invoices emitted so far,
with the windows handled and the invoices emitted past them. The resumed pass lists again from
there and reads what the stopped one did not emit; an invoice it did emit is read again only if
open (a settled one that changed since is in a bucket whose digest differs on the next run). On
a later pass, which reads settled invoices only once the whole list is read: the previous run's
digests, but the buckets whose invoices were all read, which take this run's. A run from it is
an ordinary one, which passes over the buckets done unless they changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from tap_invoicing.core.plans.windows import WindowCheckpoint, WindowProgress
from tap_invoicing.errors import StateError

if TYPE_CHECKING:
    from tap_invoicing.core.listing import Window

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

    def add(self, invoice_id: str, fingerprint: str) -> int:
        """Fold one settled invoice's summary into its bucket; what was folded."""
        folded = _hash(f"{invoice_id}\x1f{fingerprint}")
        self.values[bucket_of(invoice_id)] ^= folded
        return folded

    def without(self, folded: Mapping[str, int]) -> BucketDigests:
        """A copy with the given invoices' summaries taken out again."""
        values = list(self.values)
        for invoice_id, value in folded.items():
            values[bucket_of(invoice_id)] ^= value
        return BucketDigests(values)

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
    created: Callable[[Mapping[str, Any]], datetime | None]
    """When the invoice was created: the date the list's windows select by."""


@dataclass(frozen=True)
class StoppedFirstPass:
    """What a checkpoint of a first pass claims, and the digests of what it emitted."""

    claimed: WindowCheckpoint
    digests: BucketDigests

    def emitted(self, invoice_id: str, created: datetime | None) -> bool:
        """Whether the stopped pass emitted the invoice (and folded it, if settled)."""
        return self.claimed.claims(invoice_id, created)


@dataclass(frozen=True)
class Previous:
    """What the bookmark says: the digests of the run before, or of a stopped first pass."""

    digests: BucketDigests
    remembered: RememberedInvoices
    stopped: StoppedFirstPass | None
    replication_value: Any


def _previous(bookmark: Mapping[str, Any]) -> Previous:
    digests = BucketDigests.from_state(bookmark["settled_buckets"])
    stopped = None
    if "resume" in bookmark:
        stopped = StoppedFirstPass(WindowCheckpoint.parse(bookmark["resume"]), digests)
    return Previous(
        digests,
        RememberedInvoices.parse(bookmark[remembered.FIELD]),
        stopped,
        bookmark.get("replication_key_value"),
    )


class SettledBucketsPlan(RemembersInvoices):
    """The change plan of an API whose list summaries show every change to settled invoices."""

    reads_whole_list = True

    def __init__(
        self,
        previous: Previous | None,
        scope: BookmarkScope,
        rules: SummaryRules,
        started: datetime,
    ) -> None:
        self._previous = previous.digests if previous and not previous.stopped else None
        """The previous run's digests; None on a first pass (resumed or not)."""
        self.stopped = previous.stopped if previous else None
        """The stopped first pass this run resumes."""
        self._previous_value = previous.replication_value if previous else None
        self._remembered = previous.remembered if previous else RememberedInvoices()
        """The invoices that could still change at the end of the previous run (open ones,
        deletable drafts), with their rows."""
        self._scope = scope
        self._rules = rules
        self._started = started
        self._digests = BucketDigests(list(self.stopped.digests.values) if self.stopped else None)
        self._settled: dict[int, list[str]] = {}
        self._deferred = 0
        self._listed = 0
        self._progress = WindowProgress()
        self._unclaimed: dict[str, tuple[int, datetime | None]] = {}
        """A first pass's settled invoices folded into the digests (what was folded, and when
        each was created) that no checkpoint has claimed yet: a checkpoint's digests leave out
        those it does not claim, read or not, so that the pass resuming from it, which reads
        them again, folds each in once."""
        self._buckets_read: list[tuple[int, int]] = []
        """A later pass's changed buckets, in the order read: the place past each, and it."""
        self._passed_over = 0

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
        fields = ("settled_buckets", remembered.FIELD)
        previous = read_bookmark(stream_state, scope, fields, _previous)
        return cls(previous, scope, rules, started)

    @property
    def skipped_unchanged(self) -> int:
        """Settled invoices not read: their bucket is as it was, or the stopped pass this run
        resumes emitted them."""
        if self._previous is None:
            return self._passed_over
        return sum(len(ids) for ids in self._settled.values()) - self._deferred

    @property
    def first_pass(self) -> bool:
        """Whether this pass reads every invoice as it is listed (resumed or not): its
        checkpoints name the windows it has handled."""
        return self._previous is None

    @property
    def resumes_from(self) -> datetime | None:
        """Where the stopped first pass this run resumes had listed to (None: nowhere yet, or
        no stopped pass): the list is read again from there."""
        return self.stopped.claimed.start if self.stopped else None

    def note_page(
        self, payload: Any, ids: list[str], served_at: datetime | None, window: Window | None
    ) -> None:
        """Note the page's window."""
        self._progress.page(window)

    def needs_detail(self, invoice_id: str, item: Mapping[str, Any]) -> bool:
        """Open invoices at once; settled ones on a first pass at once too, but those the pass
        resumed emitted, and on a later pass once the whole list is read, if their bucket
        changed."""
        self._remembered.listed(invoice_id)
        self._progress.listed(invoice_id)
        self._listed += 1
        if self._rules.changes_unseen(item):
            return True
        if self.stopped and self.stopped.emitted(invoice_id, self._rules.created(item)):
            self._passed_over += 1
            return False
        folded = self._digests.add(invoice_id, self._rules.fingerprint(item))
        if self._previous is None:
            self._unclaimed[invoice_id] = (folded, self._rules.created(item))
            return True
        self._settled.setdefault(bucket_of(invoice_id), []).append(invoice_id)
        return False

    def deferred(self) -> Iterator[str]:
        """The settled invoices of every bucket that changed, once the list has been read."""
        if self._previous is None:
            return
        place = self._listed
        for bucket, ids in self._settled.items():
            if self._digests.values[bucket] != self._previous.values[bucket]:
                self._deferred += len(ids)
                place += len(ids)
                self._buckets_read.append((place, bucket))
                yield from ids

    def note_read(
        self, invoice_id: str, invoice: Mapping[str, Any] | None, children: InvoiceChildren
    ) -> None:
        """Remember the invoices that can still change, with their rows; one not emitted
        spoils its bucket and is remembered as before, so the next run reads it again."""
        if invoice is None:
            self._digests.spoil(invoice_id)
            self._remembered.carry(invoice_id)
            return
        self._progress.emitted(invoice_id)
        if self._rules.changes_unseen(invoice):
            self._remembered.keep(invoice_id, children)

    def note_gone(self, invoice_id: str) -> None:
        """The invoice is gone from the API (404): its bucket is spoiled, so that should it come
        back it is read, and it is remembered one more run, without rows."""
        self._unclaimed.pop(invoice_id, None)
        self._digests.spoil(invoice_id)
        self._remembered.gone(invoice_id)

    def checkpoint(
        self, replication_key: str, handled: list[str], ahead: list[str], listed: int
    ) -> dict[str, Any] | None:
        """A bookmark of the pass so far (see the module docstring): on a first pass, the
        digests of what it emitted, with the windows handled and the invoices emitted past
        them; on a later pass, the previous digests but for the buckets read in full."""
        if self._previous is None:
            claim = self._progress.checkpoint(listed, ahead)
            if claim is None:
                return None
            if self.stopped:
                claim = WindowCheckpoint(claim.start, claim.ahead | self.stopped.claimed.ahead)
            return self._bookmark(
                replication_key,
                self._digests.without(self._not_claimed(claim)),
                resume=claim.to_state(),
            )
        digests = BucketDigests(list(self._previous.values))
        for place, bucket in self._buckets_read:
            if place <= listed:
                digests.values[bucket] = self._digests.values[bucket]
        return self._bookmark(replication_key, digests)

    def _not_claimed(self, claim: WindowCheckpoint) -> dict[str, int]:
        """The folds of the settled invoices ``claim`` does not claim; those it claims by their
        window are forgotten (every later claim starts no earlier)."""
        start = claim.start
        self._unclaimed = {
            invoice_id: (folded, created)
            for invoice_id, (folded, created) in self._unclaimed.items()
            if start is None or created is None or created >= start
        }
        return {
            invoice_id: folded
            for invoice_id, (folded, created) in self._unclaimed.items()
            if not claim.claims(invoice_id, created)
        }

    def _bookmark(
        self, replication_key: str, digests: BucketDigests, **resume: Any
    ) -> dict[str, Any]:
        bookmark = new_bookmark(
            self._scope,
            replication_key,
            settled_buckets=digests.to_state(),
            **{remembered.FIELD: self._remembered.checkpoint_state()},
            **resume,
        )
        if self._previous_value is not None:
            bookmark["replication_key_value"] = self._previous_value
        return bookmark

    def next_bookmark(self, replication_key: str) -> dict[str, Any]:
        """The digests of this run, its start, and what the bookmark was made for."""
        return new_bookmark(
            self._scope,
            replication_key,
            replication_key_value=self._started.isoformat(),
            settled_buckets=self._digests.to_state(),
            **{remembered.FIELD: self._remembered.to_state()},
        )
