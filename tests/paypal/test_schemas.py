"""The PayPal schema files: valid Draft 7, the child streams mirror the invoice's entries, and the
show-invoice example validates once its decimal strings are emitted as numbers, as the tap does."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tap_invoicing.core.schemas import TAP_FIELDS, load_schema
from tap_invoicing.providers import PROVIDERS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "paypal"

CHILDREN = {
    "invoice_line_items": ("items",),
    "invoice_payments": ("payments", "transactions"),
    "invoice_refunds": ("refunds", "transactions"),
}
"""Child stream -> the invoice array whose entries it emits one per record."""

ADDED_TO_CHILDREN = {
    "invoice_line_items": {"invoiceId": "string", "position": "integer"},
    "invoice_payments": {"invoiceId": "string", "transactionKey": "string"},
    "invoice_refunds": {"invoiceId": "string", "transactionKey": "string"},
}
"""The keys the tap adds to each child record, with their (non-null) types."""

TRANSACTION_IDS = {"invoice_payments": "payment_id", "invoice_refunds": "refund_id"}
DERIVED_KEY = "stands-for-the-digest-the-tap-derives"
"""What an EXTERNAL transaction without an id gets as transactionKey (the digest is the tap's)."""

MONEY = {
    ("items", "unit_amount"),
    ("items", "tax", "amount"),
    ("items", "discount", "amount"),
    ("configuration", "partial_payment", "minimum_amount_due"),
    ("amount", "breakdown", "item_total"),
    ("amount", "breakdown", "discount", "invoice_discount", "amount"),
    ("amount", "breakdown", "discount", "item_discount"),
    ("amount", "breakdown", "tax_total"),
    ("amount", "breakdown", "shipping", "amount"),
    ("amount", "breakdown", "shipping", "tax", "amount"),
    ("amount", "breakdown", "custom", "amount"),
    ("due_amount",),
    ("gratuity",),
    ("payments", "paid_amount"),
    ("payments", "transactions", "amount"),
    ("refunds", "refund_amount"),
    ("refunds", "transactions", "amount"),
}
"""Every Money object ({currency_code, value}) in the invoice."""

OTHER_DECIMALS = {
    ("amount", "value"),
    ("items", "quantity"),
    ("items", "tax", "percent"),
    ("items", "discount", "percent"),
    ("amount", "breakdown", "discount", "invoice_discount", "percent"),
    ("amount", "breakdown", "shipping", "tax", "percent"),
}
"""The invoice total, quantities and percents: decimal strings in the API, numbers in records."""

NUMBERS = {(*path, "value") for path in MONEY} | OTHER_DECIMALS

FORMATS = {
    ("detail", "invoice_date"): "date",
    ("detail", "payment_term", "due_date"): "date",
    ("items", "item_date"): "date",
    ("payments", "transactions", "payment_date"): "date",
    ("refunds", "transactions", "refund_date"): "date",
    ("detail", "attachments", "create_time"): "date-time",
    ("last_update_time",): "date-time",
    **{
        ("detail", "metadata", name): "date-time"
        for name in (
            "create_time",
            "last_update_time",
            "cancel_time",
            "first_sent_time",
            "last_sent_time",
        )
    },
}

SHAPELESS = {("detail", "metadata", "spam_info"), ("additional_recipients",)}
"""Parts the spec gives no properties: an undocumented object, and an array of email strings."""

SPEC_FIELDS = {
    (): (
        "id",
        "parent_id",
        "status",
        "detail",
        "invoicer",
        "primary_recipients",
        "additional_recipients",
        "items",
        "configuration",
        "amount",
        "due_amount",
        "gratuity",
        "payments",
        "refunds",
        "links",
    ),
    ("detail",): (
        "currency_code",
        "reference",
        "note",
        "terms_and_conditions",
        "memo",
        "attachments",
        "invoice_number",
        "invoice_date",
        "payment_term",
        "metadata",
    ),
    ("detail", "attachments"): ("id", "reference_url", "content_type", "create_time", "size"),
    ("detail", "payment_term"): ("term_type", "due_date"),
    ("detail", "metadata"): (
        "create_time",
        "last_update_time",
        "cancel_time",
        "first_sent_time",
        "last_sent_time",
        "created_by",
        "last_updated_by",
        "cancelled_by",
        "last_sent_by",
        "created_by_flow",
        "recipient_view_url",
        "invoicer_view_url",
    ),
    ("invoicer",): (
        "business_name",
        "name",
        "address",
        "email_address",
        "phones",
        "website",
        "tax_id",
        "additional_notes",
        "logo_url",
    ),
    ("invoicer", "name"): (
        "prefix",
        "given_name",
        "surname",
        "middle_name",
        "suffix",
        "alternate_full_name",
        "full_name",
    ),
    ("invoicer", "address"): (
        "address_line_1",
        "address_line_2",
        "address_line_3",
        "admin_area_1",
        "admin_area_2",
        "admin_area_3",
        "admin_area_4",
        "postal_code",
        "country_code",
        "address_details",
    ),
    ("invoicer", "address", "address_details"): (
        "street_number",
        "street_name",
        "street_type",
        "delivery_service",
        "building_name",
        "sub_building",
    ),
    ("invoicer", "phones"): ("country_code", "national_number", "extension_number", "phone_type"),
    ("primary_recipients",): ("billing_info", "shipping_info"),
    ("primary_recipients", "billing_info"): (
        "business_name",
        "name",
        "address",
        "email_address",
        "phones",
        "additional_info",
        "language",
    ),
    ("primary_recipients", "shipping_info"): ("business_name", "name", "address"),
    ("items",): (
        "id",
        "name",
        "description",
        "quantity",
        "unit_amount",
        "tax",
        "discount",
        "item_date",
        "unit_of_measure",
    ),
    ("items", "tax"): ("id", "name", "percent", "amount"),
    ("items", "discount"): ("percent", "amount"),
    ("configuration",): (
        "tax_calculated_after_discount",
        "tax_inclusive",
        "allow_tip",
        "partial_payment",
        "template_id",
    ),
    ("configuration", "partial_payment"): ("allow_partial_payment", "minimum_amount_due"),
    ("amount",): ("currency_code", "value", "breakdown"),
    ("amount", "breakdown"): ("item_total", "discount", "tax_total", "shipping", "custom"),
    ("amount", "breakdown", "discount"): ("invoice_discount", "item_discount"),
    ("amount", "breakdown", "shipping"): ("amount", "tax"),
    ("amount", "breakdown", "custom"): ("label", "amount"),
    ("payments",): ("paid_amount", "transactions"),
    ("payments", "transactions"): (
        "type",
        "payment_id",
        "payment_date",
        "method",
        "note",
        "amount",
        "shipping_info",
    ),
    ("refunds",): ("refund_amount", "transactions"),
    ("refunds", "transactions"): ("type", "refund_id", "refund_date", "amount", "method"),
    ("links",): ("href", "rel", "method"),
}
"""The invoice schema's fields as the spec (research notes, section 5) defines them."""

UNDOCUMENTED_FIELDS = {
    (): ("unilateral",),
    ("detail",): (
        "archived",
        "viewed_by_recipient",
        "group_draft",
        "category_code",
        "additional_data",
    ),
    ("detail", "metadata"): ("caller_type", "spam_info"),
    ("configuration",): ("allow_only_pay_by_bank",),
}
"""Fields real responses carry that the spec does not define (research notes, section 5)."""

SAME_SHAPE = [
    [
        ("invoicer", "address"),
        ("primary_recipients", "billing_info", "address"),
        ("primary_recipients", "shipping_info", "address"),
    ],
    [("invoicer", "name"), ("primary_recipients", "billing_info", "name")],
    [("invoicer", "phones"), ("primary_recipients", "billing_info", "phones")],
    [("primary_recipients", "shipping_info"), ("payments", "transactions", "shipping_info")],
    [("items", "tax"), ("amount", "breakdown", "shipping", "tax")],
    [("items", "discount"), ("amount", "breakdown", "discount", "invoice_discount")],
]
"""Parts the spec defines once (Address, Name, Phone, shipping info, Tax, Discount)."""


def usd(value: str) -> dict[str, Any]:
    """A Money object as the tap emits it: the API's decimal string becomes an exact number."""
    return {"currency_code": "USD", "value": Decimal(value)}


LINK = "https://api-m.paypal.com/v2/invoicing/invoices/INV2-MY87-9QVN-D7N4-W47D"

SEED = {
    "id": "INV2-RF6D-L66T-D7H2-CRU7",
    "status": "SENT",
    "detail": {
        "invoice_number": "s0000183",
        "reference": "reference -10",
        "invoice_date": "2018-04-14",
        "currency_code": "USD",
        "payment_term": {"term_type": "NET_10", "due_date": "2018-04-25"},
        "note": "receipt",
        "term": "terms and condition",
        "memo": "memo",
        "metadata": {
            "create_time": "2018-04-15T17:59:16Z",
            "first_sent_time": "2018-04-15T17:59:16Z",
            "last_sent_time": "2018-04-15T17:59:16Z",
            "recipient_view_url": "https://api-m.paypal.com/invoice/p#INV2-MY87-9QVN-D7N4-W47D",
            "invoicer_view_url": "https://api-m.paypal.com/invoice/details/INV2-MY87-9QVN-D7N4-W47D",
        },
    },
    "invoicer": {
        "name": {"given_name": "Marisol", "surname": "Christopher"},
        "business_name": "Montecino Color Lab",
        "address": {
            "address_line_1": "63497 Edgemere Road",
            "address_line_2": "337673 Hillside Court",
            "admin_area_2": "Mesa",
            "admin_area_1": "AZ",
            "postal_code": "85214",
            "country_code": "US",
        },
        "email_address": "invoicer@example.com",
        "phones": [{"country_code": "1", "national_number": "5209792578", "phone_type": "HOME"}],
        "website": "https://example.com/goods",
        "tax_id": "ABcNkWmqtHvziJmUEtyjPAMXcrZWYBgSkkY5XSLO89n2mAdETfX8sXN6VNg97A",
        "logo_url": "https://api-m.paypal.com/v1/content/media-containers/PICS/cdn-assets/00/s/"
        "NDg4WDY0N1hQTkc/p/ODRmMjEzZjAtM2Q0My00NWZlLTk4ODYtYWI5OTM0NmE5NjYx/image_109.PNG",
        "additional_info_value": "add infor - 2 to 5",
    },
    "primary_recipients": [
        {
            "billing_info": {
                "business_name": "",
                "address": {"country_code": "US"},
                "email": "primary_recipient@example.com",
                "phones": [
                    {"country_code": "1", "national_number": "1234567890", "phone_type": "MOBILE"}
                ],
            }
        }
    ],
    "items": [
        {
            "name": " ",
            "quantity": Decimal("1.00"),
            "unit_amount": usd("10.00"),
            "tax": {"name": "sst", "percent": Decimal("5"), "amount": usd("0.40")},
            "discount": {"amount": usd("2.00")},
            "unit_of_measure": "QUANTITY",
        }
    ],
    "configuration": {
        "partial_payment": {"allow_partial_payment": True, "minimum_amount_due": usd("5.00")},
        "allow_tip": True,
        "tax_calculated_after_discount": True,
        "tax_inclusive": False,
        "template_id": "TEMP-4R676299VW6871434",
    },
    "amount": {
        "currency_code": "USD",
        "value": Decimal("11.38"),
        "breakdown": {
            "custom": {"label": "others", "amount": usd("1.00")},
            "shipping": {
                "amount": usd("2.00"),
                "tax": {"name": "shipping-tax", "percent": Decimal("6")},
            },
            "discount": {
                "invoice_discount": {"percent": Decimal("1"), "amount": usd("0.08")},
                "item_discount": usd("-2.00"),
            },
            "tax_total": usd("0.48"),
        },
    },
    "due_amount": usd("11.38"),
    "links": [
        {"href": LINK, "rel": "self", "method": "GET"},
        {"href": f"{LINK}/update", "rel": "replace", "method": "PUT"},
        {"href": f"{LINK}/cancel", "rel": "invoices.cancel", "method": "POST"},
        {"href": f"{LINK}/remind", "rel": "remind", "method": "POST"},
        {"href": f"{LINK}/record-payment", "rel": "record-payment", "method": "POST"},
        {"href": f"{LINK}/generate-qr-code", "rel": "qr-code", "method": "POST"},
    ],
    "last_update_time": "2018-04-15T17:59:16Z",
    "extraFields": None,
}
"""The show-invoice-details example of PayPal's docs, values converted as the tap emits them
(with the replication key the tap adds)."""

PAID_AND_REFUNDED = copy.deepcopy(SEED) | {
    "id": "INV2-XFXV-YW42-ZANU-4F33",
    "status": "PARTIALLY_REFUNDED",
    "unilateral": False,
    "gratuity": usd("0.50"),
    "due_amount": usd("0.00"),
    "payments": {
        "paid_amount": usd("11.38"),
        "transactions": [
            {
                "type": "PAYPAL",
                "payment_id": "5TB40917AV466843F",
                "payment_date": "2018-04-20",
                "method": "PAYPAL",
                "amount": usd("6.38"),
            },
            {
                "type": "EXTERNAL",
                "payment_date": "2018-04-21",
                "method": "CHECK",
                "note": "cheque 1042",
                "amount": usd("5.00"),
                "shipping_info": {"business_name": "Lab", "address": {"country_code": "US"}},
                "receipt_number": "stands for a transaction field the spec does not list",
            },
        ],
    },
    "refunds": {
        "refund_amount": usd("1.00"),
        "transactions": [
            {
                "type": "EXTERNAL",
                "refund_date": "2018-04-22",
                "method": "CASH",
                "amount": usd("1.00"),
            }
        ],
    },
    "extraFields": {"new_top_level_field": {"kept": "as sent"}},
}
"""A paid and refunded invoice built from the example: PAYPAL and EXTERNAL transactions, the
undocumented fields real responses carry, and stand-ins for fields no source lists."""
PAID_AND_REFUNDED["detail"] |= {
    "terms_and_conditions": "terms and condition",
    "archived": False,
    "viewed_by_recipient": True,
    "group_draft": False,
    "category_code": "SHIPPABLE",
    "additional_data": "",
    "attachments": [
        {"id": "Screen.png", "create_time": "2018-04-15T17:59:16.513Z", "size": "1024"}
    ],
}
PAID_AND_REFUNDED["detail"]["metadata"] |= {
    "last_update_time": "2018-04-22T08:01:02+02:00",
    "caller_type": "API_V2_INVOICE",
    "spam_info": {"score": 0},
}
PAID_AND_REFUNDED["configuration"]["allow_only_pay_by_bank"] = False
PAID_AND_REFUNDED["items"][0] |= {
    "id": "ITEM-5335764681676603X",
    "item_date": "2018-04-14",
    "discount": {"percent": Decimal("20"), "amount": usd("-2.00")},
}
PAID_AND_REFUNDED["items"][0]["tax"]["id"] = "TAX-5XV24702TP4910056"

INVOICES = [SEED, PAID_AND_REFUNDED]
IDS = ["docs-example", "paid-and-refunded"]


def schema(stream: str) -> dict[str, Any]:
    """The stream's schema as the tap declares it: its file, plus the fields the tap adds to
    every stream (``TAP_FIELDS``, checked in tests/core/test_schemas.py)."""
    return load_schema(PROVIDERS["paypal"], stream)


def validator(stream: str) -> Draft7Validator:
    return Draft7Validator(schema(stream), format_checker=FormatChecker())


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


def below(paths: set[tuple[str, ...]], prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
    """The paths under ``prefix``, relative to it."""
    return {path[len(prefix) :] for path in paths if path[: len(prefix)] == prefix}


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


def entries(invoice: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The entries of the invoice array at ``path`` (none when a part is absent)."""
    found: Any = invoice
    for key in path:
        found = (found or {}).get(key)
    return found or []


def child_records(stream: str, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """The child records the tap cuts out of one invoice record, undeclared fields moved aside."""
    declared = schema(stream)["properties"]
    records = []
    for position, entry in enumerate(entries(invoice, CHILDREN[stream])):
        if stream in TRANSACTION_IDS:
            added = {"transactionKey": entry.get(TRANSACTION_IDS[stream]) or DERIVED_KEY}
        else:
            added = {"position": position}
        record = {"invoiceId": invoice["id"], **added} | entry
        extra = {k: v for k, v in record.items() if k not in declared}
        records.append(
            {k: v for k, v in record.items() if k in declared} | {"extraFields": extra or None}
        )
    return records


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_each_file_is_a_valid_draft_7_schema(stream):
    Draft7Validator.check_schema(schema(stream))


@pytest.mark.parametrize("stream", list(CHILDREN))
def test_child_schemas_mirror_the_invoice_entries_they_come_from(stream):
    """The tap cuts child records out of the invoice, so both must declare the same fields."""
    entry = part(schema("invoices"), CHILDREN[stream])
    copied = {
        k: v
        for k, v in schema(stream)["properties"].items()
        if k not in {*ADDED_TO_CHILDREN[stream], *TAP_FIELDS}
    }
    assert copied == entry["properties"]
    assert entry["additionalProperties"] is True


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_keys_are_required_strings(stream):
    declared = schema(stream)
    keys = ADDED_TO_CHILDREN.get(stream, {"id": "string", "last_update_time": "string"})
    assert declared["required"] == list(keys)
    for key, key_type in keys.items():
        assert declared["properties"][key]["type"] == key_type


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_money_quantities_and_percents_are_exactly_nullable_numbers(stream):
    numbers = {path: prop for path, prop in properties(schema(stream)) if "number" in types(prop)}
    assert set(numbers) == below(NUMBERS, CHILDREN.get(stream, ()))
    for prop in numbers.values():
        assert prop["type"] == ["number", "null"]
        assert prop["description"].startswith("Decimal")
        assert "exact JSON number" in prop["description"]


def test_every_money_object_has_the_one_money_shape():
    invoices = schema("invoices")
    shapes = {json.dumps(part(invoices, path)["properties"]) for path in MONEY}
    assert len(shapes) == 1
    assert set(part(invoices, next(iter(MONEY)))["properties"]) == {"currency_code", "value"}


@pytest.mark.parametrize("paths", SAME_SHAPE, ids=lambda paths: ".".join(paths[0]))
def test_parts_the_spec_defines_once_are_declared_alike(paths):
    invoices = schema("invoices")
    assert all(part(invoices, path) == part(invoices, paths[0]) for path in paths)


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_dates_and_date_times_carry_their_format(stream):
    prefix = CHILDREN.get(stream, ())
    declared = {
        path: prop
        for path, prop in properties(schema(stream))
        if "format" in prop and path[0] not in TAP_FIELDS
    }
    assert {path: prop["format"] for path, prop in declared.items()} == {
        path: FORMATS[(*prefix, *path)] for path in below(set(FORMATS), prefix)
    }
    added = {("last_update_time",)}  # the tap's replication key: always set
    assert all(prop["type"] == ["string", "null"] for p, prop in declared.items() if p not in added)


@pytest.mark.parametrize("stream", ["invoices", *CHILDREN])
def test_every_field_is_typed_and_every_object_keeps_undocumented_fields(stream):
    """Statuses and other enums are described, never enumerated; every object stays open."""
    shapeless = below(SHAPELESS, CHILDREN.get(stream, ()))
    for path, prop in properties(schema(stream)):
        assert "type" in prop, path
        assert "enum" not in prop, path
        assert prop["description"], path
        if "object" in types(prop):
            assert prop["additionalProperties"] is True, path
            assert prop.get("properties") or path in shapeless | {("extraFields",)}, path
        if "array" in types(prop) and path not in shapeless:
            assert prop["items"]["properties"], path


@pytest.mark.parametrize(
    ("where", "names"),
    list(SPEC_FIELDS.items()) + list(UNDOCUMENTED_FIELDS.items()),
    ids=lambda value: ".".join(value) if isinstance(value, tuple) else None,
)
def test_every_field_of_the_spec_and_of_real_responses_is_declared(where, names):
    assert set(names) <= set(part(schema("invoices"), where)["properties"])


def test_the_examples_spellings_are_declared_beside_the_specs():
    invoices = schema("invoices")
    for where, spec_name, example_name in [
        (("detail",), "terms_and_conditions", "term"),
        (("invoicer",), "additional_notes", "additional_info_value"),
        (("primary_recipients", "billing_info"), "email_address", "email"),
    ]:
        assert {spec_name, example_name} <= set(part(invoices, where)["properties"])


@pytest.mark.parametrize(
    ("invoice", "stand_ins"),
    [(SEED, set()), (PAID_AND_REFUNDED, {("payments", "transactions", "receipt_number")})],
    ids=IDS,
)
def test_every_field_of_the_examples_is_declared(invoice, stand_ins):
    """Only the stand-ins for fields no source lists rely on additionalProperties."""
    assert set(undeclared(invoice, schema("invoices"))) == stand_ins


@pytest.mark.parametrize("invoice", INVOICES, ids=IDS)
def test_an_example_invoice_and_its_children_validate(invoice):
    errors = list(validator("invoices").iter_errors(invoice))
    assert not errors, errors[0]
    for stream in CHILDREN:
        for record in child_records(stream, invoice):
            errors = list(validator(stream).iter_errors(record))
            assert not errors, (stream, errors[0])


def test_the_paid_example_yields_every_kind_of_child_record():
    records = {stream: child_records(stream, PAID_AND_REFUNDED) for stream in CHILDREN}
    assert [r["position"] for r in records["invoice_line_items"]] == [0]
    assert [r["transactionKey"] for r in records["invoice_payments"]] == [
        "5TB40917AV466843F",
        DERIVED_KEY,
    ]
    assert records["invoice_payments"][1]["extraFields"] == {
        "receipt_number": "stands for a transaction field the spec does not list"
    }
    assert [r["transactionKey"] for r in records["invoice_refunds"]] == [DERIVED_KEY]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("due_amount", "value"), "11.38"),
        (("amount", "value"), "11.38"),
        (("items", 0, "quantity"), "1.00"),
        (("items", 0, "tax", "percent"), "5"),
        (("detail", "invoice_date"), "2018-04-31"),
        (("detail", "invoice_date"), "2018-04-14T00:00:00Z"),
        (("detail", "metadata", "create_time"), "2018-04-15 17:59:16"),
        (("detail", "metadata", "create_time"), "2018-04-15T17:59:16"),
        (("id",), None),
    ],
)
def test_a_wrong_type_or_format_fails(path, value):
    """The checks above have teeth: decimals must be numbers and both formats are checked."""
    record = copy.deepcopy(SEED)
    container: Any = record
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value
    assert not validator("invoices").is_valid(record)


def test_a_child_without_its_keys_fails():
    for stream in CHILDREN:
        for record in child_records(stream, PAID_AND_REFUNDED):
            for key in ADDED_TO_CHILDREN[stream]:
                assert not validator(stream).is_valid({k: v for k, v in record.items() if k != key})


def test_new_status_and_method_values_still_validate():
    """Statuses are described, not enumerated: a value the spec does not list must load."""
    record = copy.deepcopy(PAID_AND_REFUNDED) | {"status": "NEW"}
    record["payments"]["transactions"][0]["method"] = "VENMO"
    assert validator("invoices").is_valid(record)
