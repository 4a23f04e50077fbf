"""PayPal backfills: ``start_date`` and ``end_date`` select the invoices created in the range
(``detail.metadata.create_time``), filtered by PayPal itself: the search's ``creation_date_range``
from the first page (a second wider at the start, as PayPal does not say whether its ends are
inclusive), then exactly by the tap; windows split past the page cap as for the whole account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tap_invoicing.core.dates import parse_time
from tap_invoicing.providers.paypal.api import LIST_PATH, SEARCH_PATH
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import run_sync
from tests.paypal.conftest import invoice_ids, with_status


def created(sandbox: Sandbox) -> dict[str, datetime]:
    """Each invoice's ``create_time``."""
    return {
        i: parse_time(sandbox.invoice(i)["detail"]["metadata"]["create_time"])
        for i in sandbox.invoice_ids()
    }


def in_range(dates: dict[str, datetime], start: datetime | None, end: datetime | None) -> set:
    return {
        i for i, d in dates.items() if (start is None or start <= d) and (end is None or d < end)
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def searched(sandbox: Sandbox) -> list[str]:
    """Watch the search: the ids each of its pages holds, as PayPal filtered them."""
    seen: list[str] = []

    def watch(page: Any) -> Any:
        seen.extend(item["id"] for item in page.get("items", []))
        return page

    sandbox.inject(Fault(kind="rewrite", path_prefix=SEARCH_PATH, rewrite=watch, times=None))
    return seen


def test_the_search_filters_by_creation_and_the_tap_keeps_the_exact_range(paypal, paypal_config):
    dates = created(paypal)
    ordered = sorted(dates, key=dates.__getitem__)
    on_start, on_end = ordered[20], ordered[50]
    start, end = dates[on_start], dates[on_end]
    listed = searched(paypal)

    result = run_sync({**paypal_config, "start_date": iso(start), "end_date": iso(end)})

    expected = in_range(dates, start, end)
    assert on_start in expected
    assert on_end not in expected
    assert sorted(invoice_ids(result)) == sorted(expected)
    # PayPal served only the range (and the second before it, and its end, which the tap
    # drops): every list request was the search, none the whole list.
    window = in_range(dates, start - timedelta(seconds=1), end + timedelta(seconds=1))
    assert expected <= set(listed) <= window
    assert on_end in listed
    lists = [r for r in paypal.requests if r.kind == "list"]
    assert lists
    assert all(r.method == "POST" and r.path == SEARCH_PATH for r in lists)
    assert not any(r.path == LIST_PATH for r in paypal.requests)
    assert set(paypal.detail_requests()) <= expected


def test_an_invoice_without_a_creation_time_is_kept(paypal, paypal_config):
    dates = created(paypal)
    ordered = sorted(dates, key=dates.__getitem__)
    start, end = dates[ordered[20]], dates[ordered[50]]
    undated = ordered[50]  # on the end: PayPal serves it, the tap would drop it

    def undate(payload: Any) -> Any:
        for invoice in [payload] if "id" in payload else payload.get("items", []):
            if invoice.get("id") == undated:
                del invoice["detail"]["metadata"]["create_time"]
        return payload

    paypal.inject(Fault(kind="rewrite", path_prefix="/v2/invoicing/", rewrite=undate, times=None))
    result = run_sync({**paypal_config, "start_date": iso(start), "end_date": iso(end)})

    assert sorted(invoice_ids(result)) == sorted(in_range(dates, start, end) | {undated})


def test_a_range_past_the_page_cap_is_read_in_creation_windows():
    with Sandbox(provider="paypal", invoices=150, seed=44, max_page=2) as paypal:
        dates = created(paypal)
        ordered = sorted(dates, key=dates.__getitem__)
        start, end = dates[ordered[10]], dates[ordered[120]]
        config = {**paypal.tap_config(), "page_size": 10, "max_list_pages": 2}

        result = run_sync({**config, "start_date": iso(start), "end_date": iso(end)})

        assert sorted(invoice_ids(result)) == sorted(in_range(dates, start, end))
        assert len(invoice_ids(result)) == len(set(invoice_ids(result)))
        assert not any(r.status >= 400 for r in paypal.requests)
        assert sum(1 for r in paypal.requests if r.kind == "list") > 110 // 10


def test_an_incremental_run_with_a_start_date_reads_every_change_in_its_range(
    paypal, paypal_config
):
    dates = created(paypal)
    sent = sorted(with_status(paypal, "SENT"), key=dates.__getitem__)
    assert len(sent) >= 3
    outside, inside = sent[0], sent[len(sent) // 2]
    start = dates[inside]
    assert start < datetime.now().astimezone() - timedelta(hours=1), "new invoices are later"
    config = {**paypal_config, "start_date": iso(start)}
    first = run_sync(config)
    assert sorted(invoice_ids(first)) == sorted(in_range(dates, start, None))

    paypal.api.pay(inside)
    paypal.api.pay(outside)
    new = paypal.api.add(2)
    paypal.clear_requests()
    second = run_sync(config, state=first.state)

    written = set(invoice_ids(second))
    assert {inside, *new} <= written
    assert outside not in written
    assert outside not in paypal.detail_requests()
    paid = second.records("invoices")[invoice_ids(second).index(inside)]
    assert paid["status"] == "PAID"


def test_a_range_in_the_future_lists_nothing_and_fails_nothing(paypal, paypal_config):
    soon = datetime.now().astimezone() + timedelta(days=30)
    result = run_sync({**paypal_config, "start_date": iso(soon)})
    assert invoice_ids(result) == []
    assert not any(r.status >= 400 for r in paypal.requests)
