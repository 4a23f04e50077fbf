"""Page-number and windowed listings: where they end, and how a window past the page cap splits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tap_invoicing.core.listing import PageNumberListing, WindowedListing, iso_seconds
from tap_invoicing.errors import TapInvoicingError

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 2, tzinfo=UTC)


def ids(first: int, count: int) -> list[str]:
    return [str(n) for n in range(first, first + count)]


def test_a_page_number_listing_ends_at_a_short_or_an_empty_page() -> None:
    listing = PageNumberListing(3)
    assert listing.query() == {"page": 1, "pageSize": 3}
    assert listing.accept(ids(1, 3), None) == [True] * 3
    assert listing.query() == {"page": 2, "pageSize": 3}
    assert listing.accept(["3", "4"], None) == [False, True]
    assert listing.finished and not listing.capped
    empty = PageNumberListing(3)
    empty.accept(ids(1, 3), None)
    empty.accept([], None)
    assert empty.finished and empty.pages_read == 2


def test_a_full_page_at_the_cap_or_a_400_past_page_one_caps_the_listing() -> None:
    at_cap = PageNumberListing(2, max_pages=2)
    at_cap.accept(ids(1, 2), None)
    at_cap.accept(ids(3, 2), None)
    assert at_cap.finished and at_cap.capped
    refused = PageNumberListing(2)
    assert not refused.tolerates(400)  # page 1: a refusal of the query itself
    refused.accept(ids(1, 2), None)
    assert refused.tolerates(400) and not refused.tolerates(401)
    refused.refused(400)
    assert refused.finished and refused.capped


def test_any_404_for_a_page_numbered_list_is_an_error() -> None:
    with pytest.raises(TapInvoicingError, match="check base_url"):
        PageNumberListing(5).not_found([])


def window_of(query: dict) -> tuple[str | None, str]:
    return query.get("lastUpdateStartDate"), query["lastUpdateEndDate"]


def windowed(
    max_pages: int = 2,
    start: datetime | None = START,
    floor: datetime = datetime(2000, 1, 1, tzinfo=UTC),
    **options: Any,
) -> WindowedListing:
    return WindowedListing(
        2,
        start=start,
        end=END,
        start_param="lastUpdateStartDate",
        end_param="lastUpdateEndDate",
        max_pages=max_pages,
        floor=floor,
        **options,
    )


def test_a_window_that_fits_is_read_once_with_its_inclusive_ends() -> None:
    listing = windowed()
    assert listing.query() == {
        "lastUpdateStartDate": "2026-01-01T00:00:00Z",
        "lastUpdateEndDate": "2026-01-02T00:00:00Z",
        "page": 1,
        "pageSize": 2,
    }
    listing.accept(ids(1, 2), None)
    listing.accept(["3"], None)
    assert listing.finished and listing.splits == 0


def test_a_window_past_the_cap_is_split_in_halves_sharing_their_middle_second() -> None:
    listing = windowed()
    listing.accept(ids(1, 2), None)
    listing.accept(ids(3, 2), None)  # full page 2 of 2: capped
    assert not listing.finished and listing.splits == 1
    first_half = window_of(listing.query())
    assert listing.query()["page"] == 1
    assert listing.accept(["1"], None) == [False]
    assert listing.finished is False
    second_half = window_of(listing.query())
    assert {first_half, second_half} == {
        ("2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z"),
        ("2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z"),
    }
    assert listing.accept(["2", "5"], None) == [False, True]
    assert listing.accept([], None) == []
    assert listing.finished


def test_a_400_past_page_one_splits_the_window_and_no_start_splits_from_the_floor() -> None:
    listing = windowed(max_pages=10, start=None)
    assert "lastUpdateStartDate" not in listing.query()
    listing.accept(ids(1, 2), None)
    assert listing.tolerates(400)
    listing.refused(400)
    starts = {window_of(listing.query())[0]}
    listing.accept([], None)
    starts.add(window_of(listing.query())[0])
    assert "2000-01-01T00:00:00Z" in starts


def test_a_window_of_one_second_that_is_still_too_full_fails_the_run() -> None:
    listing = WindowedListing(
        1,
        start=START,
        end=START + timedelta(seconds=1),
        start_param="from",
        end_param="to",
        max_pages=1,
        floor=START,
    )
    with pytest.raises(TapInvoicingError, match="cannot all be listed"):
        listing.accept(["1"], None)


def test_window_ends_are_sent_as_utc_seconds() -> None:
    moment = datetime(2026, 3, 30, 17, 59, 10, 105613, tzinfo=UTC)
    assert iso_seconds(moment) == "2026-03-30T17:59:10Z"


def test_a_windowless_first_pass_is_split_into_windows_only_past_the_cap() -> None:
    listing = WindowedListing(
        2,
        start=None,
        end=END,
        start_param="from",
        end_param="to",
        max_pages=2,
        floor=START,
        windowless_first=True,
    )
    assert listing.query() == {"page": 1, "pageSize": 2}
    listing.accept(ids(1, 2), None)
    listing.accept(ids(3, 2), None)
    assert set(listing.query()) == {"from", "to", "page", "pageSize"}
    fits = WindowedListing(
        2,
        start=None,
        end=END,
        start_param="from",
        end_param="to",
        max_pages=2,
        floor=START,
        windowless_first=True,
    )
    fits.accept(["1"], None)
    assert fits.finished


def test_windows_are_read_oldest_first_so_a_pass_can_resume_from_a_window_start() -> None:
    listing = windowed()
    assert listing.window == (START, END)
    listing.accept(ids(1, 2), None)
    listing.accept(ids(3, 2), None)  # capped: the older half is read first
    middle = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert listing.window == (START, middle)
    listing.accept(["1"], None)
    assert listing.window == (middle, END)


def test_a_window_split_where_a_stopped_pass_started_is_read_as_two() -> None:
    middle = datetime(2026, 1, 1, 6, tzinfo=UTC)
    listing = windowed(split_at=middle)
    assert window_of(listing.query()) == ("2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z")
    listing.accept(["1"], None)
    assert window_of(listing.query()) == ("2026-01-01T06:00:00Z", "2026-01-02T00:00:00Z")
    assert not listing.finished
    assert windowed(split_at=END).window == (START, END)


def test_a_window_whose_first_page_says_it_holds_too_many_is_halved_before_it_is_passed_on() -> (
    None
):
    listing = windowed(100, None, START, windowless_first=True, split_above=3)
    assert listing.accept(ids(1, 2), 7) == [False, False]
    assert listing.total == 7, "the whole list's total, for the progress lines"
    assert listing.window == (START, datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert listing.accept(ids(1, 2), 3) == [True, True]
    assert listing.accept(["3"], 3) == [True]
    assert listing.window == (datetime(2026, 1, 1, 12, tzinfo=UTC), END)
