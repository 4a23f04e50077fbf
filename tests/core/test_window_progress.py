"""What a checkpoint of a pass read in time windows claims: the windows before the one being
handled, and the invoices emitted since, by name."""

from __future__ import annotations

from datetime import UTC, datetime

from tap_invoicing.core.plans.windows import WindowCheckpoint, WindowProgress


def day(n: int) -> datetime:
    return datetime(2026, 11, n, tzinfo=UTC)


def listed(progress: WindowProgress, window: tuple, ids: list[str], emitted: bool = True) -> None:
    progress.page(window)
    for invoice_id in ids:
        progress.listed(invoice_id)
        if emitted:
            progress.emitted(invoice_id)


def test_nothing_is_claimed_before_a_window_is_read() -> None:
    progress = WindowProgress()
    progress.page(None)  # a list not read in windows
    progress.listed("1")
    assert progress.checkpoint(1, ["2"]) is None


def test_the_invoices_of_a_capped_window_are_named_until_the_start_passes_its_end() -> None:
    progress = WindowProgress()
    listed(progress, (day(1), day(21)), ["1", "2"])  # capped, then split in halves
    listed(progress, (day(1), day(11)), ["3"])
    listed(progress, (day(11), day(21)), ["4", "5"], emitted=False)
    progress.emitted("4")
    # Places 0-3 handled ("4" included), "5" not yet: claimed from day 11, with the capped
    # window's invoices (it ends after day 11), the older half's (it shares day 11's second)
    # and "4", by name.
    claimed = progress.checkpoint(4, [])
    assert claimed == WindowCheckpoint(day(11), frozenset({"1", "2", "3", "4"}))
    listed(progress, (day(22), day(30)), ["6"])
    progress.emitted("5")
    assert progress.checkpoint(6, []) == WindowCheckpoint(day(22), frozenset({"6"}))


def test_written_past_the_handled_ones_are_claimed_and_emitted_past_them_are_not() -> None:
    progress = WindowProgress()
    listed(progress, (None, day(10)), ["1", "2", "3"])
    assert progress.checkpoint(1, ["3"]) == WindowCheckpoint(None, frozenset({"1", "3"}))
    assert WindowCheckpoint.parse(WindowCheckpoint(day(2), frozenset("a")).to_state()) == (
        WindowCheckpoint(day(2), frozenset("a"))
    )
