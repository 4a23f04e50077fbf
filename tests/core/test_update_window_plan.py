"""The last-update window plan: where each run's window starts and ends, and what it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tap_invoicing.core.bookmark import BookmarkMismatchError, BookmarkScope
from tap_invoicing.core.plans.update_window import UpdateWindowPlan
from tap_invoicing.errors import StateError, TapInvoicingError

NOW = datetime(2026, 12, 2, 0, 30, 15, 400000, tzinfo=UTC)
LOOKBACK = timedelta(minutes=5)


def scope(account: str = "a", start: datetime | None = None) -> BookmarkScope:
    return BookmarkScope(
        provider="revolv3",
        api_root="https://api.revolv3.com",
        account=BookmarkScope.account_digest([account]),
        start_date=start,
        streams=("invoices",),
    )


def plan(bookmark: dict, run_scope: BookmarkScope | None = None) -> UpdateWindowPlan:
    return UpdateWindowPlan.for_run(bookmark, run_scope or scope(), lookback=LOOKBACK, now=NOW)


def test_a_first_run_reads_every_update_to_now_rounded_up_to_a_second() -> None:
    assert plan({}).window.start is None
    # start_date selects by the invoice's own date, not by its last update: no window start.
    first = plan({}, scope(start=datetime(2026, 1, 1, tzinfo=UTC)))
    assert first.window.start is None
    assert first.window.end == datetime(2026, 12, 2, 0, 30, 16, tzinfo=UTC)


def test_the_next_run_starts_a_lookback_before_the_previous_end() -> None:
    bookmark = plan({}).next_bookmark("lastUpdateEndDate")
    assert bookmark["replication_key_value"] == "2026-12-02T00:30:16+00:00"
    later = UpdateWindowPlan.for_run(
        bookmark,
        scope(),
        lookback=LOOKBACK,
        now=NOW + timedelta(hours=1),
    )
    assert later.window.start == datetime(2026, 12, 2, 0, 30, 16, tzinfo=UTC) - LOOKBACK
    assert later.window.end == datetime(2026, 12, 2, 1, 30, 16, tzinfo=UTC)


def test_an_invoice_not_emitted_holds_the_bookmark_where_it_was() -> None:
    first = plan({})
    first.note_read("1", None, {})
    assert "replication_key_value" not in first.next_bookmark("lastUpdateEndDate")
    previous = plan({}).next_bookmark("lastUpdateEndDate")
    second = UpdateWindowPlan.for_run(
        previous,
        scope(),
        lookback=LOOKBACK,
        now=NOW + timedelta(hours=1),
    )
    second.note_read("2", {"invoiceId": 2}, {})
    second.note_read("3", None, {})
    kept = second.next_bookmark("lastUpdateEndDate")
    assert kept["replication_key_value"] == previous["replication_key_value"]


def test_a_bookmark_of_another_account_or_a_damaged_one_is_refused() -> None:
    bookmark = plan({}).next_bookmark("lastUpdateEndDate")
    with pytest.raises(BookmarkMismatchError, match="another account"):
        plan(bookmark, scope(account="b"))
    with pytest.raises(StateError, match="unreadable"):
        plan({**bookmark, "replication_key_value": "yesterday-ish"})
    with pytest.raises(StateError, match="another version"):
        plan({**bookmark, "format": 99})


def test_a_clock_ahead_of_the_apis_by_more_than_the_lookback_fails_the_run() -> None:
    ahead = plan({})
    with pytest.raises(TapInvoicingError, match="clock is 422 s ahead of the API's"):
        ahead.note_page([], [], NOW - timedelta(minutes=7, seconds=3), None)
    behind = plan({})
    behind.note_page([], [], NOW + timedelta(hours=2), None)  # windows only overlap more
    close = plan({})
    close.note_page([], [], NOW - timedelta(minutes=4), None)
    close.note_page([], [], NOW - timedelta(hours=9), None)  # checked on the first page only
    plan({}).note_page([], [], None, None)


def day(n: int) -> datetime:
    return datetime(2026, 11, n, tzinfo=UTC)


def pass_over(run_plan: UpdateWindowPlan, windows: list[tuple], emit: bool = True) -> list[str]:
    """List ``windows`` (window, ids) in order; emit each listed invoice it reads; the ids read."""
    read = []
    for window, ids in windows:
        run_plan.note_page([], ids, None, window)
        for invoice_id in ids:
            if run_plan.needs_detail(invoice_id, {}):
                read.append(invoice_id)
                if emit:
                    run_plan.note_read(invoice_id, {"invoiceId": invoice_id}, {})
    return read


def test_a_stopped_pass_resumes_from_its_last_whole_window_and_passes_over_what_it_emitted() -> (
    None
):
    stopped = plan({})
    windows = [
        ((None, day(10)), ["1"]),
        ((day(10), day(20)), ["2"]),
        ((day(20), day(30)), ["3", "4"]),
    ]
    pass_over(stopped, windows)
    # Places 0-2 are handled (the engine's watermark), "4" was written past them. The window
    # ending where the last one starts shares its second with it: its invoices are named.
    checkpoint = stopped.checkpoint("lastUpdateEndDate", ["3"], ["4"], 3)
    assert checkpoint is not None
    assert "replication_key_value" not in checkpoint, "a first pass has earned no window end"
    assert checkpoint["resume"] == {
        "from": day(20).isoformat(),
        "ahead": ["2", "3", "4"],
        "unchanged_before": (stopped.window.end - timedelta(seconds=2)).isoformat(),
    }

    later = NOW + timedelta(minutes=30)
    resumed = UpdateWindowPlan.for_run(checkpoint, scope(), lookback=LOOKBACK, now=later)
    cut = stopped.window.end - timedelta(seconds=2)
    assert resumed.window.start == day(20) - LOOKBACK
    assert resumed.window.split_at == cut
    # "3" unchanged since the stopped pass read it; "4" updated since; "5" never read.
    read = pass_over(resumed, [((day(20) - LOOKBACK, cut), ["3", "5"]), ((cut, later), ["4"])])
    assert read == ["5", "4"]
    assert resumed.skipped_unchanged == 1
    finished = resumed.next_bookmark("lastUpdateEndDate")
    assert finished["replication_key_value"] == resumed.window.end.isoformat()
    assert "resume" not in finished


def test_a_checkpoint_never_claims_past_an_invoice_not_emitted() -> None:
    stopped = plan({})
    first, second = (None, day(10)), (day(10), day(20))
    stopped.note_page([], ["1", "2"], None, first)
    for invoice_id in ("1", "2"):
        stopped.needs_detail(invoice_id, {})
    stopped.note_read("1", None, {})
    stopped.note_read("2", {"invoiceId": 2}, {})
    pass_over(stopped, [(second, ["3"])])
    checkpoint = stopped.checkpoint("lastUpdateEndDate", ["3"], [], 3)
    assert checkpoint is not None
    assert checkpoint["resume"]["from"] is None
    assert "1" not in checkpoint["resume"]["ahead"]


def test_a_resumed_pass_stopped_again_keeps_what_the_first_one_emitted() -> None:
    stopped = plan({})
    pass_over(stopped, [((None, day(9)), ["1"]), ((day(10), day(20)), ["2", "3"])])
    checkpoint = stopped.checkpoint("lastUpdateEndDate", ["2"], ["3"], 2)
    assert checkpoint is not None
    assert checkpoint["resume"]["ahead"] == ["2", "3"]
    resumed = UpdateWindowPlan.for_run(checkpoint, scope(), lookback=LOOKBACK, now=NOW)
    pass_over(resumed, [((day(10) - LOOKBACK, day(15)), ["4"])])
    again = resumed.checkpoint("lastUpdateEndDate", ["4"], [], 1)
    assert again is not None
    assert again["resume"]["ahead"] == ["2", "3", "4"]
    assert again["resume"]["unchanged_before"] == checkpoint["resume"]["unchanged_before"]


def test_a_checkpoint_of_an_incremental_pass_keeps_the_previous_window_end() -> None:
    previous = plan({}).next_bookmark("lastUpdateEndDate")
    later = UpdateWindowPlan.for_run(
        previous, scope(), lookback=LOOKBACK, now=NOW + timedelta(hours=1)
    )
    pass_over(later, [((later.window.start, later.window.end), ["1", "2"])])
    checkpoint = later.checkpoint("lastUpdateEndDate", ["1"], [], 1)
    assert checkpoint is not None
    assert checkpoint["replication_key_value"] == previous["replication_key_value"]
    assert checkpoint["resume"]["from"] == later.window.start.isoformat()
    assert checkpoint["resume"]["ahead"] == ["1"]
    with pytest.raises(StateError, match="resume in the state"):
        plan({**checkpoint, "resume": {"from": "soon", "ahead": []}})
