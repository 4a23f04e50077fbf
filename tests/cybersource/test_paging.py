"""Offset paging: the end of the list, and a list that shifts while it is read."""

from __future__ import annotations

import pytest

from tap_invoicing.core.listing import OffsetListing
from tap_invoicing.errors import TapInvoicingError
from tap_invoicing.sandbox import Sandbox
from tests.conftest import run_sync


def is_later_list_page(incoming) -> bool:
    return incoming.kind == "list" and incoming.query.get("offset", "0") != "0"


def test_an_empty_account_ends_on_the_404_and_commits_a_bookmark(caplog):
    with Sandbox(provider="cybersource", invoices=0, seed=1) as sb:
        result = run_sync(sb.tap_config())
        assert result.ids() == []
        assert [r.status for r in sb.requests] == [404]
        assert "listed no invoices" in caplog.text
        assert "remembered" in result.state["bookmarks"]["invoices"]


def test_a_404_past_the_end_ends_the_list(sandbox, config):
    def shrink_the_list_once(incoming) -> None:
        if is_later_list_page(incoming) and len(sandbox.invoice_ids()) > 20:
            for invoice_id in sandbox.invoice_ids()[20:]:
                sandbox.api.delete(invoice_id)

    sandbox.on_request(shrink_the_list_once)
    result = run_sync(config)
    assert set(sandbox.invoice_ids()) <= set(result.ids())
    assert 404 in [r.status for r in sandbox.requests if r.kind == "list"]


def test_invoices_created_while_paging_are_emitted_once_and_nothing_is_lost(sandbox, config):
    original = set(sandbox.invoice_ids())
    paging = [True]

    def create_two_per_page(incoming) -> None:
        if paging[0] and is_later_list_page(incoming):
            sandbox.api.add(2)

    sandbox.on_request(create_two_per_page)
    first = run_sync(config)
    assert original <= set(first.ids())
    assert len(first.ids()) == len(set(first.ids()))
    paging[0] = False
    second = run_sync(config, state=first.state)
    assert set(sandbox.invoice_ids()) <= set(first.ids()) | set(second.ids())


def test_invoices_removed_ahead_of_the_reader_skip_nothing(sandbox, config):
    removed: list[str] = []

    def remove_from_first_page(incoming) -> None:
        if is_later_list_page(incoming) and not removed:
            removed.extend(sandbox.invoice_ids()[:12])
            for invoice_id in removed:
                sandbox.api.delete(invoice_id)

    sandbox.on_request(remove_from_first_page)
    result = run_sync(config)
    assert removed
    assert set(sandbox.invoice_ids()) <= set(result.ids())


def test_listing_overlaps_pages_and_steps_back_on_a_gap():
    listing = OffsetListing(page_size=20)
    assert listing.accept([f"i{n}" for n in range(20)], total=100) == [True] * 20
    assert listing.offset == 15
    fresh = listing.accept([f"i{n}" for n in range(15, 35)], total=100)
    assert fresh == [False] * 5 + [True] * 15
    assert listing.offset == 30
    listing.accept([f"j{n}" for n in range(20)], total=100)
    assert listing.offset == 15, "a page sharing nothing with what was read means a gap"
    assert not listing.finished


def test_listing_ends_only_where_the_api_says_not_at_its_total_or_a_short_page():
    listing = OffsetListing(page_size=20)
    listing.accept([f"i{n}" for n in range(20)], total=20)
    assert not listing.finished, "a total can be wrong"
    listing.accept([f"i{n}" for n in range(15, 22)], total=None)
    assert not listing.finished, "a short page with new invoices can sit mid-list"
    assert listing.offset == 17
    listing.accept([f"i{n}" for n in range(17, 22)], total=None)
    assert (listing.offset, listing.finished) == (22, False)
    listing.accept([], total=None)
    assert listing.finished


def test_listing_ends_on_a_second_fruitless_page_when_it_is_short():
    listing = OffsetListing(page_size=20)
    listing.accept([f"i{n}" for n in range(20)], total=None)
    listing.accept([f"i{n}" for n in range(15, 20)], total=None)  # invoices pushed on: read
    assert not listing.finished
    listing.accept([f"i{n}" for n in range(18, 20)], total=None)
    assert listing.finished


def test_an_empty_account_warns_and_a_missing_route_fails():
    listing = OffsetListing(page_size=20)
    listing.end(is_end_answer=True)
    assert listing.finished
    with pytest.raises(TapInvoicingError, match="HTTP 404 for the invoice list"):
        OffsetListing(page_size=20).end(is_end_answer=False)
