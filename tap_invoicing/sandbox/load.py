"""How busy the emulated API is: its latency (with jitter), and a load shedder.

Real invoicing APIs answer in 100-300 ms, not always the same, and some refuse requests above a
number in flight rather than queue them. Both are here so that a client's adaptation to them can
be tested and measured.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """A request as the shedder saw it: when, how many requests were open with it (itself
    included, refused ones too: what the client had out), and whether it was refused."""

    at: float
    open: int
    shed: bool


class ServerLoad:
    """``latency`` seconds per response, each drawn within ``±jitter`` of it (a fraction), and,
    when ``shed_above`` is set, a 429 for every request arriving while that many are being served
    already (with ``Retry-After: 1`` unless ``shed_retry_after`` is false).

    A refused request costs the server nothing: it is not counted among those being served,
    though its answer still takes the latency (the network's round trip).
    """

    def __init__(
        self,
        latency: float = 0.0,
        *,
        jitter: float = 0.0,
        shed_above: int | None = None,
        shed_retry_after: bool = True,
        seed: int = 0,
    ) -> None:
        if latency < 0 or not 0 <= jitter <= 1:
            raise ValueError("latency must be >= 0 and jitter within 0-1")
        if shed_above is not None and shed_above < 1:
            raise ValueError("shed_above must be >= 1")
        self.latency = latency
        self.jitter = jitter
        self.shed_above = shed_above
        self.shed_headers = {"Retry-After": "1"} if shed_retry_after else {}
        self._random = random.Random(f"{seed}:latency")
        self._lock = threading.Lock()
        self._served = 0
        self._open = 0
        self._arrivals: list[Arrival] = []

    def arrive(self) -> bool:
        """Count a request in; True if it is to be shed."""
        with self._lock:
            shed = self.shed_above is not None and self._served >= self.shed_above
            self._served += not shed
            self._open += 1
            self._arrivals.append(Arrival(time.monotonic(), self._open, shed))
            return shed

    def leave(self, *, shed: bool) -> None:
        """Count a request out, once its response is written."""
        with self._lock:
            self._served -= not shed
            self._open -= 1

    def response_latency(self) -> float:
        """How long the next response takes, from its request's arrival."""
        if not self.jitter:
            return self.latency
        with self._lock:
            spread = self._random.uniform(-self.jitter, self.jitter)
        return self.latency * (1 + spread)

    @property
    def arrivals(self) -> list[Arrival]:
        """Every request counted so far, in arrival order."""
        with self._lock:
            return list(self._arrivals)
