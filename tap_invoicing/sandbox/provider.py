"""The contract between the vendor-neutral sandbox and one vendor's emulation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from tap_invoicing.sandbox.server import Backend


class Emulator(Backend, Protocol):
    """An invoicing API emulation: HTTP serving (``Backend``) plus seeded data that tests can
    read and change. Constructed as ``Emulator(invoices=N, seed=S)``."""

    name: str
    credentials: Any  # a frozen dataclass of the provider's credential settings

    def config(self) -> dict[str, str]:
        """Credential settings for the tap config (``base_url`` and ``provider`` are added)."""
        ...

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """A deep copy of the invoice as the detail endpoint serves it."""
        ...

    def invoice_ids(self) -> list[str]:
        """All invoice ids in list order."""
        ...

    def pay(self, invoice_id: str, amount: Decimal | str | float | None = None) -> None:
        """Take a payment (the whole balance if ``amount`` is None)."""
        ...

    def cancel(self, invoice_id: str) -> None:
        """Cancel the invoice."""
        ...

    def update(self, invoice_id: str, **changes: Any) -> None:
        """Change editable fields."""
        ...

    def publish(self, invoice_id: str) -> None:
        """Publish a draft without sending it."""
        ...

    def send(self, invoice_id: str) -> None:
        """Send or resend the invoice."""
        ...

    def remind(self, invoice_id: str) -> None:
        """Send a payment reminder."""
        ...

    def add(self, n: int = 1, status: str = "SENT") -> list[str]:
        """Create invoices at the head of the list."""
        ...

    def delete(self, invoice_id: str) -> None:
        """Remove the invoice entirely."""
        ...
