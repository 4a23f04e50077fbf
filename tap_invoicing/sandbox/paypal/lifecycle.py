"""Invoice state changes as PayPal makes them. Each is an update: it moves
``detail.metadata.last_update_time`` to ``now``. The docs give the statuses, not every
transition; these follow PayPal's invoicing lifecycle page [S8]: a payment that settles the
invoice makes it PAID (made through PayPal) or MARKED_AS_PAID (recorded), one that does not
PARTIALLY_PAID; refunds likewise (REFUNDED or MARKED_AS_REFUNDED, else PARTIALLY_REFUNDED).
``allow_partial_payment`` is not enforced, so tests can pay part of any invoice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tap_invoicing.sandbox.emulator import ActionNotAllowedError
from tap_invoicing.sandbox.fakedata import to_amount
from tap_invoicing.sandbox.paypal.data import InvoiceFactory
from tap_invoicing.sandbox.paypal.record import StoredInvoice, date_time

PAYABLE_STATUSES = frozenset({"SENT", "UNPAID", "PARTIALLY_PAID", "PAYMENT_PENDING"})
CANCELLABLE_STATUSES = frozenset({"SENT", "UNPAID", "SCHEDULED"})
REFUNDABLE_STATUSES = frozenset({"PAID", "MARKED_AS_PAID", "PARTIALLY_REFUNDED"})
UPDATABLE_FIELDS = frozenset({"reference", "note", "memo", "terms_and_conditions"})
"""The ``detail`` texts ``update`` changes; a None value removes one."""


def _refuse(invoice: StoredInvoice, action: str) -> ActionNotAllowedError:
    return ActionNotAllowedError(f"cannot {action} invoice {invoice.id} in status {invoice.status}")


def _checked(asked: Decimal | str | float | None, most: Decimal, what: str) -> Decimal:
    """The amount asked for (``most`` when None): positive, at most ``most``."""
    amount = most if asked is None else to_amount(asked)
    if not 0 < amount <= most:
        raise ValueError(f"{what} {amount} must be positive and at most {most}")
    return amount


def send(invoice: StoredInvoice, now: datetime) -> None:
    """DRAFT -> SENT: the first and last sent times are now."""
    if invoice.status != "DRAFT":
        raise _refuse(invoice, "send")
    metadata = invoice.metadata
    metadata["first_sent_time"] = metadata["last_sent_time"] = date_time(now)
    metadata["last_sent_by"] = invoice.detail["invoicer"]["email_address"]
    invoice.set_status("SENT")
    invoice.touch(now)


def pay(
    invoice: StoredInvoice,
    factory: InvoiceFactory,
    now: datetime,
    asked: Decimal | str | float | None,
    *,
    external: bool,
) -> dict[str, Any]:
    """A payment of ``asked`` (the due amount when None), made through PayPal or recorded
    (``external``); returns the transaction."""
    if invoice.status not in PAYABLE_STATUSES:
        raise _refuse(invoice, "take a payment for")
    due = invoice.total - invoice.sum_of("payments")
    amount = _checked(asked, due, "payment")
    transaction = factory.payment(invoice, amount, now, external)
    invoice.add_transaction("payments", transaction)
    settled = amount == due
    invoice.set_status(("MARKED_AS_PAID" if external else "PAID") if settled else "PARTIALLY_PAID")
    invoice.touch(now)
    return transaction


def refund(
    invoice: StoredInvoice,
    factory: InvoiceFactory,
    now: datetime,
    asked: Decimal | str | float | None,
    *,
    external: bool,
) -> dict[str, Any]:
    """A refund of ``asked`` (all that is left when None). Through PayPal it needs a PayPal
    payment to refund (a PAID invoice, or one partially refunded); a recorded one goes on a
    paid or marked-as-paid invoice. Returns the transaction."""
    allowed = REFUNDABLE_STATUSES if external else REFUNDABLE_STATUSES - {"MARKED_AS_PAID"}
    if invoice.status not in allowed or (not external and not invoice.sum_of("payments", "PAYPAL")):
        raise _refuse(invoice, "refund" if not external else "record a refund for")
    left = invoice.sum_of("payments") - invoice.sum_of("refunds")
    amount = _checked(asked, left, "refund")
    transaction = factory.refund(invoice, amount, now, external)
    invoice.add_transaction("refunds", transaction)
    complete = amount == left
    invoice.set_status(
        ("MARKED_AS_REFUNDED" if external else "REFUNDED") if complete else "PARTIALLY_REFUNDED"
    )
    invoice.touch(now)
    return transaction


def cancel(invoice: StoredInvoice, now: datetime) -> None:
    """Cancel a sent or scheduled invoice nothing was paid on."""
    if invoice.status not in CANCELLABLE_STATUSES:
        raise _refuse(invoice, "cancel")
    invoice.metadata["cancel_time"] = date_time(now)
    invoice.metadata["cancelled_by"] = invoice.detail["invoicer"]["email_address"]
    invoice.set_status("CANCELLED")
    invoice.touch(now)


def update(invoice: StoredInvoice, changes: dict[str, str | None], now: datetime) -> None:
    """Change ``detail`` texts (PayPal's full update, kept to the simple fields); a cancelled
    invoice cannot be changed."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"cannot update {sorted(unknown)}; updatable: {sorted(UPDATABLE_FIELDS)}")
    if invoice.status == "CANCELLED":
        raise _refuse(invoice, "update")
    detail = invoice.detail["detail"]
    for name, value in changes.items():
        if value is None:
            detail.pop(name, None)
        else:
            detail[name] = value
    invoice.touch(now)
