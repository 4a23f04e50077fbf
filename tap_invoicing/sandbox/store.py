"""A lock-guarded, creation-ordered record store shared by the HTTP threads and the test thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


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
