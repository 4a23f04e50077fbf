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
        ahead.note_page([], [], NOW - timedelta(minutes=7, seconds=3))
    behind = plan({})
    behind.note_page([], [], NOW + timedelta(hours=2))  # windows only overlap more
    close = plan({})
    close.note_page([], [], NOW - timedelta(minutes=4))
    close.note_page([], [], NOW - timedelta(hours=9))  # checked on the first page only
    plan({}).note_page([], [], None)
