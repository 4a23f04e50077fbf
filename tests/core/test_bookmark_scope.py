"""What a bookmark is made for, by date: it serves a run whose range lies within its own (from no
earlier a start_date, to no later an end_date), and any other run makes a full pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tap_invoicing.core.bookmark import BookmarkScope
from tap_invoicing.core.dates import DateRange

JAN, APR, JUL = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 4, 7))


def scope(start: datetime | None = None, end: datetime | None = None) -> BookmarkScope:
    return BookmarkScope("paypal", "https://api.example", "acct", start, ("invoices",), end)


@pytest.mark.parametrize(
    ("made", "run", "serves"),
    [
        ((None, None), (None, None), True),
        ((None, None), (JAN, APR), True),  # a backfill within what the regular runs read
        ((JAN, APR), (JAN, APR), True),
        ((JAN, JUL), (APR, JUL), True),
        ((JAN, JUL), (JAN, APR), True),
        ((JAN, APR), (JAN, None), False),  # no end_date: what came after was never read
        ((JAN, APR), (JAN, JUL), False),
        ((JAN, APR), (None, APR), False),
        ((APR, None), (JAN, None), False),
    ],
)
def test_a_bookmark_serves_only_a_run_within_its_range(made, run, serves) -> None:
    reason = scope(*run).mismatch(scope(*made).to_state())
    assert (reason is None) == serves, reason


def test_the_reason_names_both_end_dates() -> None:
    reason = scope(JAN, None).mismatch(scope(JAN, APR).to_state())
    assert reason == (
        "it was made with end_date 2026-04-01T00:00:00+00:00 and this run reads until no "
        "end_date: the invoices in between were never read"
    )


def test_a_bookmark_of_an_earlier_version_has_no_end_date_and_serves_any_range() -> None:
    made_for = scope(JAN).to_state()
    del made_for["end_date"]
    assert scope(JAN, APR).mismatch(made_for) is None
    assert scope(JAN).mismatch({**made_for, "end_date": "soon"}) == "its end_date is unreadable"


def test_the_range_includes_its_start_and_excludes_its_end() -> None:
    quarter = DateRange(JAN, APR)
    assert JAN in quarter
    assert APR not in quarter
    assert datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC) in quarter
    assert JAN in DateRange(None, APR)
    assert APR in DateRange(JAN, None)
    assert not DateRange().bounded
