"""A full Revolv3 sync: every invoice, line item and attempt, schema-valid and digit-exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft7Validator

from tap_invoicing.providers.revolv3.dates import attempt_time_iso, billing_date_iso
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import exact, run_sync
from tests.revolv3.conftest import fast, invoice_ids

ADDED_FIELDS = {"billingDateIso", "lastUpdateEndDate", "extraFields"}
ADDED_ATTEMPT_FIELDS = {"invoiceAttemptDateIso", "processorResponseDateTimeIso"}


def as_served(record: dict) -> dict:
    """An invoice record less the fields the tap adds, with its unlisted fields back in place."""
    served = {key: value for key, value in record.items() if key not in ADDED_FIELDS}
    served.update(record.get("extraFields") or {})
    served["invoiceAttempts"] = [
        {key: value for key, value in attempt.items() if key not in ADDED_ATTEMPT_FIELDS}
        for attempt in record.get("invoiceAttempts") or []
    ] or record.get("invoiceAttempts")
    return served


def test_discovery_shows_only_revolv3_streams(revolv3_config):
    catalog = TapInvoicing(config=revolv3_config).catalog_dict
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(streams) == {"invoices", "invoice_line_items", "invoice_attempts"}
    keys = {name: list(entry["key_properties"]) for name, entry in streams.items()}
    assert keys == {
        "invoices": ["invoiceId"],
        "invoice_line_items": ["invoiceLineItemId"],
        "invoice_attempts": ["invoiceAttemptId"],
    }
    assert streams["invoices"]["replication_key"] == "lastUpdateEndDate"


def test_every_invoice_once_matching_the_api_exactly(revolv3, revolv3_config):
    result = run_sync(revolv3_config)
    assert sorted(invoice_ids(result)) == sorted(revolv3.invoice_ids())
    assert len(set(invoice_ids(result))) == len(invoice_ids(result))
    assert sorted(revolv3.detail_requests()) == sorted(revolv3.invoice_ids())
    for record in result.records("invoices"):
        assert exact(as_served(record)) == exact(revolv3.invoice(str(record["invoiceId"])))


def test_line_items_and_attempts_match_the_api_exactly(revolv3, revolv3_config):
    result = run_sync(revolv3_config)
    details = [revolv3.invoice(invoice_id) for invoice_id in revolv3.invoice_ids()]
    line_items = [item for detail in details for item in detail.get("invoiceLineItems") or []]
    attempts = [
        {**attempt, "invoiceId": detail["invoiceId"]}
        for detail in details
        for attempt in detail.get("invoiceAttempts") or []
    ]
    assert line_items and attempts, "the sandbox data set should have both"
    emitted_items = {r["invoiceLineItemId"]: r for r in result.records("invoice_line_items")}
    assert set(emitted_items) == {item["invoiceLineItemId"] for item in line_items}
    for item in line_items:
        record = dict(emitted_items[item["invoiceLineItemId"]])
        record.update(record.pop("extraFields") or {})
        assert exact(record) == exact(item)
    emitted_attempts = {r["invoiceAttemptId"]: r for r in result.records("invoice_attempts")}
    assert set(emitted_attempts) == {attempt["invoiceAttemptId"] for attempt in attempts}
    for attempt in attempts:
        record = dict(emitted_attempts[attempt["invoiceAttemptId"]])
        record.update(record.pop("extraFields") or {})
        assert record.pop("invoiceAttemptDateIso") == attempt_time_iso(
            attempt["invoiceAttemptDate"]
        )
        assert record.pop("processorResponseDateTimeIso") == attempt_time_iso(
            attempt.get("processorResponseDateTime")
        )
        assert exact(record) == exact(attempt)
        assert isinstance(record["amount"], Decimal)


def test_every_record_is_valid_against_its_schema(revolv3_config):
    result = run_sync(revolv3_config)
    schemas = result.schemas()
    assert set(schemas) == {"invoices", "invoice_line_items", "invoice_attempts"}
    for stream, message in schemas.items():
        validator = Draft7Validator(
            message["schema"], format_checker=Draft7Validator.FORMAT_CHECKER
        )
        records = result.records(stream)
        assert records, stream
        for record in records:
            validator.validate(record)


def test_dates_keep_their_raw_form_beside_an_iso_companion(revolv3, revolv3_config):
    result = run_sync(revolv3_config)
    forms = set()
    for record in result.records("invoices"):
        raw = record["billingDate"]
        assert raw == revolv3.invoice(str(record["invoiceId"]))["billingDate"]
        assert record["billingDateIso"] == billing_date_iso(raw)
        if raw:
            assert record["billingDateIso"] is not None, raw
            forms.add("slash" if "/" in raw else "dash")
        assert record["lastUpdateEndDate"].endswith("Z")
    assert forms == {"slash", "dash"}, "the sandbox serves both documented forms"
    attempt_dates = [r["invoiceAttemptDate"] for r in result.records("invoice_attempts")]
    assert any(date.endswith("Z") for date in attempt_dates)
    assert any(not date.endswith("Z") for date in attempt_dates)


def test_fields_the_docs_do_not_list_are_kept():
    with Sandbox(provider="revolv3", invoices=300, seed=30, rate_limits=()) as sandbox:
        result = run_sync(fast(sandbox))
        for record in result.records("invoices"):
            served = sandbox.invoice(str(record["invoiceId"]))
            assert exact(as_served(record)) == exact(served)
    on_invoices = [r for r in result.records("invoices") if r["extraFields"]]
    on_attempts = [r for r in result.records("invoice_attempts") if r["extraFields"]]
    assert on_invoices and on_attempts, "the sandbox sends fields the docs do not list"
    nested = [
        attempt
        for record in result.records("invoices")
        for attempt in record["invoiceAttempts"] or []
        if set(attempt) - {"cardBrand"} != set(attempt)
    ]
    assert len(nested) == len(on_attempts)  # kept in the invoice's attempts too


@pytest.mark.parametrize("shape", ["summary", "full"])
def test_both_list_shapes_give_the_whole_invoices(shape):
    with Sandbox(
        provider="revolv3", invoices=120, seed=22, list_shape=shape, rate_limits=()
    ) as sandbox:
        result = run_sync(fast(sandbox))
        details = sandbox.detail_requests()
        lists = [r for r in sandbox.requests if r.kind == "list"]
        for record in result.records("invoices"):
            assert exact(as_served(record)) == exact(sandbox.invoice(str(record["invoiceId"])))
    assert len(invoice_ids(result)) == 120
    assert len(result.records("invoice_attempts")) > 120
    if shape == "full":
        assert details == [] and len(lists) == 2  # 100 + 20: the short page ends the list
    else:
        assert sorted(details) == sorted(invoice_ids(result))


def test_raw_processor_responses_are_asked_for_only_when_set(revolv3, revolv3_config):
    plain = run_sync(revolv3_config)
    assert all(r["processorRawResponse"] is None for r in plain.records("invoice_attempts"))
    assert all("includeRawProcessorResponse" not in r.query for r in revolv3.requests)
    revolv3.clear_requests()
    raw = run_sync({**revolv3_config, "include_raw_processor_response": True})
    responses = [r["processorRawResponse"] for r in raw.records("invoice_attempts")]
    assert any(isinstance(response, str) for response in responses)
    assert all(r.query.get("includeRawProcessorResponse") == "true" for r in revolv3.requests)
