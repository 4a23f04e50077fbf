"""Child records declared as data: one record per entry of a list nested in each invoice."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tap_invoicing.core.conform import with_extra_fields

if TYPE_CHECKING:
    from tap_invoicing.core.provider import ChildSpec


def child_records(
    spec: ChildSpec,
    invoice: Mapping[str, Any],
    *,
    invoice_key: str,
    schema: Mapping[str, Any],
    extra_fields: str | None,
) -> Iterator[dict[str, Any]]:
    """Each entry of the spec's list in ``invoice``, with its invoice's id (and its number or
    derived key, if the spec says); undeclared fields kept in ``extra_fields`` when set."""
    entries: Any = invoice
    for key in spec.items_at:
        entries = (entries or {}).get(key)
    entries = list(entries or [])
    if spec.oldest_first:
        entries.reverse()
    keys = spec.keyed[1](entries) if spec.keyed else []
    for number, entry in enumerate(entries, start=spec.number_from):
        record = {**entry, spec.parent_id: invoice[invoice_key]}
        if spec.numbered:
            record[spec.numbered] = number
        if spec.keyed:
            record[spec.keyed[0]] = keys[number - spec.number_from]
        if extra_fields:
            record = with_extra_fields(record, schema, extra_fields)
        yield record
