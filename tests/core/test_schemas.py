"""The fields the tap adds to every stream of every provider: ``extraFields`` and
``_sdc_deleted_at`` (tombstones)."""

from __future__ import annotations

import pytest

from tap_invoicing.core.schemas import DELETED_AT, TAP_FIELDS, load_schema
from tap_invoicing.providers import PROVIDERS

STREAMS = [
    (provider, stream)
    for provider in PROVIDERS.values()
    for stream in ("invoices", *(spec.name for spec in provider.children))
]


@pytest.mark.parametrize(("provider", "stream"), STREAMS, ids=lambda p: getattr(p, "name", p))
def test_every_stream_declares_the_fields_the_tap_adds(provider, stream):
    properties = load_schema(provider, stream)["properties"]
    assert {name: properties[name] for name in TAP_FIELDS} == TAP_FIELDS
    assert properties[DELETED_AT] == {
        "type": ["string", "null"],
        "format": "date-time",
        "description": TAP_FIELDS[DELETED_AT]["description"],
    }
    assert properties["extraFields"]["type"] == ["object", "null"]
    assert properties["extraFields"]["additionalProperties"] is True


def test_each_load_is_a_fresh_copy_the_sdk_may_change():
    provider = PROVIDERS["cybersource"]
    first = load_schema(provider, "invoices")
    first["properties"][DELETED_AT]["type"].append("integer")
    assert load_schema(provider, "invoices")["properties"][DELETED_AT]["type"] == ["string", "null"]
