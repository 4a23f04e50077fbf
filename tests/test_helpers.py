"""Small pure helpers of the fetch path: Retry-After parsing and exact number coercion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_invoicing.client import numbers_as_decimals, retry_after_seconds


def throttled(retry_after: str | None) -> RetriableAPIError:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return RetriableAPIError("throttled", response)


@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), (" 0 ", 0.0), (None, None), ("soon", None)]
)
def test_retry_after_in_seconds(header, expected):
    assert retry_after_seconds(throttled(header)) == expected


def test_retry_after_as_an_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    wait = retry_after_seconds(throttled(format_datetime(when, usegmt=True)))
    assert wait is not None
    assert 28 <= wait <= 30
    assert retry_after_seconds(throttled("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0


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
    converted = numbers_as_decimals(record, schema)
    assert converted == {
        "amount": Decimal("12.050"),
        "sku": "0042",
        "lines": [{"price": Decimal("-0.10")}, {"price": "n/a"}],
    }
    assert str(converted["amount"]) == "12.050"
