"""What the sandbox was asked, for assertions: the request log and the before-serving listeners."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IncomingRequest:
    """A request as the listeners see it, before it is served (so they can change the data)."""

    method: str
    path: str
    query: dict[str, str]
    kind: str
    invoice_id: str | None


@dataclass(frozen=True)
class RequestRecord:
    """One served request. ``status`` is 0 when no complete response was sent (drop, truncate);
    ``time`` is ``time.monotonic()`` when the request arrived."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    time: float
    kind: str
    invoice_id: str | None = None


Listener = Callable[[IncomingRequest], object]


class RequestLog:
    """Thread-safe request log plus the callbacks to run before each request is served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._listeners: list[Listener] = []
        self._errors: list[BaseException] = []

    def append(self, record: RequestRecord) -> None:
        """Log a request; the server does it before writing the response, so a client that has
        its answer always finds the request logged."""
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        """A snapshot of the log, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget the logged requests (listeners stay)."""
        with self._lock:
            self._records.clear()

    def listen(self, listener: Listener) -> None:
        """Run ``listener`` before every later request is served."""
        with self._lock:
            self._listeners.append(listener)

    def notify(self, request: IncomingRequest) -> None:
        """Run the listeners in registration order; their exceptions propagate to the server."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(request)

    def add_error(self, error: BaseException) -> None:
        """Keep a sandbox-side failure (a bug, or a listener that raised) for tests to see."""
        with self._lock:
            self._errors.append(error)

    def errors(self) -> list[BaseException]:
        """Sandbox-side failures so far; each was answered with a 500."""
        with self._lock:
            return list(self._errors)
