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
from tap_invoicing.sandbox.paypal.record import (
    TRANSACTION_IDS,
    StoredInvoice,
    amount_of,
    date_time,
)

PAYABLE_STATUSES = frozenset({"SENT", "UNPAID", "PARTIALLY_PAID", "PAYMENT_PENDING"})
UNPAID_STATUSES = frozenset({"SENT", "UNPAID"})
"""The sent states with nothing paid, which an invoice whose payments are deleted goes back to."""
REPLACEABLE_STATUSES = frozenset({"DRAFT", "SCHEDULED", "SENT", "UNPAID", "PAYMENT_PENDING"})
"""The statuses whose links offer ``replace`` (PUT), as the seed's SENT invoice does; an invoice
with payments, refunds or a cancellation is past a full update."""
SERVER_DETAIL_FIELDS = ("metadata", "viewed_by_recipient", "group_draft", "archived")
"""What of ``detail`` PayPal keeps up itself, whatever a full update says."""
DEFAULTED_DETAIL_FIELDS = ("invoice_number", "invoice_date")
"""What of ``detail`` PayPal fills in when a body leaves it out ([S1]: the number defaults to the
next one; the date is taken to default likewise): here, what the invoice had."""
SERVER_FIELDS = ("gratuity", "payments", "refunds", "links", "unilateral")
"""The read-only top-level parts a full update leaves as they are (besides id and status)."""
DELETABLE_STATUSES = frozenset({"DRAFT", "SCHEDULED"})
"""Only drafts and scheduled invoices can be deleted ([S1] ``invoices.delete``)."""
CANCELLABLE_STATUSES = frozenset({"SENT", "UNPAID", "SCHEDULED"})
REFUNDABLE_STATUSES = frozenset({"PAID", "MARKED_AS_PAID", "PARTIALLY_REFUNDED"})
UPDATABLE_FIELDS = frozenset({"reference", "note", "memo", "terms_and_conditions"})
"""The ``detail`` texts ``update`` changes; a None value removes one."""


class RefusalError(ActionNotAllowedError):
    """A change PayPal refuses with 422 UNPROCESSABLE_ENTITY: ``issue`` and ``description``
    are the entry of its error's ``details``."""

    def __init__(self, message: str, issue: str, description: str) -> None:
        super().__init__(message)
        self.issue = issue
        self.description = description


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
    if invoice.status in UNPAID_STATUSES:
        invoice.unpaid_status = invoice.status
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
    """Change ``detail`` texts, a test's shortcut that any invoice but a cancelled one takes
    (``replace`` is PayPal's full update, with its status rules)."""
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


def derived_status(invoice: StoredInvoice) -> str:
    """The status the transactions left on an invoice imply, once one is deleted (worked out,
    not documented): nothing paid, the sent state it had before; part of the total, PARTIALLY_PAID
    (something is due again, refunds or not); all of it, PAID (MARKED_AS_PAID when no payment
    went through PayPal), PARTIALLY_REFUNDED, or REFUNDED (MARKED_AS_REFUNDED when no refund went
    through PayPal) as the refunds reach the payments."""
    paid, refunded = invoice.sum_of("payments"), invoice.sum_of("refunds")
    if not paid:
        return invoice.unpaid_status
    if paid < invoice.total:
        return "PARTIALLY_PAID"
    if not refunded:
        return "PAID" if invoice.sum_of("payments", "PAYPAL") else "MARKED_AS_PAID"
    if refunded < paid:
        return "PARTIALLY_REFUNDED"
    return "REFUNDED" if invoice.sum_of("refunds", "PAYPAL") else "MARKED_AS_REFUNDED"


def check_deletable(invoice: StoredInvoice) -> None:
    """Only a draft or a scheduled invoice can be deleted; a sent one can be cancelled ([S1]).
    The spec lists no 422 for ``invoices.delete``; the sandbox answers its refusal as PayPal
    answers its other business-rule refusals (cancelling a paid invoice), with an issue of its
    own naming."""
    if invoice.status not in DELETABLE_STATUSES:
        raise RefusalError(
            f"cannot delete invoice {invoice.id} in status {invoice.status}: only draft or "
            f"scheduled invoices can be deleted (cancel a sent one)",
            "CANNOT_DELETE_INVOICE",
            "Only a draft or scheduled invoice can be deleted; cancel a sent invoice instead.",
        )


def delete_transaction(
    invoice: StoredInvoice, collection: str, transaction_id: str, now: datetime
) -> dict[str, Any]:
    """Delete the recorded (EXTERNAL) payment or refund ``transaction_id`` ([S1]
    ``invoices.payments-delete``, ``invoices.refunds-delete``); the totals and the status follow
    (``derived_status``). KeyError if the invoice has no such transaction; a PayPal one cannot
    be deleted, nor a payment the recorded refunds would then exceed (the spec's
    CANNOT_DELETE_EXTERNAL_PAYMENT). Returns the transaction deleted."""
    key = TRANSACTION_IDS[collection]
    transactions = invoice.transactions(collection)
    position = next((n for n, t in enumerate(transactions) if t.get(key) == transaction_id), None)
    kind = "payment" if collection == "payments" else "refund"
    if position is None:
        raise KeyError(f"invoice {invoice.id} has no {kind} {transaction_id!r}")
    transaction = transactions[position]
    if transaction["type"] != "EXTERNAL":
        raise RefusalError(
            f"cannot delete {kind} {transaction_id} of invoice {invoice.id}: it was made "
            f"through PayPal, and only recorded (EXTERNAL) ones can be deleted",
            f"CANNOT_DELETE_PAYPAL_{kind.upper()}",
            f"Only an external {kind} can be deleted.",
        )
    left = invoice.sum_of("payments") - amount_of(transaction["amount"])
    if collection == "payments" and invoice.sum_of("refunds") > left:
        raise RefusalError(
            f"cannot delete payment {transaction_id} of invoice {invoice.id}: its refunds "
            f"would exceed its payments",
            "CANNOT_DELETE_EXTERNAL_PAYMENT",
            # The spec's own words, its typo included.
            "The external payment cannot be deleted as the recorded refund cannot exceed the "
            "recored payment for an invoice.",
        )
    invoice.remove_transaction(collection, position)
    invoice.set_status(derived_status(invoice))
    invoice.touch(now)
    return transaction


def replace(invoice: StoredInvoice, new: dict[str, Any], now: datetime) -> None:
    """The full update ([S1] ``invoices.update``): ``new`` (checked and priced by
    ``update.replacement``) replaces every writable part, the items included; a part it leaves
    out is gone (but for the number and date, which PayPal fills in). PayPal's own parts stay:
    id, status, metadata, payments, refunds, links; the invoicer is the account's, so its e-mail
    stays too (another is the spec's 422 USER_NOT_FOUND); the amounts due follow the new total.
    """
    if invoice.status not in REPLACEABLE_STATUSES:
        raise RefusalError(
            f"cannot update invoice {invoice.id} in status {invoice.status}: only "
            f"{', '.join(sorted(REPLACEABLE_STATUSES))} invoices can be updated",
            "CANNOT_UPDATE_INVOICE",
            "The invoice cannot be updated in its current status.",
        )
    old = invoice.detail
    email = old["invoicer"]["email_address"]
    invoicer = new.get("invoicer", old["invoicer"])
    if invoicer.get("email_address", email) != email:
        raise RefusalError(
            f"invoicer e-mail {invoicer['email_address']!r} is not the account's ({email})",
            "USER_NOT_FOUND",
            "User is not associated with paypal based on invoicer email.",
        )
    body: dict[str, Any] = {key: old[key] for key in ("id", "parent_id", "status") if key in old}
    detail = {key: value for key, value in new["detail"].items() if key not in SERVER_DETAIL_FIELDS}
    detail |= {key: old["detail"][key] for key in SERVER_DETAIL_FIELDS if key in old["detail"]}
    for key in DEFAULTED_DETAIL_FIELDS:
        detail.setdefault(key, old["detail"][key])
    body["detail"] = detail
    body["invoicer"] = {**invoicer, "email_address": email}
    for key in ("primary_recipients", "additional_recipients", "items", "configuration"):
        if key in new:
            body[key] = new[key]
    body["amount"] = new["amount"]
    body["due_amount"] = new["amount"]  # until ``recount`` takes the payments off
    body |= {key: old[key] for key in SERVER_FIELDS if key in old}
    invoice.detail = body
    invoice.recount()
    invoice.touch(now)
