"""The settled-buckets plan: open invoices every run, settled ones when their bucket changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tap_invoicing.core.bookmark import BookmarkScope
from tap_invoicing.core.plans.settled_buckets import (
    BUCKETS,
    BucketDigests,
    SettledBucketsPlan,
    SummaryRules,
    bucket_of,
)
from tap_invoicing.errors import StateError

SCOPE = BookmarkScope(
    provider="paypal",
    api_root="https://api-m.paypal.com",
    account=BookmarkScope.account_digest(["client"]),
    start_date=None,
    streams=("invoices",),
)
OPEN = {"DRAFT", "SENT", "UNPAID"}
RULES = SummaryRules(
    changes_unseen=lambda item: item["status"] in OPEN,
    fingerprint=lambda item: f"{item['status']}|{item.get('refund', '0')}",
)
STARTED = datetime(2026, 12, 2, tzinfo=UTC)


def listing(count: int = 3000) -> list[dict]:
    return [
        {"id": f"INV2-{n:05d}", "status": "SENT" if n % 5 == 0 else "PAID"} for n in range(count)
    ]


def run(items: list[dict], bookmark: dict) -> tuple[set[str], SettledBucketsPlan]:
    """Which invoices a run reads, and its plan."""
    plan = SettledBucketsPlan.for_run(bookmark, SCOPE, RULES, STARTED)
    read = {item["id"] for item in items if plan.needs_detail(item["id"], item)}
    read |= set(plan.deferred())
    return read, plan


def test_a_first_run_reads_everything_and_an_unchanged_account_only_its_open_invoices():
    items = listing()
    read, plan = run(items, {})
    assert read == {item["id"] for item in items}
    bookmark = plan.next_bookmark("created")
    assert len(bookmark["settled_buckets"]["data"]) == 5464  # 4 KiB in base64, for any account
    again, plan = run(items, bookmark)
    assert again == {item["id"] for item in items if item["status"] in OPEN}
    assert plan.skipped_unchanged == 2400


def test_a_refund_on_a_paid_invoice_reads_its_bucket_and_nothing_else():
    items = listing()
    _, plan = run(items, {})
    refunded = dict(items[7], status="REFUNDED", refund="10.00")
    changed = [refunded if item["id"] == refunded["id"] else item for item in items]
    read, plan = run(changed, plan.next_bookmark("created"))
    settled_read = {i for i in read if not i.endswith(("0", "5"))}
    assert refunded["id"] in settled_read
    same_bucket = {
        item["id"]
        for item in changed
        if item["status"] not in OPEN and bucket_of(item["id"]) == bucket_of(refunded["id"])
    }
    assert settled_read == same_bucket
    assert len(same_bucket) < 10


def test_new_and_vanished_settled_invoices_are_noticed():
    items = listing()
    _, plan = run(items, {})
    bookmark = plan.next_bookmark("created")
    new = {"id": "INV2-NEW01", "status": "MARKED_AS_PAID"}
    read, _ = run([*items, new], bookmark)
    assert new["id"] in read
    gone = items[3]
    read, _ = run([item for item in items if item is not gone], bookmark)
    assert read - {i["id"] for i in items if i["status"] in OPEN}, "its bucket is read again"


def test_an_invoice_not_emitted_is_read_again_next_run():
    items = listing()
    _, plan = run(items, {})
    bookmark = plan.next_bookmark("created")
    _, plan = run(items, bookmark)
    plan.note_read(items[1]["id"], None, {})
    read, _ = run(items, plan.next_bookmark("created"))
    assert items[1]["id"] in read


def test_damaged_digests_are_refused():
    _, plan = run(listing(10), {})
    bookmark = plan.next_bookmark("created")
    with pytest.raises(StateError, match="damaged"):
        SettledBucketsPlan.for_run(
            {**bookmark, "settled_buckets": {"buckets": BUCKETS, "data": "AAAA"}},
            SCOPE,
            RULES,
            STARTED,
        )
    with pytest.raises(StateError, match="not written by this version"):
        BucketDigests.from_state({"buckets": 7, "data": ""})
