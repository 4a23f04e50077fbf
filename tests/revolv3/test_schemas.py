"""The Revolv3 schema files: valid Draft 7, the child streams mirror the invoice's parts, and
invoices shaped like the docs' examples validate once the tap's added fields are filled in."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tap_invoicing.core.schemas import TAP_FIELDS, load_schema
from tap_invoicing.providers import PROVIDERS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "revolv3"

CHILDREN = {"invoice_line_items": "invoiceLineItems", "invoice_attempts": "invoiceAttempts"}
"""Child stream -> the invoice array whose entries it emits one per record."""

ADDED_TO_CHILDREN = {"invoiceId", *TAP_FIELDS}
"""Top-level child fields that are not copied from the invoice's entry schema."""

KEYS = {
    "invoices": "invoiceId",
    "invoice_line_items": "invoiceLineItemId",
    "invoice_attempts": "invoiceAttemptId",
}

SEED_FIELDS = {
    (): (
        "invoiceId",
        "parentInvoiceId",
        "customerId",
        "merchantInvoiceRefId",
        "paymentMethod",
        "invoiceStatus",
        "subtotal",
        "tax",
        "total",
        "billingDate",
        "merchantLegalName",
        "merchantCustomerRefId",
        "customerFirstName",
        "customerLastName",
        "subscriptionId",
        "installmentId",
        "eligibilityFailReason",
        "merchantSubscriptionRefId",
        "invoiceAttempts",
    ),
    ("paymentMethod",): (
        "paymentMethodId",
        "billingAddressId",
        "billingFirstName",
        "billingLastName",
        "merchantPaymentMethodRefId",
        "billingAddress",
        "paymentMethodAchDetails",
        "paymentMethodCreditCardDetails",
    ),
    ("paymentMethod", "billingAddress"): (
        "addressId",
        "addressLine1",
        "addressLine2",
        "city",
        "state",
        "postalCode",
        "phoneNumber",
        "email",
        "country",
    ),
    ("paymentMethod", "paymentMethodAchDetails"): (
        "accountNumberLast4Digits",
        "accountNumberLength",
        "accountType",
    ),
    ("paymentMethod", "paymentMethodCreditCardDetails"): (
        "paymentLast4Digit",
        "paymentExpirationDate",
    ),
    ("invoiceLineItems",): ("invoiceLineItemId", "name", "description", "value", "valueType"),
    ("invoiceAttempts",): (
        "invoiceAttemptId",
        "amount",
        "invoiceAttemptStatus",
        "invoiceAttemptDate",
        "paymentProcessor",
        "processorTransactionId",
        "responseCode",
        "responseMessage",
        "processorRawResponse",
        "eligibilityCheckOrderCode",
    ),
}
"""Every response field the get-invoice reference page names, by where it sits in the invoice
(the page's unnamed "email associated with a billing address" is billingAddress.email)."""

MONEY = {
    "invoices": {
        ("subtotal",),
        ("tax",),
        ("total",),
        ("invoiceLineItems", "value"),
        ("invoiceAttempts", "amount"),
    },
    "invoice_line_items": {("value",)},
    "invoice_attempts": {("amount",)},
}

RFC3339_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
FORMATS = FormatChecker()
"""jsonschema checks date-time only with an optional package, so the test brings its own check."""


@FORMATS.checks("date-time", raises=ValueError)
def is_rfc3339_date_time(value: object) -> bool:
    """An RFC 3339 date-time with a zone, and a real calendar time (else ValueError)."""
    if not isinstance(value, str):
        return True
    if not RFC3339_DATE_TIME.fullmatch(value):
        return False
    datetime.fromisoformat(value)
    return True


def schema(stream: str) -> dict[str, Any]:
    """The stream's schema as the tap declares it: its file, plus the fields the tap adds to
    every stream (``TAP_FIELDS``, checked in tests/core/test_schemas.py)."""
    return load_schema(PROVIDERS["revolv3"], stream)


def validator(stream: str) -> Draft7Validator:
    return Draft7Validator(schema(stream), format_checker=FORMATS)


def types(prop: dict[str, Any]) -> list[str]:
    """The JSON types a property allows, whether declared as one name or a list."""
    declared = prop["type"]
    return declared if isinstance(declared, list) else [declared]


def part(of: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The schema at ``path`` below ``of``, stepping into array items on the way."""
    for key in path:
        of = of["properties"][key]
        of = of.get("items", of)
    return of


def properties(of: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple, dict]]:
    """Every declared property below ``of``, with its path (array items stepped into)."""
    for name, prop in of.get("properties", {}).items():
        yield (*path, name), prop
        yield from properties(prop.get("items", prop), (*path, name))


def undeclared(value: Any, of: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Paths in ``value`` that the schema ``of`` does not declare at that place."""
    if isinstance(value, list):
        for item in value:
            yield from undeclared(item, of.get("items", {}), path)
    elif isinstance(value, dict) and "properties" in of:
        for key, item in value.items():
            if key not in of["properties"]:
                yield (*path, key)
            else:
                yield from undeclared(item, of["properties"][key], (*path, key))


CARD = {
    "paymentMethodId": 1562,
    "billingAddressId": 1587,
    "billingFirstName": "John",
    "billingLastName": "Doe",
    "merchantPaymentMethodRefId": None,
    "billingAddress": {
        "addressId": 1587,
        "addressLine1": "123 Main St",
        "addressLine2": None,
        "city": "Austin",
        "state": "TX",
        "postalCode": "78701",
        "phoneNumber": None,
        "email": None,
        "country": "US",
    },
    "paymentMethodAchDetails": None,
    "paymentMethodCreditCardDetails": {
        "binNumber": "444433",
        "paymentLast4Digit": "1111",
        "paymentExpirationDate": "0330",
        "accountUpdateMessage": None,
        "accountUpdateDateTime": None,
        "accountUpdateCode": None,
    },
}

ACH = {
    **CARD,
    "paymentMethodId": 1570,
    "merchantPaymentMethodRefId": "pm-ach-77",
    "paymentMethodAchDetails": {
        "accountNumberLast4Digits": "6789",
        "accountNumberLength": 9,
        "accountType": "Checking",
        "routingNumberLast4": "0021",
    },
    "paymentMethodCreditCardDetails": None,
}
"""An ACH method; routingNumberLast4 stands for a nested field the docs do not list."""

NEWEST = {
    "invoiceId": 2045117,
    "parentInvoiceId": None,
    "customerId": 88412,
    "merchantInvoiceRefId": "INV-2026-0330",
    "paymentMethod": CARD,
    "invoiceStatus": "Paid",
    "subtotal": Decimal("79.58"),
    "tax": Decimal("0.00"),
    "total": Decimal("79.58"),
    "billingDate": "30-Mar-26",
    "merchantLegalName": "Acme Subscriptions LLC",
    "merchantCustomerRefId": "cust-88412",
    "customerFirstName": "John",
    "customerLastName": "Doe",
    "subscriptionId": None,
    "installmentId": None,
    "eligibilityFailReason": None,
    "merchantSubscriptionRefId": None,
    "networkTransactionId": "197066166170419",
    "currency": "USD",
    "invoiceLineItems": [
        {
            "invoiceId": 2045117,
            "invoiceLineItemId": 3120,
            "name": "Monthly plan",
            "description": "March 2026",
            "value": Decimal("79.58"),
            "valueType": None,
        }
    ],
    "invoiceAttempts": [
        {
            "invoiceAttemptId": 99120,
            "amount": Decimal("79.58"),
            "invoiceAttemptStatus": "Success",
            "invoiceAttemptDate": "2026-03-30T15:59:10.1056134Z",
            "paymentProcessor": "WorldPay",
            "processorTransactionId": "8f2c1d0e-5b7a-4c39-9a61-0d3e2f4b5a6c",
            "responseCode": "000",
            "responseMessage": "Approved",
            "processorRawResponse": None,
            "paymentMethod": CARD,
            "descriptor": None,
            "eligibilityCheckOrderCode": None,
            "processorMerchantId": None,
            "processingMethod": None,
            "revolv3ResponseCode": None,
            "revolv3ResponseMessage": None,
            "authCode": None,
            "processorResponseDateTime": "0001-01-01T00:00:00",
        }
    ],
    "voidAttempts": None,
}
"""Shaped like the newest reference example (the Void page): card, currency, newer fields."""

GUIDE = {
    "invoiceId": 1180342,
    "parentInvoiceId": 1180001,
    "customerId": 5120,
    "merchantInvoiceRefId": None,
    "paymentMethod": ACH,
    "invoiceStatus": "PartialRefund",
    "subtotal": Decimal("1.03"),
    "tax": Decimal("0.0825"),
    "total": Decimal("1.1125"),
    "billingDate": "9/17/2024",
    "merchantLegalName": None,
    "merchantCustomerRefId": None,
    "customerFirstName": "Jane",
    "customerLastName": "Roe",
    "subscriptionId": 712,
    "installmentId": 3,
    "eligibilityFailReason": None,
    "merchantSubscriptionRefId": "sub-712",
    "networkTransactionId": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "invoiceLineItems": [
        {
            "invoiceId": 1180342,
            "invoiceLineItemId": 2001,
            "name": "Plan",
            "description": None,
            "value": Decimal("1.23"),
            "valueType": "Standard",
        },
        {
            "invoiceId": 1180342,
            "invoiceLineItemId": 2002,
            "name": "Promo",
            "description": "Loyalty",
            "value": Decimal("-0.20"),
            "valueType": "Discount",
        },
    ],
    "invoiceAttempts": [
        {
            "invoiceAttemptId": 50311,
            "amount": Decimal("1.1125"),
            "invoiceAttemptStatus": "Fail",
            "invoiceAttemptDate": "2024-09-16T18:40:38.107",
            "paymentProcessor": "Nuvei",
            "processorTransactionId": None,
            "responseCode": "05",
            "responseMessage": "Do Not Honor",
            "processorRawResponse": '{"status":"DECLINED","code":"05"}',
            "paymentMethod": ACH,
            "processorResponseDateTime": "2024-09-16T18:40:39.5172049Z",
        },
        {
            "invoiceAttemptId": 50388,
            "amount": Decimal("1.1125"),
            "invoiceAttemptStatus": "Success",
            "invoiceAttemptDate": "2024-09-17T18:40:38.107",
            "paymentProcessor": "Nuvei",
            "processorTransactionId": "711000000031445566",
            "responseCode": "000",
            "responseMessage": "Approved",
            "processorRawResponse": '{"status":"APPROVED","code":"000"}',
            "paymentMethod": None,
            "networkToken": "stands for an attempt field the docs do not list",
        },
    ],
    "voidAttempts": [{"voidAttemptId": 7, "status": "stands for the undocumented entry shape"}],
}
"""Shaped like the guide's older sample: ACH, M/d/yyyy billing date, attempt dates without a zone;
a refund invoice with a failed and a successful attempt, raw processor responses requested."""

ADDED = {
    NEWEST["invoiceId"]: {
        "billingDateIso": "2026-03-30",
        "invoiceAttemptDateIso": ["2026-03-30T15:59:10.105613+00:00"],
        "processorResponseDateTimeIso": [None],
        "extraFields": None,
    },
    GUIDE["invoiceId"]: {
        "billingDateIso": "2024-09-17",
        "invoiceAttemptDateIso": ["2024-09-16T18:40:38.107000+00:00", "2024-09-17T18:40:38.107Z"],
        "processorResponseDateTimeIso": ["2024-09-16T18:40:39.517204Z", None],
        "extraFields": {"batchId": 4411, "tags": ["migrated"]},
    },
}
"""What the tap adds to each invoice record and, attempt by attempt, to its attempts."""


def emitted(invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice record with the tap's added fields filled in."""
    added = ADDED[invoice["invoiceId"]]
    record = copy.deepcopy(invoice) | {
        "billingDateIso": added["billingDateIso"],
        "lastUpdateEndDate": "2026-03-31T00:00:00Z",
        "extraFields": added["extraFields"],
    }
    for attempt, attempt_date, response_date in zip(
        record["invoiceAttempts"],
        added["invoiceAttemptDateIso"],
        added["processorResponseDateTimeIso"],
        strict=True,
    ):
        attempt["invoiceAttemptDateIso"] = attempt_date
        attempt["processorResponseDateTimeIso"] = response_date
    return record


def child_records(stream: str, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """The child records the tap cuts out of one invoice record, undeclared fields moved aside."""
    declared = schema(stream)["properties"]
    records = []
    for entry in invoice[CHILDREN[stream]]:
        record = {"invoiceId": invoice["invoiceId"]} | entry
        extra = {k: v for k, v in record.items() if k not in declared}
        records.append(
            {k: v for k, v in record.items() if k in declared} | {"extraFields": extra or None}
        )
    return records


INVOICES = [emitted(NEWEST), emitted(GUIDE)]


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_each_file_is_a_valid_draft_7_schema(stream):
    Draft7Validator.check_schema(schema(stream))


@pytest.mark.parametrize("stream", list(CHILDREN))
def test_child_schemas_mirror_the_invoice_entries_they_come_from(stream):
    """The tap cuts child records out of the invoice, so both must declare the same fields."""
    entry = part(schema("invoices"), (CHILDREN[stream],))

    def copied(declared: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in declared["properties"].items() if k not in ADDED_TO_CHILDREN}

    assert copied(schema(stream)) == copied(entry)
    assert entry["additionalProperties"] is True


def test_an_attempts_payment_method_has_the_invoices_shape():
    invoices = schema("invoices")
    assert part(invoices, ("invoiceAttempts", "paymentMethod")) == part(
        invoices, ("paymentMethod",)
    )


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_keys_are_required_integers(stream):
    declared = schema(stream)
    for key in {KEYS[stream], "invoiceId"}:
        assert declared["properties"][key]["type"] == "integer"
        assert key in declared["required"]


def test_the_replication_key_and_normalised_dates():
    invoices = schema("invoices")
    assert invoices["required"] == ["invoiceId", "lastUpdateEndDate"]
    assert part(invoices, ("lastUpdateEndDate",))["type"] == "string"
    formats = {path: prop["format"] for path, prop in properties(invoices) if "format" in prop}
    assert formats == {
        ("_sdc_deleted_at",): "date-time",
        ("lastUpdateEndDate",): "date-time",
        ("billingDateIso",): "date",
        ("invoiceAttempts", "invoiceAttemptDateIso"): "date-time",
        ("invoiceAttempts", "processorResponseDateTimeIso"): "date-time",
    }
    kept_as_sent = [
        ("billingDate",),
        ("invoiceAttempts", "invoiceAttemptDate"),
        ("invoiceAttempts", "processorResponseDateTime"),
    ]
    for path in kept_as_sent:
        assert part(invoices, path)["type"] == ["string", "null"], path


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_money_fields_are_exactly_nullable_numbers(stream):
    numbers = {path: prop for path, prop in properties(schema(stream)) if "number" in types(prop)}
    assert set(numbers) == MONEY[stream]
    for prop in numbers.values():
        assert prop["type"] == ["number", "null"]
        assert prop["description"].startswith("Decimal amount, exact digits")


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_every_field_is_typed_and_every_object_keeps_undocumented_fields(stream):
    """Only voidAttempts' entries and extraFields may hold anything; no value is an enum."""
    for path, prop in properties(schema(stream)):
        assert "type" in prop, path
        assert "enum" not in prop, path
        if "object" in types(prop) and path[-1] != "extraFields":
            assert prop["additionalProperties"] is True, path
            assert prop["properties"], path
        if "array" in types(prop) and path != ("voidAttempts",):
            assert prop["items"]["properties"], path
    assert part(schema("invoices"), ("voidAttempts",)) == {}


@pytest.mark.parametrize(("where", "names"), SEED_FIELDS.items())
def test_every_field_the_reference_names_is_declared(where, names):
    assert set(names) <= set(part(schema("invoices"), where)["properties"])


@pytest.mark.parametrize("invoice", INVOICES, ids=["newest-example", "guide-sample"])
def test_a_documented_invoice_and_its_children_validate(invoice):
    errors = list(validator("invoices").iter_errors(invoice))
    assert not errors, errors[0]
    for stream in CHILDREN:
        for record in child_records(stream, invoice):
            errors = list(validator(stream).iter_errors(record))
            assert not errors, (stream, errors[0])


@pytest.mark.parametrize("invoice", INVOICES, ids=["newest-example", "guide-sample"])
def test_the_documented_fields_do_not_rely_on_additional_properties(invoice):
    """Only the stand-ins for undocumented fields are undeclared in the examples."""
    assert set(undeclared(invoice, schema("invoices"))) <= {
        ("paymentMethod", "paymentMethodAchDetails", "routingNumberLast4"),
        ("invoiceAttempts", "paymentMethod", "paymentMethodAchDetails", "routingNumberLast4"),
        ("invoiceAttempts", "networkToken"),
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lastUpdateEndDate", "2026-03-31"),
        ("lastUpdateEndDate", "2026-03-31T00:00:00"),
        ("billingDateIso", "30-Mar-26"),
        ("billingDateIso", "2024-02-30"),
        ("total", "79.58"),
        ("invoiceId", None),
    ],
)
def test_a_wrong_added_field_or_type_fails(field, value):
    """The checks above have teeth: formats are checked and types are not loose."""
    assert not validator("invoices").is_valid(INVOICES[0] | {field: value})


def test_the_replication_key_is_required():
    record = {k: v for k, v in INVOICES[0].items() if k != "lastUpdateEndDate"}
    assert not validator("invoices").is_valid(record)


def test_new_status_values_still_validate():
    """Statuses are described, not enumerated: a value the docs do not list must not fail a load."""
    record = copy.deepcopy(INVOICES[0]) | {"invoiceStatus": "Delinquent"}
    record["invoiceAttempts"][0]["invoiceAttemptStatus"] = "Cancelled"
    assert validator("invoices").is_valid(record)
