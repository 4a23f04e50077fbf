"""Invoice state changes as CyberSource allows them, each leaving a consistent history entry."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tap_invoicing.sandbox.cybersource.data import (
    ZERO_DECIMAL_CURRENCIES,
    payment_link,
    transaction_id,
)
from tap_invoicing.sandbox.cybersource.record import StoredInvoice, to_decimal
from tap_invoicing.sandbox.emulator import ActionNotAllowedError
from tap_invoicing.sandbox.fakedata import quantize

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
    "delivery_mode": ("invoiceInformation", "deliveryMode"),
    "request_phone": ("processingInformation", "requestPhone"),
    "request_shipping": ("processingInformation", "requestShipping"),
}
"""``update``'s keywords for single fields; ``line_items`` replaces the order's lines."""
REQUEST_FIELDS: dict[str, dict[str, str]] = {
    "invoiceInformation": {
        "description": "description",
        "dueDate": "due_date",
        "expirationDate": "expiration_date",
        "allowPartialPayments": "allow_partial_payments",
        "deliveryMode": "delivery_mode",
    },
    "customerInformation": {
        "name": "customer_name",
        "email": "customer_email",
        "merchantCustomerId": "merchant_customer_id",
    },
    "processingInformation": {
        "requestPhone": "request_phone",
        "requestShipping": "request_shipping",
    },
}
"""The fields of an update request (``PUT /invoicing/v2/invoices/{id}``) and their ``update``
keywords; ``invoiceInformation.invoiceNumber`` may be sent but never changed."""
BOOLEAN_FIELDS = frozenset({"allowPartialPayments", "requestPhone", "requestShipping"})
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LINE_ITEM_FIELDS = (
    "productSku",
    "productName",
    "quantity",
    "unitPrice",
    "discountAmount",
    "discountPercent",
    "taxAmount",
    "taxRate",
    "totalAmount",
)
"""A line item's fields, in the order the detail serves them."""
LINE_ITEM_AMOUNTS = frozenset(LINE_ITEM_FIELDS) - {"productSku", "productName", "quantity"}
AMOUNT_DETAIL_FIELDS = frozenset(
    {
        "totalAmount",
        "currency",
        "discountAmount",
        "discountPercent",
        "subAmount",
        "minimumPartialAmount",
        "taxDetails",
        "freight",
    }
)
"""What an update request's ``orderInformation.amountDetails`` may hold; the balance is the
API's own (the whole total, as nothing is paid yet)."""
NESTED_AMOUNTS = {"taxDetails": ("amount", "rate"), "freight": ("amount", "taxRate")}
MAX_LINE_ITEMS = 30
MAX_QUANTITY = 999_999_999
CURRENCY = re.compile(r"[A-Z]{3}")


class InvalidRequestError(ValueError):
    """An update request the API answers with a 400 ``VALIDATION_ERROR``: ``field`` and
    ``reason`` (``MISSING_FIELD`` or ``INVALID_DATA``) make its ``details`` entry."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


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


def update(
    invoice: StoredInvoice,
    changes: dict[str, Any],
    now_ms: int,
    *,
    amount_details: Mapping[str, Any] | None = None,
) -> None:
    """Change editable fields (``None`` removes one); ``line_items`` replaces the order's lines
    and the amounts follow (``amount_details`` as an update request states them, else the
    invoice's own recomputed). The status stays, an UPDATE is logged. Refused once a payment
    exists, as CyberSource refuses it; nothing changes when anything is refused or invalid."""
    unknown = set(changes) - set(UPDATE_FIELDS) - {"line_items"}
    if unknown:
        updatable = sorted([*UPDATE_FIELDS, "line_items"])
        raise TypeError(f"cannot update {sorted(unknown)}; updatable: {updatable}")
    if invoice.status in FROZEN or invoice.has_payments():
        raise _refuse(invoice, "update")
    order = None
    if "line_items" in changes:
        order = _order(invoice, changes["line_items"], amount_details)
    for name, value in changes.items():
        if name == "line_items":
            continue
        section, key = UPDATE_FIELDS[name]
        if value is None:
            invoice.detail[section].pop(key, None)
        else:
            invoice.detail[section][key] = value
    if order is not None:
        amounts, lines = order
        information = invoice.detail["orderInformation"]
        information["amountDetails"] = amounts
        information.pop("lineItems", None)
        if lines:
            information["lineItems"] = lines
    invoice.add_event("UPDATE", now_ms)


def update_request(invoice: StoredInvoice, request: Any, now_ms: int) -> None:
    """Apply an update request's body (``UpdateInvoiceRequest``: ``invoiceInformation`` and
    ``orderInformation.amountDetails`` required): the sections it sends replace the fields they
    name, and its ``orderInformation`` replaces the order (lines it leaves out are removed)."""
    if not isinstance(request, dict):
        raise InvalidRequestError("body", "INVALID_DATA", "The request body must be an object.")
    for section in request:
        if section not in {*REQUEST_FIELDS, "orderInformation"}:
            raise InvalidRequestError(section, "INVALID_DATA", f"Unknown field {section}.")
    info = _section(request, "invoiceInformation", required=True)
    number = info.get("invoiceNumber")
    if number is not None and number != invoice.detail["invoiceInformation"]["invoiceNumber"]:
        raise InvalidRequestError(
            "invoiceInformation.invoiceNumber",
            "INVALID_DATA",
            "The invoice number cannot be changed.",
        )
    changes: dict[str, Any] = {}
    for section, fields in REQUEST_FIELDS.items():
        given = _section(request, section, required=section == "invoiceInformation")
        for key, value in given.items():
            if section == "invoiceInformation" and key == "invoiceNumber":
                continue
            changes[fields[_checked(section, key, value, fields)]] = value
    order = _section(request, "orderInformation", required=True)
    amounts = _section(order, "amountDetails", required=True, within="orderInformation")
    lines = order.get("lineItems", [])
    if not isinstance(lines, list):
        raise InvalidRequestError(
            "orderInformation.lineItems", "INVALID_DATA", "lineItems must be an array."
        )
    update(invoice, {**changes, "line_items": lines}, now_ms, amount_details=amounts)


def _checked(section: str, key: str, value: Any, fields: Mapping[str, str]) -> str:
    """``key`` once its value has the type the request model gives it."""
    field = f"{section}.{key}"
    if key not in fields:
        raise InvalidRequestError(field, "INVALID_DATA", f"Unknown {key}.")
    if key in BOOLEAN_FIELDS:
        valid = isinstance(value, bool)
    elif key in {"dueDate", "expirationDate"}:
        valid = isinstance(value, str) and DATE.fullmatch(value) is not None
    else:
        valid = isinstance(value, str) or value is None
    if not valid:
        raise InvalidRequestError(field, "INVALID_DATA", f"Invalid {key}.")
    return key


def _section(
    request: Mapping[str, Any], name: str, *, required: bool, within: str = ""
) -> dict[str, Any]:
    field = f"{within}.{name}" if within else name
    value = request.get(name)
    if value is None:
        if required:
            raise InvalidRequestError(field, "MISSING_FIELD", f"{field} is required.")
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be an object.")
    return value


def _amount(value: Any, field: str) -> Decimal:
    """A non-negative amount sent as a JSON number or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be an amount.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be an amount.") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} cannot be negative.")
    return amount


def _quantity(value: Any, field: str) -> int | str:
    """A whole number of units, 1 to 999999999, kept in the JSON type it was sent in."""
    text = str(value).strip() if isinstance(value, int | str) else ""
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be 1 to {MAX_QUANTITY}.")
    return value if isinstance(value, int) else text


def _typed(invoice: StoredInvoice, value: Any) -> Any:
    """Amounts (nested ones too) in the invoice's wire type."""
    if isinstance(value, Decimal):
        return invoice.money(value)
    if isinstance(value, dict):
        return {key: _typed(invoice, item) for key, item in value.items()}
    return value


def _line(given: Any, position: int, quantum: Decimal) -> dict[str, Any]:
    """One requested line item as stored: the total, when not sent, is quantity x unit price
    less its discount plus its tax."""
    field = f"orderInformation.lineItems[{position}]"
    if not isinstance(given, Mapping):
        raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be an object.")
    unknown = sorted(set(given) - set(LINE_ITEM_FIELDS))
    if unknown:
        raise InvalidRequestError(f"{field}.{unknown[0]}", "INVALID_DATA", f"Unknown {unknown[0]}.")
    line: dict[str, Any] = {}
    for key in LINE_ITEM_FIELDS:
        if given.get(key) is None:
            continue
        value = given[key]
        if key == "quantity":
            line[key] = _quantity(value, f"{field}.quantity")
        elif key in LINE_ITEM_AMOUNTS:
            line[key] = _amount(value, f"{field}.{key}")
        else:
            line[key] = str(value)
    if "totalAmount" not in line:
        if "unitPrice" not in line:
            message = f"{field} needs a unitPrice or a totalAmount."
            raise InvalidRequestError(f"{field}.unitPrice", "MISSING_FIELD", message)
        gross = line["unitPrice"] * int(line.get("quantity", 1))
        net = gross - line.get("discountAmount", 0) + line.get("taxAmount", 0)
        line["totalAmount"] = quantize(max(net, Decimal(0)), quantum)
    return line


def _order(
    invoice: StoredInvoice, given_lines: Any, given_amounts: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The new ``amountDetails`` and ``lineItems`` (at most 30): with ``given_amounts`` the
    request's own amounts (the total computed when left out), else the invoice's discount, tax
    and freight applied to the new lines as they were to the old ones."""
    if not isinstance(given_lines, list) or len(given_lines) > MAX_LINE_ITEMS:
        field = "orderInformation.lineItems"
        raise InvalidRequestError(field, "INVALID_DATA", f"At most {MAX_LINE_ITEMS} line items.")
    current = invoice.amounts
    currency = str(current["currency"])
    if given_amounts is not None:
        unknown = sorted(set(given_amounts) - AMOUNT_DETAIL_FIELDS)
        if unknown:
            field = f"orderInformation.amountDetails.{unknown[0]}"
            raise InvalidRequestError(field, "INVALID_DATA", f"Unknown {unknown[0]}.")
        currency = str(given_amounts.get("currency") or currency)
        if not CURRENCY.fullmatch(currency):
            field = "orderInformation.amountDetails.currency"
            raise InvalidRequestError(field, "INVALID_DATA", "Invalid currency.")
    quantum = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    lines = [_line(line, position, quantum) for position, line in enumerate(given_lines)]
    subtotal = sum((line["totalAmount"] for line in lines), Decimal(0))
    if given_amounts is None:
        extras = _recomputed_extras(current, subtotal, quantum)
    else:
        extras = _requested_extras(given_amounts)
    discount = extras.get("discountAmount", Decimal(0))
    tax = extras.get("taxDetails", {}).get("amount", Decimal(0))
    freight = extras.get("freight", {}).get("amount", Decimal(0))
    total = extras.pop("totalAmount", None)
    if total is None:
        total = max(subtotal - discount + tax + freight, Decimal(0))
    if "minimumPartialAmount" in extras:
        extras["minimumPartialAmount"] = min(extras["minimumPartialAmount"], total)
    amounts = {"totalAmount": total, "currency": currency, "balanceAmount": total, **extras}
    return _typed(invoice, amounts), [_typed(invoice, line) for line in lines]


def _recomputed_extras(
    current: Mapping[str, Any], subtotal: Decimal, quantum: Decimal
) -> dict[str, Any]:
    """The invoice's order-level discount, tax and freight, applied to a new subtotal."""
    extras: dict[str, Any] = {}
    if "discountPercent" in current:
        percent = to_decimal(current["discountPercent"])
        extras["discountAmount"] = quantize(subtotal * percent / 100, quantum)
        extras["discountPercent"] = percent
    elif "discountAmount" in current:
        extras["discountAmount"] = min(to_decimal(current["discountAmount"]), subtotal)
    if "subAmount" in current:
        extras["subAmount"] = subtotal
    if "minimumPartialAmount" in current:
        extras["minimumPartialAmount"] = to_decimal(current["minimumPartialAmount"])
    if "taxDetails" in current:
        details = dict(current["taxDetails"])
        rate = to_decimal(details["rate"]) if "rate" in details else None
        if rate is not None:
            base = subtotal - extras.get("discountAmount", Decimal(0))
            details["amount"] = quantize(base * rate / 100, quantum)
            details["rate"] = rate
        elif "amount" in details:
            details["amount"] = to_decimal(details["amount"])
        extras["taxDetails"] = details
    if "freight" in current:
        freight = dict(current["freight"])
        for key in NESTED_AMOUNTS["freight"]:
            if key in freight:
                freight[key] = to_decimal(freight[key])
        extras["freight"] = freight
    return extras


def _requested_extras(given: Mapping[str, Any]) -> dict[str, Any]:
    """The amounts an update request states, as exact Decimals (the total too, when sent)."""
    extras: dict[str, Any] = {}
    for key, value in given.items():
        field = f"orderInformation.amountDetails.{key}"
        if key == "currency" or value is None:
            continue
        if key in NESTED_AMOUNTS:
            if not isinstance(value, Mapping):
                raise InvalidRequestError(field, "INVALID_DATA", f"{field} must be an object.")
            nested = dict(value)
            for name in NESTED_AMOUNTS[key]:
                if nested.get(name) is not None:
                    nested[name] = _amount(nested[name], f"{field}.{name}")
            extras[key] = nested
        else:
            extras[key] = _amount(value, field)
    return extras
