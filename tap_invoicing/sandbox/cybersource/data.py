"""Seeded, realistic CyberSource invoices.

Every invoice draws from its own ``Random(f"{seed}:invoice:{index}")``, so an invoice's content
depends only on the seed and its index; the creation schedule depends on the seed and the count.
Timestamps are offsets from the moment of generation, so two sandboxes with the same seed hold
the same invoices, shifted in time.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tap_invoicing.sandbox.cybersource.record import StoredInvoice
from tap_invoicing.sandbox.fakedata import (
    COMPANIES,
    DESCRIPTIONS,
    EMAIL_DOMAINS,
    EMAIL_LOCALS,
    LONG_TEXT_WORDS,
    NAMES,
    PRODUCTS,
    SPAN_DAYS,
    creation_times,
    quantize,
    status_for_age,
    weighted,
)

FIRST_ID = 10001
DAY_MS = 86_400_000
SPAN_MS = SPAN_DAYS * DAY_MS
NEWEST_AGE_MS = 180_000
STATUSES = ("DRAFT", "CREATED", "SENT", "PARTIAL", "PAID", "CANCELED", "PENDING")
LINK_STATUSES = frozenset({"SENT", "CREATED", "PARTIAL", "PAID"})

STATUS_WEIGHTS: dict[str, dict[str, int]] = {
    "recent": {
        "DRAFT": 15, "CREATED": 12, "SENT": 36, "PARTIAL": 10,
        "PENDING": 8, "PAID": 16, "CANCELED": 3,
    },
    "middle": {
        "DRAFT": 4, "CREATED": 6, "SENT": 22, "PARTIAL": 10,
        "PENDING": 4, "PAID": 46, "CANCELED": 8,
    },
    "old": {
        "DRAFT": 2, "CREATED": 3, "SENT": 9, "PARTIAL": 6,
        "PENDING": 0, "PAID": 70, "CANCELED": 10,
    },
}  # fmt: skip
CURRENCIES = {"USD": 75, "EUR": 10, "GBP": 7, "CAD": 4, "JPY": 4}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
EVENT_GAP_S = {
    "CREATE": 900,
    "UPDATE": 4 * 3600,
    "SEND": 1800,
    "RESEND": 3 * 86400,
    "REMINDER": 7 * 86400,
    "PAYMENT": 6 * 86400,
    "PENDING": 2 * 86400,
    "REJECTED": 86400,
    "CANCEL": 14 * 86400,
}
AWKWARD_PRICES = tuple(map(Decimal, ("12.050", "100.10", "0.01", "0.3333", "0")))
AWKWARD_TOTALS = (*AWKWARD_PRICES, *map(Decimal, ("0.00", "1000000.00", "98765432109.99")))
QUANTITIES = (1, 1, 1, 2, 3, 5, 10, 20, 0)  # 0: draw any quantity up to 500
TAX_RATES = ("8.25", "20", "7.5", "0.5", "19")
TAX_TYPES = ("State Tax", "vat", "national", "local", "GST")

MERCHANT_FIELDS: tuple[dict[str, Any], ...] = (
    {
        "referenceType": "Invoice",
        "label": "PO number",
        "fieldType": "text",
        "textDefaultValue": "",
        "possibleValues": "",
        "customerVisible": True,
        "readOnly": False,
        "textMinLength": 0,
        "textMaxLength": 30,
        "position": 1,
        "definitionId": 101,
        "merchantDefinedDataIndex": 1,
    },
    {
        "referenceType": "Invoice",
        "label": "Région",
        "fieldType": "select",
        "textDefaultValue": "Nord",
        "possibleValues": "Nord,Süd,東京",
        "customerVisible": False,
        "readOnly": True,
        "textMinLength": 0,
        "textMaxLength": 10,
        "position": 2,
        "definitionId": 102,
        "merchantDefinedDataIndex": 2,
    },
)
CUSTOM_LABELS: tuple[dict[str, Any], ...] = (
    {"key": "billTo", "value": "Facturer à"},
    {"key": "discount", "value": "Rabatt", "hidden": False},
    {"key": "tax", "value": "IVA", "hiddenForInvoice": False, "hiddenForItem": True},
)


def payment_link(rng: random.Random) -> str:
    """A pay-by-link URL shaped like the real ones."""
    token = "".join(rng.choices(string.ascii_letters + string.digits, k=64))
    return (
        f"https://businesscentertest.cybersource.com/ebc2/invoicing/payInvoice/{token}?version=v2.1"
    )


def transaction_id(rng: random.Random) -> str:
    """A 22-digit CyberSource request id, as found in payment history entries."""
    return str(rng.randrange(10**21, 10**22))


def invoice_links(invoice_id: str) -> dict[str, dict[str, str]]:
    """The HAL ``_links`` of an invoice, relative and without the ``/invoicing`` prefix."""
    href = f"/v2/invoices/{invoice_id}"
    return {
        "self": {"href": href, "method": "GET"},
        "update": {"href": href, "method": "PUT"},
        "deliver": {"href": f"{href}/delivery", "method": "POST"},
        "cancel": {"href": f"{href}/cancelation", "method": "POST"},
    }


def _event_times(
    rng: random.Random, events: list[tuple[str, Decimal | None]], created_ms: int, until_ms: int
) -> list[int]:
    """Creation first, then realistic gaps, squeezed to end before ``until_ms`` if need be."""
    gaps = [
        int(rng.uniform(0.05, 1.5) * EVENT_GAP_S[name] * 1000) + rng.randint(1, 999)
        for name, _ in events[1:]
    ]
    room = max(until_ms - created_ms - len(gaps), 0)
    total = sum(gaps)
    if total > room:
        gaps = [max(1, gap * room // total) for gap in gaps]
    times = [created_ms]
    for gap in gaps:
        times.append(times[-1] + gap)
    return times


def _split(rng: random.Random, amount: Decimal, parts: int, quantum: Decimal) -> list[Decimal]:
    """Split a paid amount into up to ``parts`` positive payments that sum to it exactly."""
    payments: list[Decimal] = []
    remaining = amount
    for _ in range(parts - 1):
        part = max(quantize(remaining * Decimal(rng.randint(20, 60)) / 100, quantum), quantum)
        if part >= remaining:
            break
        payments.append(part)
        remaining -= part
    payments.append(remaining)
    return payments


class InvoiceFactory:
    """Builds ``StoredInvoice`` records for a seed: the initial data set and later additions."""

    def __init__(self, seed: int) -> None:
        self._seed = seed

    def initial(self, count: int, now_ms: int) -> list[StoredInvoice]:
        """``count`` invoices created over ~18 months, denser lately, the newest minutes ago;
        statuses follow age (old ones mostly settled, recent ones mostly open)."""
        rng = random.Random(f"{self._seed}:schedule")
        created = creation_times(rng, count, now_ms - NEWEST_AGE_MS, SPAN_MS)
        return [self.build(index, at_ms, now_ms) for index, at_ms in enumerate(created)]

    def build(
        self,
        index: int,
        created_ms: int,
        until_ms: int,
        status: str | None = None,
        variant: int = 0,
    ) -> StoredInvoice:
        """One invoice created at ``created_ms`` whose history ends before ``until_ms``.

        The status is drawn from the invoice's age unless given; either way it falls back to
        SENT when the amounts make it impossible (nobody pays a zero invoice), so a caller that
        needs the exact status retries with another ``variant`` of the same index.
        """
        salt = f":{variant}" if variant else ""
        rng = random.Random(f"{self._seed}:invoice:{index}{salt}")
        if status is None:
            status = status_for_age(rng, (until_ms - created_ms) / DAY_MS, STATUS_WEIGHTS)
        currency = weighted(rng, CURRENCIES)
        quantum = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        record = StoredInvoice(
            detail={},
            created_ms=created_ms,
            list_created_date=rng.random() >= 0.15,
            money_as_text=rng.random() < 0.05,
            trim_millis=rng.random() < 0.1,
            last_event_ms=created_ms - 1,
        )
        lines = self._line_items(rng, quantum)
        extras, total = self._amount_extras(rng, lines, quantum)
        status = self._feasible(status, total, quantum)
        allow_partial = status == "PARTIAL" or rng.random() < 0.25
        payments = self._payments(rng, status, total, quantum, allow_partial)
        if allow_partial and total > quantum and rng.random() < 0.8:
            partials = payments if status == "PARTIAL" else payments[:-1]
            minimum = max(quantize(total / 10, quantum, ROUND_DOWN), quantum)
            extras["minimumPartialAmount"] = min([minimum, *partials])
        invoice_id = str(FIRST_ID + index)
        events = self._events(rng, status, payments)
        money = record.money
        record.detail = {
            "_links": invoice_links(invoice_id),
            "id": invoice_id,
            "status": status,
            "customerInformation": self._customer(rng),
            "processingInformation": {
                "requestPhone": rng.random() < 0.1,
                "requestShipping": rng.random() < 0.15,
            },
            "invoiceInformation": self._invoice_information(
                rng,
                index=index,
                created_ms=created_ms,
                status=status,
                allow_partial=allow_partial,
                events=events,
            ),
            "orderInformation": {
                "amountDetails": {
                    "totalAmount": money(total),
                    "currency": currency,
                    "balanceAmount": money(total - sum(payments, Decimal(0))),
                    **{key: self._typed(record, value) for key, value in extras.items()},
                },
            },
            "invoiceHistory": [],
        }
        if lines:
            record.detail["orderInformation"]["lineItems"] = [
                {key: self._typed(record, value) for key, value in line.items()} for line in lines
            ]
        for (event, amount), at_ms in zip(
            events, _event_times(rng, events, created_ms, until_ms), strict=True
        ):
            payment = None
            if amount is not None:
                payment = {"transactionId": transaction_id(rng), "amount": money(amount)}
            record.add_event(event, at_ms, payment)
        record.detail.update(self._merchant_defined_fields(rng))
        return record

    @staticmethod
    def _typed(record: StoredInvoice, value: Any) -> Any:
        """Amounts (and nested amounts) in the invoice's wire type; everything else as is."""
        if isinstance(value, Decimal):
            return record.money(value)
        if isinstance(value, dict):
            return {key: InvoiceFactory._typed(record, item) for key, item in value.items()}
        return value

    @staticmethod
    def _feasible(status: str, total: Decimal, quantum: Decimal) -> str:
        """Nobody pays a zero invoice, and a partial payment needs room below the total."""
        if status in {"PAID", "PENDING"} and total <= 0:
            return "SENT"
        if status == "PARTIAL" and total <= quantum:
            return "SENT"
        return status

    @staticmethod
    def _price(rng: random.Random, quantum: Decimal) -> Decimal:
        if quantum < 1 and rng.random() < 0.06:
            return rng.choice(AWKWARD_PRICES)
        return Decimal(rng.randint(1, rng.choice((100, 10_000, 100_000, 1_000_000)))) * quantum

    def _line_items(self, rng: random.Random, quantum: Decimal) -> list[dict[str, Any]]:
        """0-30 lines: line total = quantity x unit price - discount + tax."""
        draw = rng.random()
        if draw < 0.08:
            count = 0
        elif draw < 0.55:
            count = 1
        elif draw < 0.8:
            count = rng.randint(2, 4)
        elif draw < 0.95:
            count = rng.randint(5, 12)
        elif draw < 0.99:
            count = rng.randint(13, 29)
        else:
            count = 30
        lines = []
        for _ in range(count):
            unit = self._price(rng, quantum)
            quantity = rng.choice(QUANTITIES) or rng.randint(1, 500)
            gross = unit * quantity
            line: dict[str, Any] = {}
            if rng.random() < 0.92:
                line["productSku"] = f"P{rng.randint(100_000_000, 999_999_999)}"
            line["productName"] = rng.choice(PRODUCTS)
            line["quantity"] = str(quantity) if rng.random() < 0.03 else quantity
            line["unitPrice"] = unit
            discount = tax = Decimal(0)
            if rng.random() < 0.1:
                percent = Decimal(rng.choice(("5", "10", "12.5")))
                discount = quantize(gross * percent / 100, quantum)
                line["discountAmount"] = discount
                if rng.random() < 0.5:
                    line["discountPercent"] = percent
            if rng.random() < 0.2:
                rate = Decimal(rng.choice(TAX_RATES))
                tax = quantize((gross - discount) * rate / 100, quantum)
                line["taxAmount"] = tax
                line["taxRate"] = rate
            line["totalAmount"] = quantize(gross - discount + tax, quantum)
            lines.append(line)
        return lines

    def _amount_extras(
        self, rng: random.Random, lines: list[dict[str, Any]], quantum: Decimal
    ) -> tuple[dict[str, Any], Decimal]:
        """Optional amount details and the total they add up to (awkward totals when no lines)."""
        if not lines:
            if quantum < 1 and rng.random() < 0.5:
                return {}, rng.choice(AWKWARD_TOTALS)
            return {}, self._price(rng, quantum)
        subtotal = sum((line["totalAmount"] for line in lines), Decimal(0))
        extras: dict[str, Any] = {}
        discount = tax = freight = Decimal(0)
        if rng.random() < 0.12:
            if rng.random() < 0.5:
                percent = Decimal(rng.choice(("5", "10", "12.5", "33.33")))
                discount = quantize(subtotal * percent / 100, quantum)
                extras["discountAmount"] = discount
                extras["discountPercent"] = percent
            else:
                discount = quantize(subtotal * Decimal(rng.randint(1, 20)) / 100, quantum)
                extras["discountAmount"] = discount
        if rng.random() < 0.7:
            extras["subAmount"] = subtotal
        if rng.random() < 0.2:
            rate = Decimal(rng.choice(TAX_RATES))
            tax = quantize((subtotal - discount) * rate / 100, quantum)
            extras["taxDetails"] = {"type": rng.choice(TAX_TYPES), "amount": tax, "rate": rate}
        if rng.random() < 0.1:
            freight = Decimal(rng.randint(1, 5000)) * quantum
            extras["freight"] = {"amount": freight, "taxable": rng.random() < 0.5}
            if extras["freight"]["taxable"] and rng.random() < 0.5:
                extras["freight"]["taxRate"] = Decimal(rng.choice(TAX_RATES))
        return extras, subtotal - discount + tax + freight

    @staticmethod
    def _payments(
        rng: random.Random, status: str, total: Decimal, quantum: Decimal, allow_partial: bool
    ) -> list[Decimal]:
        """Payments so far, oldest first: PAID ones sum to the total, PARTIAL ones stay below."""
        if status == "PAID":
            if allow_partial and total > 3 * quantum and rng.random() < 0.35:
                return _split(rng, total, rng.choice((2, 3)), quantum)
            return [total]
        if status == "PARTIAL":
            paid = quantize(total * Decimal(rng.randint(10, 80)) / 100, quantum)
            paid = min(max(paid, quantum), total - quantum)
            return _split(rng, paid, rng.choice((1, 1, 2)), quantum)
        return []

    @staticmethod
    def _events(
        rng: random.Random, status: str, payments: list[Decimal]
    ) -> list[tuple[str, Decimal | None]]:
        """History events, oldest first, consistent with the status and the payments."""
        drafted = rng.random() < 0.6
        opening: list[tuple[str, Decimal | None]] = [("DRAFT" if drafted else "CREATE", None)]
        update: list[tuple[str, Decimal | None]] = [("UPDATE", None)] if rng.random() < 0.15 else []
        if status == "DRAFT":
            return [("DRAFT", None), *update]
        if status == "CREATED":
            return [*opening, ("CREATE", None), *update] if drafted else [*opening, *update]
        if status == "CANCELED" and rng.random() < 0.35:
            return [*opening, *update, ("CANCEL", None)]
        events = [*opening, *update, ("SEND", None)]
        if rng.random() < 0.1:
            events.append(("RESEND", None))
        events += [("REMINDER", None)] * rng.choice((0, 0, 1, 2))
        if status == "SENT" and rng.random() < 0.06:
            events += [("PENDING", None), ("REJECTED", None)]
        elif status == "PENDING":
            events.append(("PENDING", None))
        elif status == "CANCELED":
            events.append(("CANCEL", None))
        events += [("PAYMENT", amount) for amount in payments]
        if status == "PARTIAL" and rng.random() < 0.3:
            events.append(("REMINDER", None))
        return events

    @staticmethod
    def _merchant_defined_fields(rng: random.Random) -> dict[str, Any]:
        """Custom fields on ~20% of invoices: mostly the documented response shape, sometimes
        the request shape that the spec's GET example shows; some render booleans as strings."""
        draw = rng.random()
        if draw >= 0.2:
            return {}
        values = [f"PO-{rng.randint(1000, 99_999)}", rng.choice(("Nord", "Süd", "東京"))]
        if draw < 0.05:
            return {
                "merchantDefinedFieldValues": [
                    {"definitionId": field["definitionId"], "value": value}
                    for field, value in zip(MERCHANT_FIELDS, values, strict=True)
                ]
            }
        as_text = rng.random() < 0.3
        fields = []
        for field, value in zip(MERCHANT_FIELDS, values, strict=True):
            shown = {**field, "value": value}
            if as_text:
                for flag in ("customerVisible", "readOnly"):
                    shown[flag] = str(shown[flag]).lower()
            fields.append(shown)
        return {"merchantDefinedFieldValuesWithDefinition": fields}

    @staticmethod
    def _customer(rng: random.Random) -> dict[str, Any]:
        """Customer fields, each optional; names in many scripts, the odd empty one."""
        customer: dict[str, Any] = {}
        draw = rng.random()
        if draw >= 0.03:
            customer["name"] = rng.choice(NAMES)
        elif draw >= 0.02:
            customer["name"] = ""
        if rng.random() < 0.93:
            customer["email"] = f"{rng.choice(EMAIL_LOCALS)}@{rng.choice(EMAIL_DOMAINS)}"
        if rng.random() < 0.55:
            customer["merchantCustomerId"] = f"CUST-{rng.randint(1000, 999_999):06d}"
        if rng.random() < 0.3:
            customer["company"] = {"name": rng.choice(COMPANIES)}
        return customer

    @staticmethod
    def _invoice_information(
        rng: random.Random,
        *,
        index: int,
        created_ms: int,
        status: str,
        allow_partial: bool,
        events: list[tuple[str, Decimal | None]],
    ) -> dict[str, Any]:
        created = datetime.fromtimestamp(created_ms / 1000, UTC)
        draw = rng.random()
        if draw < 0.7:
            number = str(FIRST_ID + index)
        elif draw < 0.9:
            number = f"INV-{created.year}-{index + 1:06d}"
        else:
            number = f"{rng.choice(('A', 'PO', 'Q'))}{rng.randint(100, 99_999)}"
        info: dict[str, Any] = {"invoiceNumber": number}
        draw = rng.random()
        if draw < 0.02:
            words = rng.choices(LONG_TEXT_WORDS, k=400)
            info["description"] = " ".join(words)[:2000]
        elif draw < 0.75:
            info["description"] = rng.choice(DESCRIPTIONS)
        due = created.date() + timedelta(days=rng.choice((0, 7, 14, 15, 30, 30, 45, 60)))
        info["dueDate"] = due.isoformat()
        if rng.random() < 0.4:
            expires = due + timedelta(days=rng.choice((30, 90, 365)))
            info["expirationDate"] = expires.isoformat()
        info["allowPartialPayments"] = allow_partial
        if status in LINK_STATUSES:
            info["paymentLink"] = payment_link(rng)
        sent = any(event == "SEND" for event, _ in events)
        if sent:
            info["deliveryMode"] = "email" if rng.random() < 0.2 else "Email"
        else:
            info["deliveryMode"] = "None" if status == "CREATED" or rng.random() < 0.4 else "Email"
        if rng.random() < 0.08:
            info["customLabels"] = [dict(label) for label in rng.sample(CUSTOM_LABELS, k=2)]
        return info
