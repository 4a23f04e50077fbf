"""The incremental plan on its own: which listed invoices need a detail, in either list order."""

from __future__ import annotations

import pytest

from tap_invoicing.core.bookmark import BookmarkMismatchError, BookmarkScope, read_bookmark
from tap_invoicing.core.plans.open_invoices import (
    OpenInvoicePlan,
    OpenInvoiceRules,
    PreviousRun,
    previous_run_of,
)
from tap_invoicing.errors import StateError

SCOPE = BookmarkScope("cybersource", "https://api.example", "acct", None, ("invoices",))


def run(listing: list[str], previous: PreviousRun | None, open_ids=frozenset()) -> tuple[set, dict]:
    """One pass over ``listing`` (no createdDate, all closed but ``open_ids``)."""
    rules = OpenInvoiceRules(
        is_open=lambda item: item["open"],
        created=lambda item: None,
        server_time=lambda payload: "2026-01-01T00:00:00.000000000Z",
    )
    plan = OpenInvoicePlan(previous, SCOPE, rules)
    plan.note_page({}, listing[:25], None, None)
    read = set()
    for invoice_id in listing:
        item = {"open": invoice_id in open_ids}
        if plan.needs_detail(invoice_id, item):
            read.add(invoice_id)
        plan.note_read(invoice_id, item, {"invoice_line_items": 2})
    return read, plan.next_bookmark("submitTimeUtc")


def previous_of(bookmark: dict, scope: BookmarkScope = SCOPE) -> PreviousRun:
    previous = read_bookmark(bookmark, scope, PreviousRun.FIELDS, PreviousRun.parse)
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


@pytest.mark.parametrize("newest_first", [True, False])
def test_an_open_previous_head_is_still_recognised_as_the_previous_list(newest_first):
    old = [f"inv-{n:03}" for n in range(100)]
    newest = old[-10:]  # the newest invoices are unpaid: open on both runs
    new = ["inv-100", "inv-101"]
    order = (lambda ids: ids[::-1]) if newest_first else (lambda ids: ids)
    _, bookmark = run(order(old), None, open_ids=set(newest))
    second_read, _ = run(order(old + new), previous_of(bookmark), open_ids={*newest, *new})
    assert second_read == {*newest, *new}


def test_open_invoices_are_remembered_with_their_rows_and_the_missing_ones_asked_about():
    _, bookmark = run(["a", "b", "c", "d"], None, open_ids={"b", "c"})
    assert bookmark["remembered"] == {
        "streams": ["invoice_line_items"],
        "invoices": {"b": [2], "c": [2]},
        "gone": [],
    }
    previous = previous_of(bookmark)
    rules = OpenInvoiceRules(
        is_open=lambda item: item["open"], created=lambda item: None, server_time=lambda p: None
    )
    plan = OpenInvoicePlan(previous, SCOPE, rules)
    for invoice_id in ("a", "c", "d"):  # b is no longer listed
        plan.needs_detail(invoice_id, {"open": False})
    assert list(plan.unlisted()) == ["b"]
    assert plan.previous_children("b") == {"invoice_line_items": 2}
    assert plan.previous_children("a") is None
    plan.note_gone("b")
    plan.note_read("c", {"open": False}, {"invoice_line_items": 1})
    remembered = plan.next_bookmark("submitTimeUtc")["remembered"]
    assert remembered == {"streams": [], "invoices": {}, "gone": ["b"]}
    again = OpenInvoicePlan(previous_of({**bookmark, "remembered": remembered}), SCOPE, rules)
    assert again.needs_detail("b", {"open": False}), "a gone invoice listed again is read"
    assert list(again.unlisted()) == [], "a gone invoice is not asked about twice"


def test_the_state_grows_with_open_invoices_only():
    sizes = {}
    for closed in (100, 20_000):
        listing = [f"closed-{n}" for n in range(closed)] + [f"open-{n}" for n in range(500)]
        _, bookmark = run(listing, None, open_ids={f"open-{n}" for n in range(500)})
        sizes[closed] = len(str(bookmark))
    assert sizes[100] == sizes[20_000]


def test_a_bookmark_for_fewer_streams_is_not_used():
    _, bookmark = run(["a"], None)
    wider = BookmarkScope("cybersource", "https://api.example", "acct", None, ("a", "invoices"))
    with pytest.raises(BookmarkMismatchError, match="streams a were not selected"):
        previous_of(bookmark, wider)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"head_invoice_ids": "a,b"}, "head_invoice_ids in the state must be a list"),
        ({"remembered": {"streams": [], "invoices": {}}}, "not written by this version"),
        ({"remembered": {"streams": ["x"], "invoices": {"a": []}, "gone": []}}, "not written by"),
        ({"remembered": {"streams": ["x"], "invoices": {"a": ["2"]}, "gone": []}}, "not written"),
        ({"head_invoice_ids": None}, "head_invoice_ids in the state must be a list"),
    ],
)
def test_a_damaged_bookmark_is_refused_with_a_clear_message(damage, message):
    _, bookmark = run(["a"], None)
    with pytest.raises(StateError, match=message):
        previous_of({**bookmark, **damage})


def test_a_checkpoint_resumes_reading_only_what_may_have_changed_and_the_rest():
    rules = OpenInvoiceRules(
        is_open=lambda item: item["open"],
        created=lambda item: None,
        server_time=lambda payload: "2026-01-01T00:00:00Z",
    )
    listing = [f"inv-{n:03}" for n in range(100, 0, -1)]  # newest first
    still_open = {"inv-090", "inv-030"}
    stopped = OpenInvoicePlan(None, SCOPE, rules)
    stopped.note_page({}, listing[:25], None, None)
    for invoice_id in listing[:60]:  # the pass handled the first 60, then stopped
        item = {"open": invoice_id in still_open}
        assert stopped.needs_detail(invoice_id, item)
        stopped.note_read(invoice_id, item, {"invoice_line_items": 1})
    checkpoint = stopped.checkpoint("submitTimeUtc", listing[50:60], ["inv-030"], 60)
    assert checkpoint is not None

    previous, resumption = read_bookmark(checkpoint, SCOPE, PreviousRun.FIELDS, previous_run_of)
    resumed = OpenInvoicePlan(previous, SCOPE, rules, resumption)
    resumed.note_page({}, ["inv-101", *listing[:24]], None, None)
    read = {
        invoice_id
        for invoice_id in ["inv-101", *listing]  # one invoice created meanwhile
        if resumed.needs_detail(invoice_id, {"open": invoice_id in still_open})
    }
    assert read == {"inv-101", "inv-090", "inv-030", *listing[60:]}, "new, open, the rest"


def test_a_checkpoint_waits_until_the_pass_has_handled_its_first_ids():
    rules = OpenInvoiceRules(
        is_open=lambda item: False, created=lambda item: None, server_time=lambda payload: "t"
    )
    plan = OpenInvoicePlan(None, SCOPE, rules)
    plan.note_page({}, ["a", "b", "c"], None, None)
    assert plan.checkpoint("submitTimeUtc", ["a"], [], 1) is None
    assert plan.checkpoint("submitTimeUtc", ["c"], [], 3) is not None
