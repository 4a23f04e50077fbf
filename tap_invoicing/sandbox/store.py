"""A lock-guarded, creation-ordered record store shared by the HTTP threads and the test thread."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class HasDetail(Protocol):
    """A stored invoice: ``detail`` is its body as the detail endpoint serves it."""

    detail: dict[str, Any]


Stored = TypeVar("Stored", bound=HasDetail)


class RecordStore(Generic[T]):
    """Records keyed by id in creation order (oldest first); all access goes through ``locked``,
    so a list page, a detail body and a mutation each see one consistent state."""

    def __init__(self, records: list[tuple[str, T]]) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, T] = dict(records)

    @contextmanager
    def locked(self) -> Iterator[dict[str, T]]:
        """Hold the lock and hand out the mapping; insertion order is creation order."""
        with self._lock:
            yield self._records


def find(records: dict[str, Stored], invoice_id: str) -> Stored:
    """The stored invoice, or a KeyError that names it."""
    try:
        return records[invoice_id]
    except KeyError:
        raise KeyError(f"no invoice {invoice_id!r}") from None


class StoredInvoices(Generic[Stored]):
    """What every emulator offers tests about its data, whatever the API: the tap config's
    credentials, each invoice as served, the ids newest first, and removing one."""

    credentials: Any
    """A frozen dataclass named like the provider's credential settings."""
    _store: RecordStore[Stored]

    def config(self) -> dict[str, str]:
        """The credential settings of the tap config."""
        return asdict(self.credentials)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """A deep copy of the invoice as the detail endpoint serves it (less what each response
        adds of its own, such as a server clock)."""
        with self._store.locked() as records:
            return copy.deepcopy(find(records, invoice_id).detail)

    def invoice_ids(self) -> list[str]:
        """All ids, newest first."""
        with self._store.locked() as records:
            return list(reversed(records))

    def delete(self, invoice_id: str) -> None:
        """Remove an invoice entirely, as if it never existed."""
        with self._store.locked() as records:
            find(records, invoice_id)
            del records[invoice_id]
