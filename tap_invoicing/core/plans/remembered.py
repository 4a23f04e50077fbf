"""The invoices a plan keeps watching from one run to the next, with what a tombstone needs.

An invoice that the API still lets change (an open one; a draft the API lets the merchant
delete) is remembered with the keys of its child rows: when the next run reads it
again, a row that is gone gets a tombstone; when the invoice itself is gone (its detail answers
404, or it is missing from a whole list and a detail request confirms it), it and all its
remembered rows do. Settled invoices are not remembered, so the state grows with the open
invoices only, never with the invoices ever seen. An invoice found gone is remembered for one
more run, without rows: should the API serve it again, it is read again (and is live again).

In the state: ``{"streams": [...], "invoices": {id: [keys of stream 1, keys of stream 2, ...]},
"gone": [id, ...]}``, where a numbered child list is kept as its length (its rows are numbered
0..n-1) and any other as its list of row keys: about 12 bytes per open invoice for a numbered
list, plus each key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from typing import Any

from tap_invoicing.errors import StateError

ChildKeys = int | list[Any]
"""One invoice's rows in one child stream: their count for a numbered list, else their keys."""
InvoiceChildren = Mapping[str, ChildKeys]
"""One invoice's child rows, per child stream."""

FIELD = "remembered"
"""Where a plan's bookmark keeps them."""


class RememberedInvoices:
    """The previous run's remembered invoices, and this run's, built as the invoices are read."""

    def __init__(
        self,
        previous: Mapping[str, InvoiceChildren] | None = None,
        previously_gone: frozenset[str] = frozenset(),
    ) -> None:
        self._previous: Mapping[str, InvoiceChildren] = previous or {}
        self._previously_gone = previously_gone
        self._now: dict[str, InvoiceChildren] = {}
        self._gone_now: set[str] = set()
        self._listed: set[str] = set()
        self._dropped: set[str] = set()

    @classmethod
    def parse(cls, value: object) -> RememberedInvoices:
        """Rebuild them from a bookmark, refusing any shape this version did not write."""
        streams = value.get("streams") if isinstance(value, Mapping) else None
        invoices = value.get("invoices") if isinstance(value, Mapping) else None
        gone = value.get("gone") if isinstance(value, Mapping) else None
        if not (
            isinstance(gone, list)
            and all(isinstance(invoice_id, str) for invoice_id in gone)
            and isinstance(streams, list)
            and all(isinstance(name, str) for name in streams)
            and isinstance(invoices, Mapping)
            and all(
                isinstance(keys, list)
                and len(keys) == len(streams)
                and all(type(entry) is int or isinstance(entry, list) for entry in keys)
                for keys in invoices.values()
            )
        ):
            msg = f"{FIELD} in the state was not written by this version of tap-invoicing"
            raise StateError(msg)
        return cls(
            {
                str(invoice_id): dict(zip(streams, keys, strict=True))
                for invoice_id, keys in invoices.items()
            },
            frozenset(gone),
        )

    def __contains__(self, invoice_id: object) -> bool:
        """Whether the previous run remembered this invoice (open, or found gone)."""
        return invoice_id in self._previous or invoice_id in self._previously_gone

    def listed(self, invoice_id: str) -> None:
        """The list named this invoice in this pass."""
        if invoice_id in self._previous:
            self._listed.add(invoice_id)

    def unlisted(self) -> Iterator[str]:
        """Remembered invoices this pass's whole list did not name: gone, or listed late (one
        found gone already is not asked about again)."""
        return (invoice_id for invoice_id in self._previous if invoice_id not in self._listed)

    def previous_children(self, invoice_id: str) -> InvoiceChildren | None:
        """What the previous run remembered of the invoice's rows (None: not remembered)."""
        return self._previous.get(invoice_id)

    def keep(self, invoice_id: str, children: InvoiceChildren) -> None:
        """Remember the invoice, with its rows as this run wrote them."""
        self._now[invoice_id] = children

    def carry(self, invoice_id: str) -> None:
        """Remember the invoice as the previous run did: it was not read this run, and is read
        again next run."""
        self._now[invoice_id] = self._previous.get(invoice_id, {})

    def drop(self, invoice_id: str) -> None:
        """The invoice was read and can no longer change: it is not remembered."""
        self._now.pop(invoice_id, None)
        self._dropped.add(invoice_id)

    def gone(self, invoice_id: str) -> None:
        """The invoice is gone from the API: remembered one more run, without rows."""
        self._now.pop(invoice_id, None)
        self._gone_now.add(invoice_id)

    def to_state(self) -> dict[str, Any]:
        """The JSON form kept in the bookmark (an invoice carried without rows keeps none)."""
        return _state(self._now, self._gone_now)

    def checkpoint_state(self) -> dict[str, Any]:
        """The JSON form for a checkpoint mid-pass: this run's so far, and the previous run's
        invoices this pass has not read yet, as the previous run left them."""
        handled = self._now.keys() | self._dropped | self._gone_now
        unread = {i: rows for i, rows in self._previous.items() if i not in handled}
        gone = self._gone_now | (self._previously_gone - handled)
        return _state({**unread, **self._now}, gone)


class RemembersInvoices:
    """What a plan that remembers invoices answers the engine from them."""

    _remembered: RememberedInvoices

    def unlisted(self) -> Iterator[str]:
        """Invoices remembered last time that this pass's whole list no longer names (a deleted
        draft, an invoice gone): each is read, and a 404 confirms it is gone."""
        return self._remembered.unlisted()

    def previous_children(self, invoice_id: str) -> InvoiceChildren | None:
        """The invoice's rows as the previous run wrote them, if it remembered the invoice."""
        return self._remembered.previous_children(invoice_id)


def _state(invoices: Mapping[str, InvoiceChildren], gone: Set[str]) -> dict[str, Any]:
    """``{"streams": [...], "invoices": {id: [rows per stream]}, "gone": [...]}``."""
    streams = sorted({name for children in invoices.values() for name in children})
    return {
        "streams": streams,
        "invoices": {
            invoice_id: [children.get(name, []) for name in streams]
            for invoice_id, children in invoices.items()
        },
        "gone": sorted(gone),
    }
