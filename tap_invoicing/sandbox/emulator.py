"""The contract between the vendor-neutral sandbox and one vendor's emulation."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from tap_invoicing.sandbox.options import EmulatorOption
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.server import Backend


class ActionNotAllowedError(ValueError):
    """A change the vendor itself refuses in the invoice's current state (paying a paid
    invoice, cancelling a cancelled one)."""


class Emulator(Backend, Protocol):
    """An invoicing API emulation: HTTP serving (``Backend``) plus seeded data that tests can
    read. Constructed as ``Emulator(invoices=N, seed=S, **options)``; the state changes a vendor
    allows (pay, cancel, refund...) are methods of each emulator class, named as the vendor
    names them.

    The class itself says what the command line and the tests need without building one: its
    ``cli_options``, its ``secret_patterns`` and ``credentials_for_seed``."""

    name: str
    credentials: Any  # a frozen dataclass of the provider's credential settings
    rate_limits: tuple[RateLimit, ...]
    """The API's published request limits; empty when the vendor publishes none."""
    cli_options: ClassVar[tuple[EmulatorOption, ...]]
    """The constructor options ``tap-invoicing-sandbox`` offers for this provider (as
    ``--<name>``; other providers' options are refused)."""
    secret_patterns: ClassVar[tuple[re.Pattern[str], ...]]
    """What a secret made while serving looks like (an access token, a request signature): the
    tests' watch for leaked secrets looks for these, besides the seeded credentials."""

    def __init__(self, *, invoices: int, seed: int, **options: Any) -> None:
        """Seeded data and credentials; ``options`` are the emulator's own (its
        ``cli_options`` among them)."""
        ...

    @staticmethod
    def credentials_for_seed(seed: int) -> tuple[str, ...]:
        """The credential values the emulator built with ``seed`` accepts (the tests' watch for
        leaked secrets looks for those of every seed they use)."""
        ...

    def config(self) -> dict[str, str]:
        """Credential settings for the tap config (``base_url`` and ``provider`` are added)."""
        ...

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """A deep copy of the invoice as the detail endpoint serves it; KeyError if unknown."""
        ...

    def invoice_ids(self) -> list[str]:
        """All invoice ids, as strings, newest first."""
        ...
