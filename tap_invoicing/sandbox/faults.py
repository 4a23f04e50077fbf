"""Fault injection: scripted failures that a client must survive, matched per request."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status", "drop", "delay", "drip", "truncate", "garbage", "missing_fields", "rewrite"
]
FAULT_KINDS: frozenset[str] = frozenset(
    {"status", "drop", "delay", "drip", "truncate", "garbage", "missing_fields", "rewrite"}
)


@dataclass
class Fault:
    """One scripted failure.

    ``kind`` decides what the client sees: ``status`` (an error response), ``drop`` (the socket
    closes with no response), ``delay`` (``seconds`` of sleep, then a normal response), ``drip``
    (status and headers at once, then the body, the fault's ``body`` if set, one byte every
    ``seconds``: each read is quick, the whole response is not), ``truncate`` (half the body
    promised by Content-Length, then close), ``garbage`` (200 with a body that is not JSON),
    ``missing_fields`` (200 with valid JSON lacking the expected fields) or ``rewrite`` (the
    normal response with its JSON body passed through ``rewrite``: a total that lies, a page cut
    short, a value no schema expects).
    The fault applies to requests whose path starts with ``path_prefix`` (and, if set, whose
    method is ``method`` and whose route the backend classifies as ``route``: "list", "detail"),
    skips the first ``after`` of them, then fires with ``probability`` until it has fired
    ``times`` times (``None``: forever).
    """

    kind: FaultKind
    status: int = 500
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None
    seconds: float = 0.0
    rewrite: Callable[[Any], Any] | None = None
    path_prefix: str = "/"
    method: str | None = None
    route: str | None = None
    times: int | None = 1
    probability: float = 1.0
    after: int = 0

    def __post_init__(self) -> None:
        """Reject a fault that could never behave as written, at the test line that built it."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be None or >= 0")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.after < 0 or self.seconds < 0:
            raise ValueError("after and seconds must be >= 0")
        if (self.kind == "rewrite") != (self.rewrite is not None):
            raise ValueError("a rewrite function goes with kind 'rewrite', and only with it")

    def applies_to(self, method: str, path: str, route: str) -> bool:
        """Whether a request is one this fault is aimed at (before counting and chance)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.route is not None and self.route != route:
            return False
        return path.startswith(self.path_prefix)


@dataclass
class _Armed:
    """A fault plus its counters, kept apart so the caller's ``Fault`` is never mutated."""

    fault: Fault
    seen: int = 0
    fired: int = 0


class FaultPlan:
    """The ordered, thread-safe list of faults; the first one that fires wins the request."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault after the ones already armed."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def pick(self, method: str, path: str, route: str) -> Fault | None:
        """The fault that fires for this request, if any, consuming one of its ``times``."""
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if not fault.applies_to(method, path, route):
                    continue
                armed.seen += 1
                if armed.seen <= fault.after:
                    continue
                if fault.times is not None and armed.fired >= fault.times:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                armed.fired += 1
                return fault
        return None
