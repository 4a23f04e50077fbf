"""The incremental plan on its own: which listed invoices need a detail, in either list order."""

from __future__ import annotations

import pytest

from tap_invoicing.errors import StateError
from tap_invoicing.incremental import InvoiceSyncPlan, OpenInvoiceFilter, PreviousRun

SELECTED = ["invoices"]


def run(listing: list[str], previous: PreviousRun | None, open_ids=frozenset()) -> tuple[set, dict]:
    """One pass over ``listing`` (no createdDate, all closed but ``open_ids``)."""
    plan = InvoiceSyncPlan(previous)
    plan.note_page("2026-01-01T00:00:00.000000000Z", listing[:25])
    read = set()
    for invoice_id in listing:
        is_open = invoice_id in open_ids
        if plan.needs_detail(invoice_id, is_open=is_open, created=None):
            read.add(invoice_id)
        plan.note_status(invoice_id, is_open=is_open)
    return read, plan.next_bookmark("submitTimeUtc", SELECTED)


def previous_of(bookmark: dict) -> PreviousRun:
    previous = PreviousRun.from_state(bookmark, SELECTED)
    assert previous is not None
    return previous


@pytest.mark.parametrize("newest_first", [True, False])
def test_only_new_and_formerly_open_invoices_are_read_in_either_list_order(newest_first):
    old = [f"inv-{n:03}" for n in range(100)]
    new = ["inv-100", "inv-101"]
    order = (lambda ids: ids[::-1]) if newest_first else (lambda ids: ids)
    first_read, bookmark = run(order(old), None, open_ids={"inv-050", "inv-007"})
    assert first_read == set(old)
    # inv-050 was open and has been paid since; inv-101 was created and paid between runs.
    second_read, _ = run(order(old + new), previous_of(bookmark))
    assert second_read == {"inv-050", "inv-007", *new}


def test_without_a_previous_run_everything_is_read():
    read, bookmark = run(["a", "b", "c"], None)
    assert read == {"a", "b", "c"}
    assert bookmark["head_invoice_ids"] == ["a", "b", "c"]
    assert bookmark["tail_invoice_ids"] == ["a", "b", "c"]


def test_if_the_previous_list_ends_are_gone_everything_is_read():
    _, bookmark = run([f"x{n}" for n in range(40)], None)
    read, _ = run([f"y{n}" for n in range(40)], previous_of(bookmark))
    assert len(read) == 40


def test_open_filter_never_forgets_and_rarely_invents():
    remembered = OpenInvoiceFilter()
    ids = [f"open-{n}" for n in range(5000)]
    for invoice_id in ids:
        remembered.add(invoice_id)
    restored = OpenInvoiceFilter.from_state(remembered.to_state())
    assert all(invoice_id in restored for invoice_id in ids)
    false_positives = sum(f"closed-{n}" in restored for n in range(20000))
    assert false_positives <= 20, false_positives


def test_a_bookmark_for_fewer_streams_forces_a_full_pass():
    _, bookmark = run(["a"], None)
    assert PreviousRun.from_state(bookmark, ["invoices", "invoice_line_items"]) is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"head_invoice_ids": "a,b"}, "head_invoice_ids in the state must be a list"),
        ({"open_invoices": {"bits": 64, "hashes": 7, "data": ""}}, "not written by this version"),
        ({"open_invoices": {"bits": 131072, "hashes": 7, "data": "AAAA"}}, "damaged"),
    ],
)
def test_a_damaged_bookmark_is_refused_with_a_clear_message(damage, message):
    _, bookmark = run(["a"], None)
    with pytest.raises(StateError, match=message):
        PreviousRun.from_state({**bookmark, **damage}, SELECTED)
