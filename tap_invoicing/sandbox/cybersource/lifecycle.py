"""Invoice state changes as CyberSource allows them, each leaving a consistent history entry."""

from __future__ import annotations

import random
from decimal import Decimal, InvalidOperation
from typing import Any

from tap_invoicing.sandbox.cybersource.data import payment_link, transaction_id
from tap_invoicing.sandbox.cybersource.record import StoredInvoice, to_decimal
from tap_invoicing.sandbox.emulator import ActionNotAllowedError

SENDABLE = frozenset({"DRAFT", "CREATED", "SENT", "PARTIAL"})
REMINDABLE = frozenset({"SENT", "PARTIAL"})
PAYABLE = frozenset({"CREATED", "SENT", "PARTIAL", "PENDING"})
FROZEN = frozenset({"CANCELED", "PENDING", "PAID"})
UPDATE_FIELDS = {
    "description": ("invoiceInformation", "description"),
    "due_date": ("invoiceInformation", "dueDate"),
    "expiration_date": ("invoiceInformation", "expirationDate"),
    "allow_partial_payments": ("invoiceInformation", "allowPartialPayments"),
    "customer_name": ("customerInformation", "name"),
    "customer_email": ("customerInformation", "email"),
    "merchant_customer_id": ("customerInformation", "merchantCustomerId"),
}


def _refuse(invoice: StoredInvoice, action: str) -> ActionNotAllowedError:
    return ActionNotAllowedError(f"cannot {action} invoice {invoice.id} in status {invoice.status}")


def publish(invoice: StoredInvoice, now_ms: int, rng: random.Random) -> None:
    """DRAFT -> CREATED: the invoice gets its payment link but no email goes out."""
    if invoice.status != "DRAFT":
        raise _refuse(invoice, "publish")
    invoice.detail["status"] = "CREATED"
    invoice.detail["invoiceInformation"].setdefault("paymentLink", payment_link(rng))
    invoice.add_event("CREATE", now_ms)


def send(invoice: StoredInvoice, now_ms: int, rng: random.Random) -> None:
    """Email the invoice: SEND the first time, RESEND after; an unsent invoice becomes SENT."""
    if invoice.status not in SENDABLE:
        raise _refuse(invoice, "send")
    history = invoice.detail["invoiceHistory"]
    event = "RESEND" if any(entry["event"] == "SEND" for entry in history) else "SEND"
    if invoice.status in {"DRAFT", "CREATED"}:
        invoice.detail["status"] = "SENT"
    info = invoice.detail["invoiceInformation"]
    if info.get("deliveryMode", "None").lower() == "none":
        info["deliveryMode"] = "Email"
    info.setdefault("paymentLink", payment_link(rng))
    invoice.add_event(event, now_ms)


def remind(invoice: StoredInvoice, now_ms: int) -> None:
    """A reminder email; only an invoice that was sent and is still open can get one."""
    if invoice.status not in REMINDABLE:
        raise _refuse(invoice, "remind about")
    invoice.add_event("REMINDER", now_ms)


def pay(
    invoice: StoredInvoice,
    amount: Decimal | str | float | None,
    now_ms: int,
    rng: random.Random,
) -> None:
    """Take a payment: the whole balance (-> PAID) or part of it (-> PARTIAL).

    A partial payment is taken even where the merchant had not allowed them (the flag is turned
    on, so the invoice stays self-consistent) and regardless of ``minimumPartialAmount``: tests
    choose the amount, the sandbox does not second-guess it.
    """
    if invoice.status not in PAYABLE:
        raise _refuse(invoice, "pay")
    amounts = invoice.amounts
    balance = to_decimal(amounts["balanceAmount"])
    try:
        paid = balance if amount is None else Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not paid.is_finite() or not 0 < paid <= balance:
        raise ValueError(f"payment {paid} must be positive and at most the balance {balance}")
    if paid < balance:
        invoice.detail["invoiceInformation"]["allowPartialPayments"] = True
    remaining = balance - paid
    amounts["balanceAmount"] = invoice.money(remaining)
    invoice.detail["status"] = "PARTIAL" if remaining else "PAID"
    invoice.detail["invoiceInformation"].setdefault("paymentLink", payment_link(rng))
    payment = {"transactionId": transaction_id(rng), "amount": invoice.money(paid)}
    invoice.add_event("PAYMENT", now_ms, payment)


def cancel(invoice: StoredInvoice, now_ms: int) -> None:
    """Cancel an invoice nobody has paid (or started paying); its link stops working."""
    if invoice.status in FROZEN or invoice.has_payments():
        raise _refuse(invoice, "cancel")
    invoice.detail["status"] = "CANCELED"
    invoice.detail["invoiceInformation"].pop("paymentLink", None)
    invoice.add_event("CANCEL", now_ms)


def update(invoice: StoredInvoice, changes: dict[str, Any], now_ms: int) -> None:
    """Change editable fields (``None`` removes one); the status stays, an UPDATE is logged."""
    unknown = set(changes) - set(UPDATE_FIELDS)
    if unknown:
        raise TypeError(f"cannot update {sorted(unknown)}; updatable: {sorted(UPDATE_FIELDS)}")
    if invoice.status in FROZEN or invoice.has_payments():
        raise _refuse(invoice, "update")
    for name, value in changes.items():
        section, key = UPDATE_FIELDS[name]
        if value is None:
            invoice.detail[section].pop(key, None)
        else:
            invoice.detail[section][key] = value
    invoice.add_event("UPDATE", now_ms)
