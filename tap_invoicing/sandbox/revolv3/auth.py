"""The Revolv3 static token: the one credential the current API takes (api-notes section 1)."""

from __future__ import annotations

import hmac
import random
from dataclasses import dataclass, field
from email.message import Message

AUTH_HEADER = "x-revolv3-token"


@dataclass(frozen=True)
class Credentials:
    """The developer static token the sandbox accepts; the name matches the tap's setting. It is
    left out of the repr, so a failing test never prints it."""

    static_token: str = field(repr=False)

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        """Deterministic per seed, so a CI config written once keeps working."""
        rng = random.Random(f"{seed}:revolv3-token")
        return cls(f"r3st_{seed}_{rng.getrandbits(128):032x}")

    def accepts(self, headers: Message) -> bool:
        """Whether the request carries this token (compared in constant time)."""
        sent = headers.get(AUTH_HEADER)
        return sent is not None and hmac.compare_digest(sent.encode(), self.static_token.encode())
