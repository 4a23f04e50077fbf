"""Revolv3 list paging: short pages end a window, a page cap splits it, no order is relied on."""

from __future__ import annotations

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import run_sync
from tests.revolv3.conftest import fast, invoice_ids, list_queries


@pytest.mark.parametrize("past_max_page", ["400", "empty"])
def test_a_window_needing_more_pages_than_served_is_split(past_max_page):
    with Sandbox(
        provider="revolv3",
        invoices=180,
        seed=24,
        rate_limits=(),
        max_page=3,
        past_max_page=past_max_page,
        list_shape="full",
    ) as sandbox:
        config = {**fast(sandbox), "page_size": 20, "max_list_pages": 3}
        result = run_sync(config)
        queries = list_queries(sandbox)
        assert sorted(invoice_ids(result)) == sorted(sandbox.invoice_ids())
        assert len(invoice_ids(result)) == len(set(invoice_ids(result)))
    windows = {(q.get("lastUpdateStartDate"), q["lastUpdateEndDate"]) for q in queries}
    assert len(windows) > 3, "the 180 invoices needed windows of at most 60"
    assert max(int(q["page"]) for q in queries) <= 3


def test_a_400_past_the_cap_splits_even_when_the_cap_setting_is_higher():
    with Sandbox(
        provider="revolv3", invoices=150, seed=25, rate_limits=(), max_page=2, list_shape="full"
    ) as sandbox:
        result = run_sync({**fast(sandbox), "page_size": 25})
        assert sorted(invoice_ids(result)) == sorted(sandbox.invoice_ids())
        assert any(r.status == 400 for r in sandbox.requests)


@pytest.mark.parametrize("order", ["id_asc", "last_update_desc", "shuffled"])
def test_no_list_order_is_relied_on(order):
    with Sandbox(
        provider="revolv3", invoices=90, seed=26, rate_limits=(), default_order=order
    ) as sandbox:
        result = run_sync({**fast(sandbox), "page_size": 20})
        assert sorted(invoice_ids(result)) == sorted(sandbox.invoice_ids())


def test_pages_carry_the_documented_parameters(revolv3, revolv3_config):
    run_sync(revolv3_config)
    queries = list_queries(revolv3)
    assert [int(q["page"]) for q in queries] == list(range(1, len(queries) + 1))
    assert {q["pageSize"] for q in queries} == {"25"}
    assert all("lastUpdateEndDate" in q for q in queries)
