"""Small pure helpers of the fetch path: Retry-After parsing and exact number coercion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests

from tap_invoicing.core.client import RetryableAnswerError, retry_after_seconds
from tap_invoicing.core.conform import (
    FieldNotes,
    UnloadableError,
    conform_to_schema,
    without_surrogates,
)


def throttled(retry_after: str | None) -> RetryableAnswerError:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return RetryableAnswerError("throttled", response)


@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), (" 0 ", 0.0), (None, None), ("soon", None)]
)
def test_retry_after_in_seconds(header, expected):
    assert retry_after_seconds(throttled(header)) == expected


def http_date(seconds_from_now: float, *, zone: str) -> str:
    """An HTTP date that many seconds away, its zone written as ``GMT``, ``+0000`` or ``-0000``."""
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds_from_now)
    if zone == "GMT":
        return format_datetime(when, usegmt=True)
    return format_datetime(when if zone == "+0000" else when.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("seconds", "zone", "expected"),
    [(30, "GMT", 30.0), (30, "+0000", 30.0), (30, "-0000", 30.0), (-86400, "GMT", 0.0)],
    ids=["gmt", "plus-0000", "minus-0000", "past"],
)
def test_retry_after_as_an_http_date_in_any_zone(seconds, zone, expected):
    """``-0000`` (UTC, local zone unknown) parses to a naive time, which is still UTC."""
    wait = retry_after_seconds(throttled(http_date(seconds, zone=zone)))
    assert wait == pytest.approx(expected, abs=2.0)


def test_retry_after_that_is_no_date_is_ignored():
    assert retry_after_seconds(throttled("Wed, 41 Oct 2015 07:28:00 GMT")) is None


def test_retry_after_of_a_network_error_is_none():
    assert retry_after_seconds(requests.exceptions.ConnectionError("reset")) is None


def test_numeric_strings_become_exact_decimals_only_where_the_schema_says_number():
    schema = {
        "properties": {
            "amount": {"type": ["number", "string", "null"]},
            "sku": {"type": ["string", "null"]},
            "lines": {"items": {"properties": {"price": {"type": ["number", "string"]}}}},
        }
    }
    record = {"amount": "12.050", "sku": "0042", "lines": [{"price": "-0.10"}, {"price": "n/a"}]}
    notes = FieldNotes()
    converted = conform_to_schema(record, schema, notes)
    assert converted == {
        "amount": Decimal("12.050"),
        "sku": "0042",
        "lines": [{"price": Decimal("-0.10")}, {"price": "n/a"}],
    }
    assert str(converted["amount"]) == "12.050"
    assert notes == FieldNotes()


def test_properties_the_schema_does_not_declare_are_kept_as_sent_and_named():
    schema = {
        "properties": {
            "id": {"type": "string"},
            "customer": {"type": "object", "properties": {"name": {"type": "string"}}},
            "lines": {"items": {"properties": {"sku": {"type": "string"}}}},
            "extra": {"type": "object", "properties": {}, "additionalProperties": True},
            "free": {"type": "object"},
        }
    }
    record = {
        "id": "1",
        "surprise": 1,
        "customer": {"name": "Ana", "vip": True},
        "lines": [{"sku": "a", "colour": "red"}],
        "extra": {"anything": 1},
        "free": {"whatever": {"deep": 2}},
    }
    notes = FieldNotes()
    converted = conform_to_schema(record, schema, notes)
    assert converted == record
    assert notes.undeclared == ["surprise", "customer.vip", "lines.colour"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+12.50", "12.50"), (" 7 ", "7"), ("1E+2", "1E+2"), ("-.5", "-0.5"), ("0.000", "0.000")],
)
def test_signed_spaced_and_exponent_numeric_strings_keep_their_digits(text, expected):
    converted = conform_to_schema(
        {"amount": text}, {"properties": {"amount": NUMBER}}, FieldNotes()
    )
    assert str(converted["amount"]) == expected


NUMBER = {"type": ["number", "null"]}


def test_an_empty_amount_is_null_and_text_where_only_a_number_fits_is_refused():
    schema = {"properties": {"amount": NUMBER, "lines": {"items": {"properties": {"p": NUMBER}}}}}
    assert conform_to_schema({"amount": " "}, schema, FieldNotes()) == {"amount": None}
    for text in ("n/a", "NaN", "Infinity", "12,50", "0x10"):
        with pytest.raises(UnloadableError, match=r"lines\.p is not a number"):
            conform_to_schema({"amount": "1", "lines": [{"p": text}]}, schema, FieldNotes())


def test_lone_surrogates_are_replaced_and_whole_characters_kept():
    # json.loads joins an escaped pair such as \ud83d\ude00 into one character, U+1F600.
    value = json.loads('{"name\\ud83d": ["ok \\ud83d\\ude00", "lone \\udc00 and \\ud83d"], "n": 1}')
    assert without_surrogates(value) == {
        "name\ufffd": ["ok \U0001f600", "lone \ufffd and \ufffd"],
        "n": 1,
    }


def test_a_number_where_the_schema_says_text_is_written_as_text_and_noted():
    schema = {"properties": {"code": {"type": ["string", "null"]}, "lines": {"items": {}}}}
    notes = FieldNotes()
    converted = conform_to_schema({"code": 51, "lines": [{"x": 1}]}, schema, notes)
    assert converted == {"code": "51", "lines": [{"x": 1}]}
    assert notes.as_text == ["code"]
