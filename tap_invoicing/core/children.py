"""Child streams declared as data: one record per entry of a list nested in each invoice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tap_invoicing.core.conform import with_extra_fields
from tap_invoicing.core.schemas import load_schema
from tap_invoicing.core.sdk_hooks import ChildStreamHooks

if TYPE_CHECKING:
    from singer_sdk import Stream, Tap
    from singer_sdk.helpers.types import Context

    from tap_invoicing.core.provider import ChildSpec, Provider


class InvoiceChildStream(ChildStreamHooks):
    """Records that hang off one invoice, written by the invoices stream with each invoice.

    They are parts of a record already fetched, so they are not synced per invoice the way the
    SDK syncs a child that requests its own data: that would cost a SCHEMA message, six log lines
    and state bookkeeping for every invoice.
    """

    parent_stream_type: ClassVar[type[Stream] | None]

    def __init__(self, tap: Tap, provider: Provider, spec: ChildSpec) -> None:
        self.spec = spec
        self._invoice_key = provider.invoice_key
        self._extra_fields = provider.extra_fields
        super().__init__(tap, schema=load_schema(provider, spec.name), name=spec.name)
        self.primary_keys = spec.primary_keys

    def write_records_of(self, invoice: Mapping) -> None:
        """Write this stream's records within one invoice."""
        for record in self.records_of(invoice):
            self.write_record(record)

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The records of the invoice in ``context``, for callers that sync a child directly."""
        yield from self.records_of(context["invoice"] if context else {})

    def records_of(self, invoice: Mapping) -> Iterable[dict]:
        """Each entry of the spec's list, with its invoice's id (and its number or derived key,
        if the spec says)."""
        spec = self.spec
        entries: Any = invoice
        for key in spec.items_at:
            entries = (entries or {}).get(key)
        entries = list(entries or [])
        if spec.oldest_first:
            entries.reverse()
        keys = spec.keyed[1](entries) if spec.keyed else []
        for number, entry in enumerate(entries, start=spec.number_from):
            record = {**entry, spec.parent_id: invoice[self._invoice_key]}
            if spec.numbered:
                record[spec.numbered] = number
            if spec.keyed:
                record[spec.keyed[0]] = keys[number - spec.number_from]
            if self._extra_fields:
                record = with_extra_fields(record, self.schema, self._extra_fields)
            yield record
