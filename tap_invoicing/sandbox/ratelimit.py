"""Per-API request limits, as vendors publish them ("20 requests per second"), enforced over
sliding windows so that a client pacing itself by the published numbers is never refused."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

CLOCK_RESOLUTION = 1e-9
"""``time.monotonic`` counts nanoseconds: a gap this close to a window's length (float
arithmetic on 1/20 s steps) is the full window."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` requests in any window of ``seconds``."""

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        """Reject a limit that could never admit anything, at the line that built it."""
        if self.requests < 1 or self.seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and seconds > 0")


class RateLimiter:
    """Counts every arrival, refused ones included (a client hammering a 429 stays refused), and
    refuses an arrival that would make any window of any limit hold more than its ``requests``.

    Each limit keeps only the arrival times of its last ``requests`` arrivals: the oldest of them
    decides whether the window is full.
    """

    def __init__(self, limits: tuple[RateLimit, ...]) -> None:
        self._lock = threading.Lock()
        self._windows = [(limit, deque[float](maxlen=limit.requests)) for limit in limits]

    def admit(self, arrived: float) -> bool:
        """Count an arrival at ``arrived`` (``time.monotonic()``); False if it is over a limit."""
        with self._lock:
            admitted = all(
                len(arrivals) < limit.requests
                or arrived - arrivals[0] >= limit.seconds - CLOCK_RESOLUTION
                for limit, arrivals in self._windows
            )
            for _, arrivals in self._windows:
                arrivals.append(arrived)
            return admitted
