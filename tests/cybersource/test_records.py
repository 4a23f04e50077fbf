"""A full sync: complete, schema-valid, digit-exact records from one detail request each."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft7Validator

from tap_invoicing.core.schemas import TAP_FIELDS
from tests.conftest import catalog_selecting, exact, run_sync, without_clock


def test_every_invoice_once_with_one_detail_request_each(sandbox, config):
    result = run_sync(config)
    assert sorted(result.ids()) == sorted(sandbox.invoice_ids())
    assert len(result.ids()) == len(set(result.ids()))
    assert sorted(sandbox.detail_requests()) == sorted(sandbox.invoice_ids())


def test_invoices_match_the_api_detail_exactly(sandbox, config):
    result = run_sync(config)
    for record in result.records("invoices"):
        assert exact(without_clock(record)) == exact(without_clock(sandbox.invoice(record["id"])))
        assert record["submitTimeUtc"]


def test_line_items_match_the_api_exactly(sandbox, config):
    result = run_sync(config)
    expected = [
        {**item, "invoiceId": invoice_id, "position": position}
        for invoice_id in sandbox.invoice_ids()
        for position, item in enumerate(
            sandbox.invoice(invoice_id).get("orderInformation", {}).get("lineItems", [])
        )
    ]
    key = lambda r: (r["invoiceId"], r["position"])  # noqa: E731
    records = [without_clock(r) for r in result.records("invoice_line_items")]
    assert exact(sorted(records, key=key)) == exact(sorted(expected, key=key))
    assert expected, "the sandbox data set should have line items"


def test_history_matches_the_api_exactly_and_is_numbered_from_the_oldest(sandbox, config):
    result = run_sync(config)
    expected = [
        {**event, "invoiceId": invoice_id, "sequence": sequence}
        for invoice_id in sandbox.invoice_ids()
        for sequence, event in enumerate(
            reversed(sandbox.invoice(invoice_id).get("invoiceHistory", [])), start=1
        )
    ]
    key = lambda r: (r["invoiceId"], r["sequence"])  # noqa: E731
    records = [without_clock(r) for r in result.records("invoice_history")]
    assert exact(sorted(records, key=key)) == exact(sorted(expected, key=key))


def test_amounts_keep_their_decimal_digits(sandbox, config):
    result = run_sync(config)
    totals = {
        r["id"]: r["orderInformation"]["amountDetails"]["totalAmount"]
        for r in result.records("invoices")
    }
    served = {
        i: sandbox.invoice(i)["orderInformation"]["amountDetails"]["totalAmount"]
        for i in sandbox.invoice_ids()
    }
    assert {i: str(v) for i, v in totals.items()} == {i: str(v) for i, v in served.items()}
    assert all(isinstance(v, Decimal | int) for v in totals.values()), "no strings, no floats"


def test_every_record_validates_against_its_schema(sandbox, config):
    result = run_sync(config)
    schemas = result.schemas()
    assert set(schemas) == {"invoices", "invoice_line_items", "invoice_history"}
    for stream, message in schemas.items():
        validator = Draft7Validator(
            message["schema"], format_checker=Draft7Validator.FORMAT_CHECKER
        )
        records = result.records(stream)
        assert records
        for record in records:
            errors = list(validator.iter_errors(record))
            assert not errors, (stream, record, errors[0].message)


def test_streams_declare_their_keys(sandbox, config):
    schemas = run_sync(config).schemas()
    assert schemas["invoices"]["key_properties"] == ["id"]
    assert schemas["invoice_line_items"]["key_properties"] == ["invoiceId", "position"]
    assert schemas["invoice_history"]["key_properties"] == ["invoiceId", "sequence"]
    assert schemas["invoices"]["bookmark_properties"] == ["submitTimeUtc"]


def test_only_a_child_stream_selected_still_reads_details_once(sandbox, config):
    catalog = catalog_selecting(config, {"invoice_line_items"})
    result = run_sync(config, catalog=catalog)
    assert not result.records("invoices")
    assert {r["invoiceId"] for r in result.records("invoice_line_items")} <= set(
        sandbox.invoice_ids()
    )
    assert sorted(sandbox.detail_requests()) == sorted(sandbox.invoice_ids())


@pytest.mark.parametrize(
    ("child", "path", "added"),
    [
        ("invoice_line_items", ("orderInformation", "lineItems"), {"invoiceId", "position"}),
        ("invoice_history", ("invoiceHistory",), {"invoiceId", "sequence"}),
    ],
)
def test_child_schemas_mirror_the_invoice_parts_they_come_from(sandbox, config, child, path, added):
    """Child records are parts of the conformed invoice, so they skip the SDK's conformance:
    that is only sound while each child schema declares what the invoice schema declares there."""
    schemas = {name: message["schema"] for name, message in run_sync(config).schemas().items()}
    part = schemas["invoices"]
    for key in path:
        part = part["properties"][key]
    part = part["items"]
    own = {
        k: v for k, v in schemas[child]["properties"].items() if k not in added | set(TAP_FIELDS)
    }
    assert own == part["properties"]
    assert schemas[child].get("additionalProperties") == part.get("additionalProperties")
