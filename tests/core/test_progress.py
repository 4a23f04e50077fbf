"""The progress text and its cadence on their own (the tap's stderr: tests/core/test_logs.py)."""

from __future__ import annotations

import logging
import time

import pytest

from tap_invoicing.core.progress import Progress, duration

LOGGER = logging.getLogger("tests.progress")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress: ")]


def test_the_line_says_how_far_how_fast_and_how_long_still_to_go():
    clock = FakeClock()
    progress = Progress(LOGGER, clock=clock)
    for _ in range(299):
        progress.advance(total=1800, fetched=True)
    clock.now += 30
    progress.advance(total=1800, fetched=False)
    assert progress.summary(1800) == (
        "300 of 1,800 invoices, 10.0 invoices/s, about 2 min 30 s left, 299 details fetched"
    )
    progress.reconsider()
    clock.now += 29.9
    assert progress.summary(None) == (
        "299 invoices, 5.0 invoices/s, 59.9 s elapsed, 299 details fetched"
    )


def test_lines_come_while_nothing_advances_and_stop_with_the_run(caplog):
    """The lines come from a thread of their own: a run held up (a pause, a slow list page)
    is still heard from."""
    progress = Progress(LOGGER, every=0.05)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        with progress:
            progress.advance(total=4, fetched=True)
            deadline = time.monotonic() + 10
            while len(progress_lines(caplog)) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        logged = len(progress_lines(caplog))
        time.sleep(0.2)
    assert logged >= 2
    assert len(progress_lines(caplog)) == logged, "no line after the run ended"
    assert progress_lines(caplog)[0].startswith("Progress: 1 of 4 invoices, ")


def test_the_last_lines_give_each_stream_its_records(caplog):
    clock = FakeClock()
    progress = Progress(LOGGER, clock=clock)
    for _ in range(3):
        progress.advance(total=3, fetched=True)
    clock.now += 2
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        progress.finish(
            3,
            written=2,
            outcome="0 unchanged and skipped, 1 vanished, 0 not emitted (read again next run)",
            children={"invoice_line_items": 12345, "invoice_history": 0},
        )
    assert [r.getMessage() for r in caplog.records] == [
        "invoices: 2 records written; list read: 3 of 3 invoices, 1.5 invoices/s, 2.0 s "
        "elapsed, 3 details fetched; 0 unchanged and skipped, 1 vanished, 0 not emitted "
        "(read again next run)",
        "invoice_line_items: 12,345 records written",
        "invoice_history: 0 records written",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.25, "4.2 s"), (59.9, "59.9 s"), (200, "3 min 20 s"), (7500, "2 h 5 min")],
)
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text
