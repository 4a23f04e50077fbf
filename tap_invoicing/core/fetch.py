"""Fetching many resources at once with a bounded number in flight.

The invoicing APIs answer one invoice per request, so a run's time is the round trips; workers
overlap them. At most ``SUBMITTED_PER_PLACE`` times the concurrency limit's current value are
submitted and not yet handed back, so memory stays bounded by the concurrency however long the
list is. The request gate holds the requests themselves to the limit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tap_invoicing.core.concurrency import ConcurrencyLimit

Item = TypeVar("Item")
Result = TypeVar("Result")

SUBMITTED_PER_PLACE = 2
"""Fetches submitted per place in flight: enough that no place idles while the caller emits
results or a worker conforms one."""

ABORT_GRACE = 5.0
"""Seconds a stopping run waits for its workers' requests in flight to end, so that their last
log lines come before the run's error, not after it."""


class _Workers:
    """Daemon threads running submitted calls, handing back outcomes as they complete; a thread
    is started whenever more calls are outstanding than there are threads, so the pool follows
    the concurrency up (and keeps its threads when it comes down).

    Daemon, unlike ``ThreadPoolExecutor``'s: when a run fails, the process must exit at once,
    not after every worker's backoff sleep or hung request has run its course.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self._outcomes: queue.SimpleQueue[tuple[Any, BaseException | None]] = queue.SimpleQueue()
        self._closed = False
        self._outstanding = 0
        self._threads: list[threading.Thread] = []

    def submit(self, call: Callable[[], Any]) -> None:
        """Queue a call for the next free worker."""
        self._outstanding += 1
        if self._outstanding > len(self._threads):
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        self._jobs.put(call)

    def next_outcome(self) -> Any:
        """The result of the next call to complete, or its exception raised."""
        result, error = self._outcomes.get()
        self._outstanding -= 1
        if error is not None:
            raise error
        return result

    def close(self, *, grace: float = 0.0) -> None:
        """Let each worker finish its current call and end, waiting up to ``grace`` seconds for
        them; calls not yet started are dropped."""
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while (call := self._jobs.get()) is not None:
            if self._closed:
                continue
            try:
                self._outcomes.put((call(), None))
            except BaseException as error:
                self._outcomes.put((None, error))


def _paired(fetch: Callable[[Item], Result], item: Item) -> tuple[Item, Result]:
    return item, fetch(item)


def fetch_all(
    items: Iterable[Item],
    fetch: Callable[[Item], Result],
    *,
    limit: ConcurrencyLimit,
    on_abort: Callable[[], None],
) -> Generator[tuple[Item, Result], None, None]:
    """``(item, fetch(item))`` for every item, in the order the fetches complete.

    ``items`` is consumed lazily, on the caller's thread, only as fast as fetches complete. With
    a fixed limit of one everything runs on the caller's thread, in order. If a fetch raises, or
    the caller stops early, ``on_abort`` is called (to stop requests still retrying), the
    fetches not yet started are dropped, and the error propagates.
    """
    pool = None if limit.limit == 1 and not limit.adaptive else _Workers(name="fetch")
    completed = False
    try:
        if pool is None:
            for item in items:
                yield item, fetch(item)
        else:
            submitted = 0
            for item in items:
                pool.submit(partial(_paired, fetch, item))
                submitted += 1
                while submitted >= SUBMITTED_PER_PLACE * limit.limit:
                    submitted -= 1
                    yield pool.next_outcome()
            for _ in range(submitted):
                yield pool.next_outcome()
        completed = True
    finally:
        if not completed:
            on_abort()
        if pool is not None:
            pool.close(grace=0.0 if completed else ABORT_GRACE)
