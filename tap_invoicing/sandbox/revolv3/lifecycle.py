"""Invoice state changes as Revolv3's billing engine makes them; each one is an update, so it
moves the invoice's hidden last-update time (the one the list filters on) to ``now``."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

from tap_invoicing.sandbox.emulator import ActionNotAllowedError
from tap_invoicing.sandbox.fakedata import to_amount
from tap_invoicing.sandbox.revolv3.data import (
    BILLABLE_STATUSES,
    REFUND_STATUSES,
    VOIDABLE_STATUSES,
    InvoiceFactory,
)
from tap_invoicing.sandbox.revolv3.record import StoredInvoice, line_items_subtotal

RETRIED_STATUSES = frozenset({"Pending", "Recycle"})
"""A failed attempt leaves these in Recycle (to be retried); Failed and Noncollectable stay."""
LINE_ITEM_FIELDS = frozenset({"name", "description", "value"})


def _refuse(invoice: StoredInvoice, action: str) -> ActionNotAllowedError:
    return ActionNotAllowedError(f"cannot {action} invoice {invoice.id} in status {invoice.status}")


def add_attempt(
    invoice: StoredInvoice,
    factory: InvoiceFactory,
    rng: random.Random,
    now: datetime,
    *,
    success: bool,
    processor: str | None,
) -> str:
    """A billing attempt now: a success pays the invoice, a failure sends a pending or
    recycling one (back) to Recycle. Only invoices still being billed take attempts."""
    if invoice.status not in BILLABLE_STATUSES:
        raise _refuse(invoice, "bill")
    if success and invoice.detail["total"] <= 0:
        raise _refuse(invoice, "take a payment of zero for")
    previous = invoice.attempts[-1]["paymentProcessor"] if invoice.attempts else None
    attempt = factory.attempt(
        rng, invoice, "Success" if success else "Fail", now, processor or previous
    )
    if success:
        invoice.set_status("Paid")
    elif invoice.status in RETRIED_STATUSES:
        invoice.set_status("Recycle")
    invoice.last_update = now
    return str(attempt["invoiceAttemptId"])


def void(invoice: StoredInvoice, now: datetime) -> None:
    """Void an invoice that is unpaid, or paid and not refunded (refunds have their own
    statuses); ``voidAttempts`` stays null, as its element shape is undocumented."""
    if invoice.status not in VOIDABLE_STATUSES:
        raise _refuse(invoice, "void")
    invoice.set_status("Void")
    invoice.last_update = now


def refund_status(parent: StoredInvoice, refunded: Decimal, amount: Decimal) -> str:
    """Refund when this refund completes the refunds of ``parent``, PartialRefund before."""
    if parent.status != "Paid":
        raise _refuse(parent, "refund")
    remaining = parent.detail["total"] - refunded
    if not 0 < amount <= remaining:
        raise ValueError(f"refund {amount} must be positive and at most {remaining}")
    return "Refund" if amount == remaining else "PartialRefund"


def edit_line_item(
    invoice: StoredInvoice, line_item_id: str, changes: dict[str, Any], now: datetime
) -> None:
    """Change a line item's name, description or value; subtotal and total follow (the tax
    stays as billed). Attempts already made keep the amount they were made for."""
    unknown = set(changes) - LINE_ITEM_FIELDS
    if unknown:
        raise TypeError(f"cannot edit {sorted(unknown)}; editable: {sorted(LINE_ITEM_FIELDS)}")
    if invoice.status in REFUND_STATUSES:
        raise _refuse(invoice, "edit")
    lines = invoice.detail["invoiceLineItems"]
    line = next((item for item in lines if str(item["invoiceLineItemId"]) == line_item_id), None)
    if line is None:
        raise KeyError(f"invoice {invoice.id} has no line item {line_item_id!r}")
    for name, value in changes.items():
        line[name] = to_amount(value) if name == "value" else value
    subtotal = line_items_subtotal(lines)
    invoice.detail["subtotal"] = subtotal
    invoice.detail["total"] = subtotal + invoice.detail["tax"]
    invoice.last_update = now
