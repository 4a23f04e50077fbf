"""The contract between the vendor-neutral sandbox and one vendor's emulation."""

from __future__ import annotations

from typing import Any, Protocol

from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.server import Backend


class ActionNotAllowedError(ValueError):
    """A change the vendor itself refuses in the invoice's current state (paying a paid
    invoice, cancelling a cancelled one)."""


class Emulator(Backend, Protocol):
    """An invoicing API emulation: HTTP serving (``Backend``) plus seeded data that tests can
    read. Constructed as ``Emulator(invoices=N, seed=S, **options)``; the state changes a vendor
    allows (pay, cancel, refund...) are methods of each emulator class, named as the vendor
    names them."""

    name: str
    credentials: Any  # a frozen dataclass of the provider's credential settings
    rate_limits: tuple[RateLimit, ...]
    """The API's published request limits; empty when the vendor publishes none."""

    def config(self) -> dict[str, str]:
        """Credential settings for the tap config (``base_url`` and ``provider`` are added)."""
        ...

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """A deep copy of the invoice as the detail endpoint serves it; KeyError if unknown."""
        ...

    def invoice_ids(self) -> list[str]:
        """All invoice ids, as strings, newest first."""
        ...
