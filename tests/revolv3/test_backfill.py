"""Revolv3 backfills: ``start_date`` and ``end_date`` select the invoices by ``billingDate`` (the
API has no creation date), a day counted from 00:00 UTC, compared by the tap on the list items:
no detail is read for an invoice outside the range, an invoice with no billing date is kept, and
a retry that moves an invoice's billing date into the range brings it in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tap_invoicing.providers.revolv3.dates import billing_date_iso
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import run_sync
from tests.revolv3.conftest import invoice_ids, list_queries

ATTEMPTABLE = {"Pending", "Recycle", "Failed", "Noncollectable"}


def billed(sandbox: Sandbox) -> dict[str, date]:
    """Each invoice's ``billingDate``, as a day."""
    return {
        i: date.fromisoformat(billing_date_iso(sandbox.invoice(i)["billingDate"]) or "")
        for i in sandbox.invoice_ids()
    }


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def in_range(days: dict[str, date], start: datetime | None, end: datetime | None) -> set:
    return {
        i
        for i, day in days.items()
        if (start is None or start <= midnight(day)) and (end is None or midnight(day) < end)
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_billing_day_selects_with_the_start_day_in_and_the_end_day_out(revolv3, revolv3_config):
    days = billed(revolv3)
    distinct = sorted(set(days.values()))
    start, end = midnight(distinct[10]), midnight(distinct[40])

    result = run_sync({**revolv3_config, "start_date": iso(start), "end_date": iso(end)})

    expected = in_range(days, start, end)
    assert {i for i, day in days.items() if day == distinct[10]} <= expected
    assert not {i for i, day in days.items() if day == distinct[40]} & expected
    assert sorted(invoice_ids(result)) == sorted(expected)
    assert set(revolv3.detail_requests()) == expected, "no detail outside the range"
    # The range is the tap's: the list is read without a billing or last-update bound.
    for query in list_queries(revolv3):
        assert not {"billingStartDate", "billingEndDate", "lastUpdateStartDate"} & set(query)


def test_a_start_within_a_day_leaves_that_day_out(revolv3, revolv3_config):
    days = billed(revolv3)
    day = sorted(set(days.values()))[20]
    start = midnight(day) + timedelta(hours=1)
    result = run_sync({**revolv3_config, "start_date": iso(start)})
    assert sorted(invoice_ids(result)) == sorted(in_range(days, start, None))
    assert not {i for i, billed_on in days.items() if billed_on == day} & set(invoice_ids(result))


def test_an_invoice_without_a_billing_date_is_kept(revolv3, revolv3_config):
    days = billed(revolv3)
    oldest = min(days, key=days.__getitem__)
    start = midnight(max(days.values())) + timedelta(days=1)  # after every invoice

    def undate(payload: Any) -> Any:
        for invoice in payload if isinstance(payload, list) else [payload]:
            if str(invoice.get("invoiceId")) == oldest:
                invoice["billingDate"] = None
        return payload

    revolv3.inject(Fault(kind="rewrite", path_prefix="/api/Invoices", rewrite=undate, times=None))
    result = run_sync({**revolv3_config, "start_date": iso(start)})

    assert invoice_ids(result) == [oldest]
    assert result.records("invoices")[0]["billingDateIso"] is None


def test_a_retry_moves_an_invoice_into_the_range_of_the_next_run(revolv3, revolv3_config):
    days = billed(revolv3)
    retried = min(
        (i for i in revolv3.invoice_ids() if revolv3.invoice(i)["invoiceStatus"] in ATTEMPTABLE),
        key=days.__getitem__,
    )
    start = midnight(days[retried]) + timedelta(days=1)
    config = {**revolv3_config, "start_date": iso(start)}
    first = run_sync(config)
    assert retried not in invoice_ids(first)

    revolv3.api.add_attempt(retried, success=True)  # billed again today
    second = run_sync(config, state=first.state)

    assert retried in invoice_ids(second)
    record = second.records("invoices")[invoice_ids(second).index(retried)]
    assert record["billingDateIso"] == datetime.now(UTC).date().isoformat()
