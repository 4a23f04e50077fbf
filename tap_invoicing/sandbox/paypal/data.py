"""Seeded, realistic PayPal invoices of one merchant account.

Each invoice draws from its own ``Random(f"{seed}:invoice:{index}")``, so the data set is the
same for a seed whatever its size; times are offsets from the moment of generation (two
sandboxes with the same seed hold the same invoices, shifted in time). Amount arithmetic, which
the docs do not spell out, is the natural one: a line is ``quantity * unit_amount`` rounded to
the currency, its discount comes off it and its tax is on what is left; the invoice discount is a
percent of the discounted item total; every breakdown part is signed as it counts towards the
total (discounts negative), so ``amount`` is their sum.
"""

from __future__ import annotations

import copy
import random
import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tap_invoicing.sandbox.fakedata import (
    COMPANIES,
    DESCRIPTIONS,
    EMAIL_DOMAINS,
    EMAIL_LOCALS,
    NAMES,
    PRODUCTS,
    SPAN_DAYS,
    creation_times,
    quantize,
    status_for_age,
    weighted,
)
from tap_invoicing.sandbox.paypal.record import (
    StoredInvoice,
    date_time,
    invoice_links,
    minor_unit,
    money,
)

STATUSES = (
    "DRAFT",
    "SENT",
    "SCHEDULED",
    "PAID",
    "MARKED_AS_PAID",
    "CANCELLED",
    "REFUNDED",
    "PARTIALLY_PAID",
    "PARTIALLY_REFUNDED",
    "MARKED_AS_REFUNDED",
    "UNPAID",
    "PAYMENT_PENDING",
)
"""The 12 statuses of the spec, in its order."""
STATUS_WEIGHTS: dict[str, dict[str, int]] = {
    "recent": {
        "DRAFT": 10, "SENT": 26, "SCHEDULED": 6, "PAID": 30, "MARKED_AS_PAID": 5,
        "CANCELLED": 3, "REFUNDED": 2, "PARTIALLY_PAID": 7, "PARTIALLY_REFUNDED": 2,
        "MARKED_AS_REFUNDED": 1, "UNPAID": 3, "PAYMENT_PENDING": 5,
    },
    "middle": {
        "DRAFT": 5, "SENT": 10, "PAID": 48, "MARKED_AS_PAID": 8, "CANCELLED": 5,
        "REFUNDED": 4, "PARTIALLY_PAID": 6, "PARTIALLY_REFUNDED": 4, "MARKED_AS_REFUNDED": 2,
        "UNPAID": 7, "PAYMENT_PENDING": 1,
    },
    "old": {
        "DRAFT": 3, "SENT": 3, "PAID": 58, "MARKED_AS_PAID": 10, "CANCELLED": 7,
        "REFUNDED": 5, "PARTIALLY_PAID": 3, "PARTIALLY_REFUNDED": 4, "MARKED_AS_REFUNDED": 2,
        "UNPAID": 5,
    },
}  # fmt: skip
"""Mostly PAID; young invoices are more often open, only young ones SCHEDULED (a future send)
or PAYMENT_PENDING (a payment under review)."""
PAYING_STATUSES = frozenset(
    {
        "PAID",
        "MARKED_AS_PAID",
        "REFUNDED",
        "PARTIALLY_PAID",
        "PARTIALLY_REFUNDED",
        "MARKED_AS_REFUNDED",
    }
)
"""Statuses whose invoice holds payments, so it cannot be for nothing."""
UNSENT_STATUSES = frozenset({"DRAFT", "SCHEDULED"})
CURRENCIES = {"USD": 80, "EUR": 12, "JPY": 8}
TERM_DAYS = {"NET_10": 10, "NET_15": 15, "NET_30": 30, "NET_45": 45, "NET_60": 60, "NET_90": 90}
TERMS = {**dict.fromkeys(TERM_DAYS, 8), "DUE_ON_RECEIPT": 25, "DUE_ON_DATE_SPECIFIED": 10}
TERMS["NO_DUE_DATE"] = 5
QUANTITIES = ("1", "1", "1", "2", "3", "10", "2.5", "1.5", "0.33333", "12", "0.75")
TAXES = (("Sales Tax", "7.25"), ("VAT", "20"), ("GST", "5"), ("sst", "8.875"))
PAYMENT_METHODS = ("BANK_TRANSFER", "CASH", "CHECK", "CREDIT_CARD", "DEBIT_CARD", "WIRE_TRANSFER")
"""What an EXTERNAL (recorded) payment or refund was made with; PAYPAL ones say PAYPAL."""
NOTES = ("Thank you for your business.", "Payment due within terms.", "receipt", *DESCRIPTIONS)
STREETS = ("63497 Edgemere Road", "2211 N First Street", "Calle Mayor 5", "Rue de la Paix 12")
CITIES = (("Mesa", "AZ", "US"), ("San Jose", "CA", "US"), ("Madrid", "", "ES"), ("Paris", "", "FR"))
AWKWARD_UNIT_AMOUNTS = ("0.00", "1000000.00", "0.01", "12.05", "99999.99")
AWKWARD_EVERY = 16
"""Every 16th invoice (from the 5th) is one line of an awkward unit amount, untaxed: ``0.00``,
``1000000.00`` and so on, so any data set of 80 or more holds each of them."""
ID_ALPHABET = string.ascii_uppercase + string.digits
NEWEST_AGE = timedelta(minutes=3)
SPAN_SECONDS = SPAN_DAYS * 86_400
_Line = tuple[Decimal, str, tuple[str, str] | None, tuple[str, str] | None]
"""An item before pricing: unit amount, quantity, discount (kind, value) and tax (name, percent)."""


GROUP_SHARE = 0.05
"""Invoices that belong to a group invoice (``parent_id``): sent to several recipients at once."""
EXTERNAL_ID_PREFIX = "EXTR-"
EXTERNAL_PARTIAL_SHARE = 0.5
"""PARTIALLY_PAID invoices whose payment was recorded (EXTERNAL) rather than made through
PayPal, so that open invoices too hold external payments a test can delete."""


def _code(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(length))


def invoice_id(rng: random.Random) -> str:
    """``INV2-XXXX-XXXX-XXXX-XXXX``."""
    return "INV2-" + "-".join(_code(rng, 4) for _ in range(4))


def transaction_id(rng: random.Random) -> str:
    """A PayPal payment or refund id: 17 characters, like ``8RU61172JS455403V``."""
    return _code(rng, 17)


def external_id(rng: random.Random) -> str:
    """The id PayPal gives a recorded (EXTERNAL) payment or refund, like
    ``EXTR-86F38350LX4353815``: what recording one returns and deleting one takes."""
    return EXTERNAL_ID_PREFIX + _code(rng, 17)


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _name(rng: random.Random) -> dict[str, str]:
    given, _, surname = rng.choice(NAMES).partition(" ")
    return {"given_name": given, "surname": surname} if surname else {"given_name": given}


def _address(rng: random.Random) -> dict[str, str]:
    city, area, country = rng.choice(CITIES)
    address = {"address_line_1": rng.choice(STREETS), "admin_area_2": city}
    if area:
        address["admin_area_1"] = area
    address |= {"postal_code": f"{rng.randint(10000, 99999)}", "country_code": country}
    return address


def _phone(rng: random.Random, phone_type: str) -> dict[str, str]:
    return {
        "country_code": "1",
        "national_number": f"{rng.randint(2000000000, 9999999999)}",
        "phone_type": phone_type,
    }


class InvoiceFactory:
    """Builds ``StoredInvoice`` records for a seed: the initial data set and later additions,
    with the payments and refunds their statuses imply."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        rng = random.Random(f"{seed}:invoicer")
        self.invoicer: dict[str, Any] = {
            "name": _name(rng),
            "business_name": rng.choice([c for c in COMPANIES if c]),
            "address": _address(rng),
            "email_address": f"merchant-{seed}@example.com",
            "phones": [_phone(rng, "HOME")],
            "website": "https://example.com/goods",
            "tax_id": _code(rng, 12),
            "logo_url": "https://www.example.com/logo.png",
            "additional_notes": "Thanks for choosing us",
        }
        self._ids: set[str] = set()
        self._change_rng = random.Random(f"{seed}:transactions")
        # External ids come from their own stream, so that they leave every other draw as is.
        self._external_rng = random.Random(f"{seed}:external-ids")

    def initial(self, count: int, now: datetime) -> list[StoredInvoice]:
        """``count`` invoices created over ~18 months, denser lately, the newest minutes ago;
        statuses follow age, oldest first."""
        until = now - NEWEST_AGE
        schedule = random.Random(f"{self._seed}:schedule")
        times = creation_times(schedule, count, int(until.timestamp()), SPAN_SECONDS)
        invoices = []
        for index, at in enumerate(times):
            created = _from_epoch(at)
            rng = random.Random(f"{self._seed}:status:{index}")
            status = status_for_age(rng, (now - created) / timedelta(days=1), STATUS_WEIGHTS)
            invoices.append(self.build(index, created, until, status))
        return invoices

    def build(
        self,
        index: int,
        created: datetime,
        until: datetime,
        status: str,
        *,
        awkward: bool = True,
    ) -> StoredInvoice:
        """An invoice created at ``created`` whose history (sending, payments, refunds,
        cancelling) fits ``status`` and ends before ``until``. With ``awkward`` some indexes
        get an awkward amount; one for nothing cannot be paid, so it is SENT instead."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {STATUSES}")
        rng = random.Random(f"{self._seed}:invoice:{index}")
        created = created.replace(microsecond=0)
        currency = weighted(rng, CURRENCIES)
        new_id = invoice_id(rng)
        while new_id in self._ids:
            new_id = invoice_id(rng)
        self._ids.add(new_id)
        items, breakdown, total = self._priced_items(rng, currency, index if awkward else None)
        if total <= minor_unit(currency) and status in PAYING_STATUSES:
            status = "SENT"
        invoice_date = created.date()
        if status == "SCHEDULED":
            invoice_date = until.date() + timedelta(days=rng.randint(1, 20))
        group = {"parent_id": invoice_id(rng)} if rng.random() < GROUP_SHARE else {}
        record = StoredInvoice(
            detail={
                "id": new_id,
                **group,
                "status": status,
                "detail": self._detail(
                    rng,
                    index=index,
                    new_id=new_id,
                    currency=currency,
                    invoice_date=invoice_date,
                    created=created,
                ),
                "invoicer": copy.deepcopy(self.invoicer),
                "primary_recipients": self._recipients(rng),
            },
            created=created,
        )
        body = record.detail
        if rng.random() < 0.15:
            body["additional_recipients"] = [
                f"{rng.choice(EMAIL_LOCALS)}@{rng.choice(EMAIL_DOMAINS)}"
            ]
        body["items"] = items
        body["configuration"] = self._configuration(rng, currency, status)
        body["amount"] = {"currency_code": currency, **money(currency, total), **breakdown}
        body["due_amount"] = money(currency, total)
        if body["configuration"]["allow_tip"]:
            body["gratuity"] = money(currency, Decimal(0))
        body["links"] = invoice_links(new_id, status)
        body["unilateral"] = False
        self._history(rng, record, status, until)
        return record

    def _detail(
        self,
        rng: random.Random,
        *,
        index: int,
        new_id: str,
        currency: str,
        invoice_date: date,
        created: datetime,
    ) -> dict[str, Any]:
        """``detail``, in the seed's order; optional texts on some invoices only."""
        detail: dict[str, Any] = {"invoice_number": f"{index + 1:07d}"}
        if rng.random() < 0.6:
            detail["reference"] = f"PO-{rng.randint(100, 99999)}"
        detail["invoice_date"] = invoice_date.isoformat()
        detail["currency_code"] = currency
        term_type = weighted(rng, TERMS)
        term: dict[str, str] = {"term_type": term_type}
        if term_type != "NO_DUE_DATE":
            days = TERM_DAYS.get(term_type, 0)
            if term_type == "DUE_ON_DATE_SPECIFIED":
                days = rng.randint(5, 40)
            term["due_date"] = (invoice_date + timedelta(days=days)).isoformat()
        detail["payment_term"] = term
        if rng.random() < 0.7:
            detail["note"] = rng.choice(NOTES)
        if rng.random() < 0.4:
            detail["terms_and_conditions"] = "No refunds after 30 days."
        if rng.random() < 0.5:
            detail["memo"] = rng.choice(DESCRIPTIONS)
        if rng.random() < 0.1:
            detail["attachments"] = [
                {
                    "id": f"Screen Shot {index}.png",
                    "reference_url": f"https://example.com/attachments/{index}.png",
                    "content_type": "image/png",
                    "size": str(rng.randint(1_000, 900_000)),
                    "create_time": date_time(created),
                }
            ]
        detail["category_code"] = rng.choice(("SHIPPABLE", "NON_SHIPPABLE"))
        detail["group_draft"] = False
        detail["viewed_by_recipient"] = False
        detail["archived"] = rng.random() < 0.05
        email = self.invoicer["email_address"]
        detail["metadata"] = {
            "create_time": date_time(created),
            "created_by": email,
            "last_update_time": date_time(created),
            "last_updated_by": email,
            "created_by_flow": "REGULAR_SINGLE",
            "caller_type": "API_V2_INVOICE",
            "invoicer_view_url": f"https://www.sandbox.paypal.com/invoice/details/{new_id}",
            "recipient_view_url": f"https://www.sandbox.paypal.com/invoice/p/#{new_id}",
        }
        return detail

    def _recipients(self, rng: random.Random) -> list[dict[str, Any]]:
        """One billed recipient (sometimes two), some with a shipping address."""
        recipients = []
        for _ in range(1 if rng.random() < 0.9 else 2):
            billing: dict[str, Any] = {"name": _name(rng)}
            company = rng.choice(COMPANIES)
            if company:
                billing["business_name"] = company
            billing["address"] = _address(rng)
            billing["email_address"] = f"{rng.choice(EMAIL_LOCALS)}@{rng.choice(EMAIL_DOMAINS)}"
            if rng.random() < 0.5:
                billing["phones"] = [_phone(rng, "MOBILE")]
            if rng.random() < 0.2:
                billing["additional_info"] = "add-info"
            billing["language"] = rng.choice(("en-US", "es-ES", "fr-FR", "ja-JP"))
            recipient: dict[str, Any] = {"billing_info": billing}
            if rng.random() < 0.3:
                recipient["shipping_info"] = {
                    "name": _name(rng),
                    "address": _address(rng),
                }
            recipients.append(recipient)
        return recipients

    @staticmethod
    def _configuration(rng: random.Random, currency: str, status: str) -> dict[str, Any]:
        """Partial payment allowed on some invoices (always on a PARTIALLY_PAID one)."""
        partial = status == "PARTIALLY_PAID" or rng.random() < 0.3
        partial_payment: dict[str, Any] = {"allow_partial_payment": partial}
        if partial:
            partial_payment["minimum_amount_due"] = money(currency, minor_unit(currency))
        return {
            "partial_payment": partial_payment,
            "allow_tip": rng.random() < 0.2,
            "tax_calculated_after_discount": True,
            "tax_inclusive": False,
            "template_id": "TEMP-" + _code(rng, 17),
            "allow_only_pay_by_bank": False,
        }

    def _priced_items(
        self, rng: random.Random, currency: str, index: int | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any], Decimal]:
        """The items, the ``amount.breakdown`` and the total (see the module docstring)."""
        unit = minor_unit(currency)
        scale = Decimal(100) if currency == "JPY" else Decimal(1)
        if index is not None and index % AWKWARD_EVERY == 5:
            awkward = AWKWARD_UNIT_AMOUNTS[(index // AWKWARD_EVERY) % len(AWKWARD_UNIT_AMOUNTS)]
            lines: list[_Line] = [(Decimal(awkward) * scale, "1", None, None)]
            extras_rng = None
        else:
            count = 1 if rng.random() < 0.5 else rng.randint(2, 5)
            lines = []
            for _ in range(count):
                unit_amount = Decimal(rng.randint(100, 50_000)) / 100 * scale
                discount = None
                if rng.random() < 0.2:
                    discount = ("amount", "2.00") if rng.random() < 0.5 else ("percent", "10")
                tax = rng.choice(TAXES) if rng.random() < 0.4 else None
                lines.append((unit_amount, rng.choice(QUANTITIES), discount, tax))
            extras_rng = rng
        items = []
        item_total = item_discounts = tax_total = Decimal(0)
        for unit_amount, quantity, discount, tax in lines:
            gross = quantize(unit_amount * Decimal(quantity), unit)
            item: dict[str, Any] = {}
            if rng.random() < 0.85:
                item["id"] = "ITEM-" + _code(rng, 17)
            item["name"] = rng.choice(PRODUCTS)
            if rng.random() < 0.5:
                item["description"] = rng.choice(DESCRIPTIONS)
            item["quantity"] = quantity
            item["unit_amount"] = money(currency, unit_amount)
            off = Decimal(0)
            if discount is not None:
                kind, value = discount
                off = min(gross, quantize(Decimal(value) * scale, unit))
                if kind == "percent":
                    off = quantize(gross * Decimal(value) / 100, unit)
                    item["discount"] = {"percent": value, "amount": money(currency, off)}
                else:
                    item["discount"] = {"amount": money(currency, off)}
            if tax is not None:
                name, percent = tax
                tax_amount = quantize((gross - off) * Decimal(percent) / 100, unit)
                item["tax"] = {
                    "name": name,
                    "percent": percent,
                    "amount": money(currency, tax_amount),
                    "id": "TAX-" + _code(rng, 15),
                }
                tax_total += tax_amount
            if rng.random() < 0.2:
                item["item_date"] = "2024-03-01"
            item["unit_of_measure"] = rng.choice(("QUANTITY", "QUANTITY", "HOURS", "AMOUNT"))
            item_total += gross
            item_discounts += off
            items.append(item)
        return self._breakdown(
            extras_rng,
            currency,
            items=items,
            item_total=item_total,
            item_discounts=item_discounts,
            tax_total=tax_total,
        )

    @staticmethod
    def _breakdown(
        rng: random.Random | None,
        currency: str,
        *,
        items: list[dict[str, Any]],
        item_total: Decimal,
        item_discounts: Decimal,
        tax_total: Decimal,
    ) -> tuple[list[dict[str, Any]], dict[str, Any], Decimal]:
        """Invoice discount, shipping and a custom charge on some invoices (never with ``rng``
        None, the awkward ones); the breakdown parts add up to the total."""
        unit = minor_unit(currency)
        scale = Decimal(100) if currency == "JPY" else Decimal(1)
        discounted = item_total - item_discounts
        breakdown: dict[str, Any] = {"item_total": money(currency, item_total)}
        discount: dict[str, Any] = {}
        invoice_discount = shipping = custom = Decimal(0)
        if rng is not None and rng.random() < 0.15:
            percent = rng.choice(("1", "5", "12.5"))
            invoice_discount = quantize(discounted * Decimal(percent) / 100, unit)
            discount["invoice_discount"] = {
                "percent": percent,
                "amount": money(currency, -invoice_discount),
            }
        if item_discounts:
            discount["item_discount"] = money(currency, -item_discounts)
        if discount:
            breakdown["discount"] = discount
        if rng is not None and rng.random() < 0.25:
            shipping = quantize(Decimal(rng.randint(200, 2500)) / 100 * scale, unit)
            shipping_part: dict[str, Any] = {"amount": money(currency, shipping)}
            if rng.random() < 0.5:
                shipping_tax = quantize(shipping * 6 / 100, unit)
                shipping_part["tax"] = {
                    "name": "shipping-tax",
                    "percent": "6",
                    "amount": money(currency, shipping_tax),
                }
                tax_total += shipping_tax
            breakdown["shipping"] = shipping_part
        if rng is not None and rng.random() < 0.1:
            custom = quantize(Decimal(rng.choice((100, 250))) / 100 * scale, unit)
            breakdown["custom"] = {"label": "others", "amount": money(currency, custom)}
        breakdown["tax_total"] = money(currency, tax_total)
        total = discounted - invoice_discount + tax_total + shipping + custom
        return items, {"breakdown": breakdown}, total

    def _history(
        self, rng: random.Random, record: StoredInvoice, status: str, until: datetime
    ) -> None:
        """Sending, payments, refunds and cancelling as ``status`` implies, at times between
        creation and ``until``; the last of them is the last update."""
        created = record.created
        room = max((until - created).total_seconds(), 1.0)

        def later(after: datetime, share: float) -> datetime:
            """A time after ``after``, ``share`` of the way to ``until`` at most."""
            span = max((until - after).total_seconds(), 0.0)
            return after + timedelta(seconds=int(span * rng.uniform(0.05, share)))

        metadata = record.metadata
        last = created
        if status not in UNSENT_STATUSES:
            sent = created + timedelta(seconds=int(min(room * 0.01, 3600) * rng.random()))
            metadata["first_sent_time"] = metadata["last_sent_time"] = date_time(sent)
            metadata["last_sent_by"] = self.invoicer["email_address"]
            record.detail["detail"]["viewed_by_recipient"] = rng.random() < 0.7
            last = sent
        total = record.total
        if status in PAYING_STATUSES:
            external = status.startswith("MARKED_AS") or (
                status == "PARTIALLY_PAID"
                and random.Random(f"{self._seed}:external:{record.id}").random()
                < EXTERNAL_PARTIAL_SHARE
            )
            paid = total if status != "PARTIALLY_PAID" else split(rng, total, record.currency)
            last = later(last, 0.5)
            record.add_transaction("payments", self.payment(record, paid, last, external))
            if status in {"REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"}:
                partial = status == "PARTIALLY_REFUNDED"
                refunded = split(rng, total, record.currency) if partial else total
                last = later(last, 0.5)
                record.add_transaction("refunds", self.refund(record, refunded, last, external))
        if status == "CANCELLED":
            last = later(last, 0.3)
            metadata["cancel_time"] = date_time(last)
            metadata["cancelled_by"] = self.invoicer["email_address"]
        record.touch(last)

    def payment(
        self, record: StoredInvoice, amount: Decimal, at: datetime, external: bool
    ) -> dict[str, Any]:
        """A payment transaction: PAYPAL ones carry PayPal's ``payment_id``, recorded (EXTERNAL)
        ones the ``EXTR-`` id that recording returns and deleting takes."""
        rng = self._change_rng
        transaction: dict[str, Any] = {"type": "EXTERNAL" if external else "PAYPAL"}
        transaction["payment_id"] = (
            external_id(self._external_rng) if external else transaction_id(rng)
        )
        transaction["payment_date"] = at.astimezone(UTC).date().isoformat()
        transaction["method"] = rng.choice(PAYMENT_METHODS) if external else "PAYPAL"
        if rng.random() < 0.3:
            transaction["note"] = "Paid, thank you"
        transaction["amount"] = money(record.currency, amount)
        shipping = record.detail["primary_recipients"][0].get("shipping_info")
        if shipping and not external and rng.random() < 0.5:
            transaction["shipping_info"] = copy.deepcopy(shipping)
        return transaction

    def refund(
        self, record: StoredInvoice, amount: Decimal, at: datetime, external: bool
    ) -> dict[str, Any]:
        """A refund transaction; like payments, recorded ones carry an ``EXTR-`` id."""
        rng = self._change_rng
        transaction: dict[str, Any] = {"type": "EXTERNAL" if external else "PAYPAL"}
        transaction["refund_id"] = (
            external_id(self._external_rng) if external else transaction_id(rng)
        )
        transaction["refund_date"] = at.astimezone(UTC).date().isoformat()
        transaction["amount"] = money(record.currency, amount)
        transaction["method"] = rng.choice(PAYMENT_METHODS) if external else "PAYPAL"
        return transaction


def split(rng: random.Random, total: Decimal, currency: str) -> Decimal:
    """A part of ``total``, more than nothing and less than all of it (``total`` must be at
    least two minor units)."""
    unit = minor_unit(currency)
    part = quantize(total * Decimal(rng.randint(10, 90)) / 100, unit)
    return min(max(part, unit), total - unit)
