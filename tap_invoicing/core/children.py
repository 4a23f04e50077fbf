"""Child records declared as data: one record per entry of a list nested in each invoice, and
the tombstones of the rows an invoice no longer holds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tap_invoicing.core.conform import FieldNotes, with_extra_fields
from tap_invoicing.core.schemas import DELETED_AT

if TYPE_CHECKING:
    from tap_invoicing.core.plans.remembered import ChildKeys
    from tap_invoicing.core.provider import ChildSpec


def child_records(
    spec: ChildSpec,
    invoice: Mapping[str, Any],
    *,
    invoice_key: str,
    schema: Mapping[str, Any],
    notes: FieldNotes,
) -> Iterator[dict[str, Any]]:
    """Each entry of the spec's list in ``invoice``, with its invoice's id (and its number or
    derived key, if the spec says); undeclared fields kept in ``extraFields``, their names
    noted."""
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
        record = with_extra_fields(record, schema, notes)
        record[DELETED_AT] = None
        yield record


def child_keys(spec: ChildSpec, records: list[dict[str, Any]]) -> ChildKeys:
    """What the state keeps of one invoice's rows: their count for a numbered list, else their
    keys."""
    if spec.numbered:
        return len(records)
    return [record[spec.row_key] for record in records]


def removed_rows(
    spec: ChildSpec, invoice_id: Any, before: ChildKeys, now: ChildKeys, deleted_at: str
) -> list[dict[str, Any]]:
    """Tombstones of the rows written ``before`` that the invoice no longer holds ``now``."""
    if isinstance(before, int) or isinstance(now, int):
        count_before = before if isinstance(before, int) else 0
        count_now = now if isinstance(now, int) else 0
        gone: list[Any] = list(range(spec.number_from + count_now, spec.number_from + count_before))
    else:
        kept = set(now)
        gone = [key for key in before if key not in kept]
    return [{spec.parent_id: invoice_id, spec.row_key: key, DELETED_AT: deleted_at} for key in gone]
