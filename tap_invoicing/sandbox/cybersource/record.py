"""One stored CyberSource invoice and the wire formats of its timestamps and amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast


def created_date(ms: int) -> str:
    """The list's ``createdDate``: whole seconds, ``Z`` suffix."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_date(ms: int, *, trim: bool) -> str:
    """An ``invoiceHistory`` date with milliseconds; ``trim`` drops trailing zeros of the
    fraction as some real responses do (``...31.09Z``)."""
    seconds, millis = divmod(ms, 1000)
    fraction = f"{millis:03d}"
    if trim:
        fraction = fraction.rstrip("0")
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def to_decimal(value: Decimal | str | int) -> Decimal:
    """An amount as served (number or string) back to an exact Decimal."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass
class StoredInvoice:
    """``detail`` is the detail body exactly as served, minus ``submitTimeUtc``; the other
    fields are the per-invoice serving quirks and bookkeeping the body does not show."""

    detail: dict[str, Any]
    created_ms: int
    list_created_date: bool
    money_as_text: bool
    trim_millis: bool
    last_event_ms: int

    @property
    def id(self) -> str:
        """The invoice id used in URLs."""
        return cast("str", self.detail["id"])

    @property
    def status(self) -> str:
        """The current status."""
        return cast("str", self.detail["status"])

    @property
    def amounts(self) -> dict[str, Any]:
        """``orderInformation.amountDetails``, live (mutations write through it)."""
        return cast("dict[str, Any]", self.detail["orderInformation"]["amountDetails"])

    def money(self, amount: Decimal) -> Decimal | str:
        """An amount in this invoice's wire type: a JSON number, or a string for ~5% of them."""
        return str(amount) if self.money_as_text else amount

    def has_payments(self) -> bool:
        """Whether any payment was taken; CyberSource then forbids update and cancel."""
        return any(entry["event"] == "PAYMENT" for entry in self.detail["invoiceHistory"])

    def add_event(self, event: str, at_ms: int, payment: dict[str, Any] | None = None) -> None:
        """Prepend a history entry (newest first), never earlier than the previous one."""
        at_ms = max(at_ms, self.last_event_ms + 1)
        entry: dict[str, Any] = {"event": event, "date": history_date(at_ms, trim=self.trim_millis)}
        if payment is not None:
            entry["transactionDetails"] = payment
        self.detail["invoiceHistory"].insert(0, entry)
        self.last_event_ms = at_ms
