"""CyberSource backfills: ``start_date`` and ``end_date`` select the invoices created in the range,
by the list's ``createdDate``, else the detail's oldest history event, both ends exact (the start
inclusive, the end exclusive); an invoice outside costs no detail when the list dates it, one
with no date is kept, and a bookmark made for one range never lets another run skip invoices."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from tap_invoicing.core.dates import parse_time
from tap_invoicing.providers import PROVIDERS
from tap_invoicing.sandbox import Fault, Sandbox
from tap_invoicing.settings import check_settings
from tests.conftest import run_sync

LIST = "/invoicing/v2/invoices"
OPEN = {"DRAFT", "CREATED", "SENT", "PARTIAL", "PENDING"}


def listed_items(sandbox: Sandbox, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The list items as the tap reads them (one run without a range, its pages watched)."""
    seen: dict[str, dict[str, Any]] = {}

    def watch(page: Any) -> Any:
        seen.update({item["id"]: item for item in page.get("invoices", [])})
        return page

    sandbox.inject(Fault(kind="rewrite", route="list", rewrite=watch, times=None))
    run_sync(config)
    sandbox.clear_faults()
    sandbox.clear_requests()
    return seen


def oldest_event(sandbox: Sandbox, invoice_id: str) -> datetime:
    dates = [parse_time(event["date"]) for event in sandbox.invoice(invoice_id)["invoiceHistory"]]
    return min(date for date in dates if date)


def creation_dates(sandbox: Sandbox, items: dict[str, dict[str, Any]]) -> dict[str, datetime]:
    """Each invoice's date as the tap reads it: ``createdDate``, else the oldest event."""
    return {
        invoice_id: parse_time(item.get("createdDate")) or oldest_event(sandbox, invoice_id)
        for invoice_id, item in items.items()
    }


def in_range(dates: dict[str, datetime], start: datetime | None, end: datetime | None) -> set:
    return {
        i for i, d in dates.items() if (start is None or start <= d) and (end is None or d < end)
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_range_is_exact_at_both_ends_and_the_list_spares_details(sandbox, config):
    items = listed_items(sandbox, config)
    dates = creation_dates(sandbox, items)
    dated = sorted((d, i) for i, d in dates.items() if "createdDate" in items[i])
    (start, on_start), (end, on_end) = dated[10], dated[40]

    result = run_sync({**config, "start_date": iso(start), "end_date": iso(end)})

    expected = in_range(dates, start, end)
    assert on_start in expected
    assert on_end not in expected
    assert sorted(result.ids()) == sorted(expected)
    for stream in ("invoice_line_items", "invoice_history"):
        assert {row["invoiceId"] for row in result.records(stream)} <= expected
    # A detail is read for what the list dates in the range, and for what it does not date.
    undated = {i for i, item in items.items() if "createdDate" not in item}
    assert set(sandbox.detail_requests()) == expected | undated
    assert undated - expected, "some undated invoices were read and left out by their history"


def test_an_invoice_the_list_does_not_date_is_placed_by_its_oldest_history_event(sandbox, config):
    items = listed_items(sandbox, config)
    dates = creation_dates(sandbox, items)
    undated = sorted((dates[i], i) for i, item in items.items() if "createdDate" not in item)
    (start, on_start), (end, on_end) = undated[0], undated[-1]

    result = run_sync({**config, "start_date": iso(start), "end_date": iso(end)})

    assert on_start in result.ids()
    assert on_end not in result.ids()
    assert sorted(result.ids()) == sorted(in_range(dates, start, end))


def test_an_invoice_with_no_date_at_all_is_kept(sandbox, config):
    items = listed_items(sandbox, config)
    dates = creation_dates(sandbox, items)
    oldest = min(dates, key=dates.__getitem__)
    start = max(dates.values()) + timedelta(seconds=1)  # after every invoice

    def undate(payload: Any) -> Any:
        pages = payload.get("invoices", [payload])
        for invoice in pages:
            if invoice.get("id") == oldest:
                invoice.pop("createdDate", None)
                invoice["invoiceHistory"] = []
        return payload

    sandbox.inject(Fault(kind="rewrite", path_prefix=LIST, rewrite=undate, times=None))
    result = run_sync({**config, "start_date": iso(start)})

    assert result.ids() == [oldest]
    [record] = result.records("invoices")
    assert record["invoiceHistory"] == []


def open_ids(sandbox: Sandbox) -> set[str]:
    return {i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] in OPEN}


def mismatches(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings of runs whose bookmark did not fit (each made a full pass)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "does not fit this run" in r.getMessage()
    ]


def test_a_later_start_date_reads_every_change_in_its_range_incrementally(sandbox, config, caplog):
    items = listed_items(sandbox, config)
    dates = creation_dates(sandbox, items)
    was_open = open_ids(sandbox)
    payable = sorted(
        (i for i in was_open if sandbox.invoice(i)["status"] in {"SENT", "CREATED"}),
        key=dates.__getitem__,
    )
    assert len(payable) >= 4
    start = dates[payable[len(payable) // 2]]
    first = run_sync(config)  # the whole account, no range

    inside, outside = payable[-1], payable[0]
    sandbox.api.pay(inside)
    sandbox.api.pay(outside)
    new = sandbox.api.add(2)
    sandbox.clear_requests()
    caplog.clear()

    later = run_sync({**config, "start_date": iso(start)}, state=first.state)

    assert not mismatches(caplog), "a later start_date needs no full pass"
    written = set(later.ids())
    assert {inside, *new} <= written
    assert outside not in written
    assert all(dates[i] >= start for i in written - set(new))
    paid = later.records("invoices")[later.ids().index(inside)]
    assert paid["status"] == sandbox.invoice(inside)["status"] == "PAID"
    # Only what may have changed was read: what was open, and the new invoices.
    assert set(sandbox.detail_requests()) <= was_open | set(new)


def test_a_bookmark_made_with_an_end_date_never_lets_a_wider_run_skip_the_rest(
    sandbox, config, caplog
):
    items = listed_items(sandbox, config)
    dates = creation_dates(sandbox, items)
    start, middle, late = (sorted(dates.values())[n] for n in (10, 30, 50))
    quarter = {**config, "start_date": iso(start), "end_date": iso(middle)}
    backfill = run_sync(quarter)
    assert sorted(backfill.ids()) == sorted(in_range(dates, start, middle))
    assert backfill.state["bookmarks"]["invoices"]["made_for"]["end_date"]

    caplog.clear()
    unbounded = run_sync({**config, "start_date": iso(start)}, state=backfill.state)
    assert sorted(unbounded.ids()) == sorted(in_range(dates, start, None))
    [mismatch] = mismatches(caplog)
    assert f"made with end_date {middle.isoformat()} and this run reads until no end_date" in (
        mismatch
    )

    caplog.clear()
    later_end = run_sync({**quarter, "end_date": iso(late)}, state=backfill.state)
    assert sorted(later_end.ids()) == sorted(in_range(dates, start, late))
    assert len(mismatches(caplog)) == 1

    caplog.clear()
    again = run_sync(quarter, state=backfill.state)  # the same range: incremental
    narrower = run_sync({**quarter, "end_date": iso(middle - timedelta(days=1))}, backfill.state)
    assert not mismatches(caplog)
    assert set(again.ids()) < set(backfill.ids())
    assert set(narrower.ids()) <= set(again.ids())


@pytest.mark.parametrize(
    ("dates", "error"),
    [
        ({"end_date": "next quarter"}, "end_date: is not an ISO 8601 date or date-time"),
        ({"start_date": "2026-04-01", "end_date": "2026-01-01"}, "end_date: must be after"),
        ({"start_date": "2026-04-01", "end_date": "2026-04-01T00:00:00Z"}, "end_date: must be"),
    ],
)
def test_a_range_that_cannot_be_is_refused_before_any_request(
    sandbox: Sandbox, config: dict[str, Any], dates: dict[str, str], error: str
) -> None:
    errors = check_settings({**config, **dates}, PROVIDERS)
    assert any(line.startswith(error) for line in errors), errors


def test_dates_with_an_offset_or_no_time_are_read_as_instants(config):
    quarter = {"start_date": "2026-01-01", "end_date": "2026-04-01"}
    assert check_settings({**config, **quarter}, PROVIDERS) == []
    offset = {"start_date": "2026-01-01T01:00:00+02:00", "end_date": "2026-01-01"}  # 23:00 UTC
    assert check_settings({**config, **offset}, PROVIDERS) == []
