"""The settled-buckets plan: open invoices every run, settled ones when their bucket changed."""

from __future__ import annotations

import itertools
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
    created=lambda item: item.get("created"),
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


def created_on(count: int) -> list[dict]:
    """``listing(count)``, the n-th created on day n % 28 + 1 of November 2026."""
    return [
        {**item, "created": datetime(2026, 11, n % 28 + 1, tzinfo=UTC)}
        for n, item in enumerate(listing(count))
    ]


def in_windows(items: list[dict], days: list[int]) -> list[tuple[tuple, list[dict]]]:
    """The items in creation windows between the given days of November, oldest first."""
    ends = [datetime(2026, 11, d, tzinfo=UTC) for d in days]
    return [
        ((start, end), [item for item in items if start <= item["created"] < end])
        for start, end in itertools.pairwise(ends)
    ]


def first_pass(
    plan: SettledBucketsPlan, windows: list[tuple[tuple, list[dict]]], emit: int | None = None
) -> list[str]:
    """List the windows in order, emitting the first ``emit`` invoices read (all with None);
    the ids read."""
    read = []
    for window, items in windows:
        plan.note_page({}, [item["id"] for item in items], None, window)
        for item in items:
            if plan.needs_detail(item["id"], item):
                read.append(item["id"])
                if emit is None or len(read) <= emit:
                    plan.note_read(item["id"], item, {})
    return read


@pytest.mark.parametrize("being_written", [0, 1], ids=["all claimed", "one being written"])
def test_a_stopped_first_pass_resumes_where_its_windows_end_and_ends_as_a_whole_pass_would(
    being_written,
):
    """An invoice read but not claimed (its records were being written at the stop) is read
    again, and folded into the digests once."""
    items = created_on(600)
    windows = in_windows(items, [1, 8, 15, 22, 29])
    clean = SettledBucketsPlan.for_run({}, SCOPE, RULES, STARTED)
    first_pass(clean, windows)

    stopped = SettledBucketsPlan.for_run({}, SCOPE, RULES, STARTED)
    handled = len(windows[0][1]) + len(windows[1][1]) + 5
    # Stopped in the third window.
    emitted = first_pass(stopped, windows[:3], emit=handled + 3 + being_written)
    checkpoint = stopped.checkpoint("created", [], emitted[handled : handled + 3], handled)
    assert checkpoint is not None
    assert checkpoint["resume"]["from"] == datetime(2026, 11, 15, tzinfo=UTC).isoformat()
    claimed = set(emitted[:handled] + emitted[handled : handled + 3])
    assert set(checkpoint["resume"]["ahead"]) <= claimed

    resumed = SettledBucketsPlan.for_run(checkpoint, SCOPE, RULES, STARTED)
    assert resumed.resumes_from == datetime(2026, 11, 15, tzinfo=UTC)
    read = first_pass(resumed, windows[2:])
    read += list(resumed.unlisted())
    opens = {item["id"] for item in items if item["status"] in OPEN}
    assert set(read) == {item["id"] for item in items} - claimed | (opens & claimed)
    listed_again = {item["id"] for _, window_items in windows[2:] for item in window_items}
    assert resumed.skipped_unchanged == len((claimed & listed_again) - opens)
    finished = resumed.next_bookmark("created")
    assert finished["settled_buckets"] == clean.next_bookmark("created")["settled_buckets"]
    assert "resume" not in finished


def test_a_checkpoint_of_a_later_pass_keeps_the_buckets_read_in_full():
    items = listing()
    _, plan = run(items, {})
    bookmark = plan.next_bookmark("created")
    refunded = {items[n]["id"] for n in (1, 2, 3, 4) if items[n]["status"] == "PAID"}
    changed = [dict(item, refund="5.00") if item["id"] in refunded else item for item in items]

    stopped = SettledBucketsPlan.for_run(bookmark, SCOPE, RULES, STARTED)
    listed = [item["id"] for item in changed if stopped.needs_detail(item["id"], item)]
    deferred = list(stopped.deferred())
    first_bucket = [i for i in deferred if bucket_of(i) == bucket_of(deferred[0])]
    for invoice_id in first_bucket:
        stopped.note_read(invoice_id, {"status": "PAID"}, {})
    # Everything listed and the first changed bucket's invoices are handled.
    checkpoint = stopped.checkpoint("created", [], [], len(changed) + len(first_bucket))
    assert checkpoint is not None
    assert "resume" not in checkpoint

    read, resumed = run(changed, checkpoint)
    opens = {item["id"] for item in items if item["status"] in OPEN}
    assert set(listed) == opens
    assert read - opens == set(deferred) - set(first_bucket)
    assert (
        resumed.next_bookmark("created")["settled_buckets"]
        == (stopped.next_bookmark("created")["settled_buckets"])
    )
