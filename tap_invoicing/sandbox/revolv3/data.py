"""Seeded, realistic Revolv3 invoices.

Each invoice draws from its own ``Random(f"{seed}:invoice:{index}")``; customers (with their
payment methods) from a fixed pool per seed, so several invoices share a customer. Attempt and
line-item ids come from counters in build order, which is deterministic too. Times are offsets
from the moment of generation: two sandboxes with the same seed hold the same invoices, shifted
in time.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
)
from tap_invoicing.sandbox.revolv3.record import (
    ATTEMPT_DATE_STYLES,
    BILLING_DATE_STYLES,
    DOTNET_MIN_DATETIME,
    RawResponse,
    StoredInvoice,
    attempt_date,
    billing_date,
    line_items_subtotal,
)

FIRST_ID = 100001
FIRST_CUSTOMER_ID = 5001
FIRST_PAYMENT_METHOD_ID = 70001
FIRST_ADDRESS_ID = 30001
FIRST_LINE_ITEM_ID = 900001
FIRST_ATTEMPT_ID = 400001
CUSTOMER_POOL = 40
SPAN_US = SPAN_DAYS * 86_400_000_000
NEWEST_AGE = timedelta(minutes=3)
CENT = Decimal("0.01")

REFUND_STATUSES = ("Refund", "PartialRefund", "RefundPending", "RefundDeclined", "RefundFailed")
BILLABLE_STATUSES = frozenset({"Pending", "Recycle", "Failed", "Noncollectable"})
"""Statuses in which a new attempt can be made (the ones the billing engine still tries, plus
the two a merchant can retry by hand)."""
VOIDABLE_STATUSES = frozenset({*BILLABLE_STATUSES, "Paid", "OneTimePaymentPending"})
ADDABLE_STATUSES = (
    "Pending",
    "Paid",
    "Recycle",
    "Failed",
    "Noncollectable",
    "Void",
    "MerchantPaid",
    "MerchantCancelled",
    "OneTimePaymentPending",
    "CapturePending",
)
"""What ``add`` can create directly; refund invoices come from ``refund`` (they need a parent)."""
STATUS_WEIGHTS: dict[str, dict[str, int]] = {
    "recent": {
        "Pending": 22, "Paid": 40, "Recycle": 12, "Failed": 3, "Noncollectable": 2, "Void": 2,
        "OneTimePaymentPending": 2, "CapturePending": 2, "MerchantPaid": 1,
        "MerchantCancelled": 1, "Refund": 3, "PartialRefund": 3, "RefundPending": 3,
        "RefundDeclined": 1, "RefundFailed": 1,
    },
    "middle": {
        "Pending": 4, "Paid": 55, "Recycle": 8, "Failed": 6, "Noncollectable": 6, "Void": 3,
        "MerchantPaid": 2, "MerchantCancelled": 2, "Refund": 5, "PartialRefund": 4,
        "RefundDeclined": 1, "RefundFailed": 1,
    },
    "old": {
        "Paid": 62, "Recycle": 1, "Failed": 6, "Noncollectable": 10, "Void": 4,
        "MerchantPaid": 2, "MerchantCancelled": 2, "Refund": 6, "PartialRefund": 5,
        "RefundDeclined": 1, "RefundFailed": 1,
    },
}  # fmt: skip
PROCESSORS = ("WorldPay", "Adyen", "Nuvei", "TSYS")
RESPONSES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "WorldPay": {
        "Success": (("000", "Approved"),),
        "Fail": (("051", "Insufficient funds"), ("005", "Do not honor"), ("054", "Expired card")),
    },
    "Adyen": {
        "Success": (("Authorised", "Authorised"),),
        "Fail": (("2", "Refused"), ("12", "Not enough balance"), ("6", "Expired Card")),
    },
    "Nuvei": {
        "Success": (("0", "APPROVED"),),
        "Fail": (("-1", "Decline"), ("1", "Insufficient Funds")),
    },
    "TSYS": {
        "Success": (("00", "APPROVAL"),),
        "Fail": (("51", "DECLINE"), ("05", "DO NOT HONOR")),
    },
}
"""Each processor's own codes and wording ([R16]: ``responseMessage`` is the processor's)."""
AWKWARD_AMOUNTS = tuple(map(Decimal, ("12.050", "0.10", "1000000.00", "0", "98765432109.99")))
AWKWARD_EVERY = 16
"""Every 16th invoice (from the 6th) is a single line of one awkward amount, untaxed, so any
data set of 80 or more holds all of them."""
ADJUSTMENTS = ("Discount", "DiscountPercentage", "FinalDiscount", "PriceOverride")
TAX_RATES = tuple(map(Decimal, ("8.25", "7.5", "6", "10.375")))
STREETS = ("Main St", "Oak Avenue", "Calle Mayor", "Rue de la Paix", "Elm Street Apt 4B")
CITIES = (("Austin", "TX"), ("Denver", "CO"), ("Miami", "FL"), ("Seattle", "WA"), ("Boise", "ID"))
BIN_NUMBERS = ("444433", "411111", "555555", "222300", "378282", "601100")
CARD_BRANDS = ("Visa", "Mastercard", "Amex", "Discover")
DESCRIPTORS = ("ACME*SUBSCRIPTION", "RVLV*MEMBERSHIP", None)


@dataclass(frozen=True)
class Customer:
    """A customer of the merchant and the payment method its invoices are billed to."""

    customer_id: int
    first_name: str
    last_name: str
    merchant_customer_ref_id: str | None
    payment_method: dict[str, Any]


def from_us(microseconds: int) -> datetime:
    """A UTC datetime from microseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)


def to_us(at: datetime) -> int:
    """Microseconds since the epoch."""
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _customer(seed: int, index: int) -> Customer:
    rng = random.Random(f"{seed}:customer:{index}")
    first, _, last = rng.choice(NAMES).partition(" ")
    street = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"
    city, state = rng.choice(CITIES)
    address = {
        "addressId": FIRST_ADDRESS_ID + index,
        "addressLine1": street,
        "addressLine2": rng.choice((None, None, "Suite 200", "Floor 3")),
        "city": city,
        "state": state,
        "postalCode": f"{rng.randint(10000, 99999)}",
        "phoneNumber": rng.choice((None, f"+1{rng.randint(2000000000, 9999999999)}")),
        "email": rng.choice((None, f"{rng.choice(EMAIL_LOCALS)}@{rng.choice(EMAIL_DOMAINS)}")),
        "country": "US" if rng.random() < 0.9 else rng.choice(("CA", "GB", "MX")),
    }
    ach = card = None
    if rng.random() < 0.15:
        ach = {
            "accountNumberLast4Digits": f"{rng.randint(0, 9999):04d}",
            "accountNumberLength": rng.randint(8, 17),
            "accountType": rng.choice(("Checking", "Saving")),
        }
    else:
        updated = rng.random() < 0.1
        card = {
            "binNumber": rng.choice(BIN_NUMBERS),
            "paymentLast4Digit": f"{rng.randint(0, 9999):04d}",
            "paymentExpirationDate": f"{rng.randint(1, 12):02d}{rng.randint(26, 33)}",
            "accountUpdateMessage": "Account number updated" if updated else None,
            "accountUpdateDateTime": "2025-11-02T08:00:00" if updated else None,
            "accountUpdateCode": "NEW_ACCOUNT_NUMBER" if updated else None,
        }
    same_name = rng.random() < 0.85
    payment_method = {
        "paymentMethodId": FIRST_PAYMENT_METHOD_ID + index,
        "billingAddressId": address["addressId"],
        "billingFirstName": first if same_name else rng.choice((None, "Accounts")),
        "billingLastName": last if same_name else None,
        "merchantPaymentMethodRefId": rng.choice((None, f"pm-{rng.randint(1000, 99999)}")),
        "billingAddress": address,
        "paymentMethodAchDetails": ach,
        "paymentMethodCreditCardDetails": card,
    }
    reference = f"CUST-{rng.randint(1000, 999_999):06d}" if rng.random() < 0.8 else None
    return Customer(FIRST_CUSTOMER_ID + index, first, last, reference, payment_method)


class InvoiceFactory:
    """Builds ``StoredInvoice`` records for a seed: the initial data set and later additions,
    and the attempts both get."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._customers = [_customer(seed, index) for index in range(CUSTOMER_POOL)]
        self._merchant = random.Random(f"{seed}:merchant").choice([c for c in COMPANIES if c])
        self._attempt_ids = itertools.count(FIRST_ATTEMPT_ID)
        self._line_item_ids = itertools.count(FIRST_LINE_ITEM_ID)

    def initial(self, count: int, now: datetime) -> list[StoredInvoice]:
        """``count`` invoices created over ~18 months, denser lately, the newest minutes ago;
        statuses follow age, and each refund points at an earlier paid invoice, one refund per
        invoice (whose last update the refund's creation is)."""
        until = now - NEWEST_AGE
        schedule = random.Random(f"{self._seed}:schedule")
        times = creation_times(schedule, count, to_us(until), SPAN_US)
        invoices: list[StoredInvoice] = []
        parents: list[StoredInvoice] = []
        """Paid invoices with a total and no refund yet, in creation order."""
        for index, at in enumerate(times):
            created = from_us(at)
            rng = random.Random(f"{self._seed}:status:{index}")
            status = status_for_age(rng, (now - created) / timedelta(days=1), STATUS_WEIGHTS)
            if status in REFUND_STATUSES and not parents:
                status = "Paid"
            if status in REFUND_STATUSES:
                parent = parents.pop(rng.randrange(len(parents)))  # as rng.choice draws
                refund = self.refund(index, parent, created, until, status=status, amount=None)
                parent.last_update = max(parent.last_update, refund.last_update)
                invoices.append(refund)
            else:
                invoice = self.build(index, created, until, status)
                if invoice.status == "Paid" and invoice.detail["total"] > 0:
                    parents.append(invoice)
                invoices.append(invoice)
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
        """An invoice created at ``created`` with attempts fitting ``status`` before ``until``.
        With ``awkward`` some indexes get an awkward amount; a zero one cannot be paid, so
        such an invoice is Pending instead of Paid (``add`` passes False to get its status)."""
        rng = random.Random(f"{self._seed}:invoice:{index}")
        customer = rng.choice(self._customers)
        lines, tax = self._line_items(rng, index if awkward else None)
        subtotal = line_items_subtotal(lines)
        total = subtotal + tax
        if total == 0 and status in {"Paid", "CapturePending"}:
            status = "Pending"
        record = self._record(rng, index, customer, status, created)
        for line in lines:
            line["invoiceId"] = record.detail["invoiceId"]
        record.detail.update(
            subtotal=subtotal,
            tax=tax,
            total=total,
            subscriptionId=rng.choice((None, rng.randint(1000, 99999))),
            installmentId=rng.choice((None, None, rng.randint(1, 12))),
            merchantSubscriptionRefId=rng.choice((None, f"SUB-{rng.randint(100, 99999)}")),
            invoiceLineItems=[self._ordered_line(line) for line in lines],
        )
        self._attempts(rng, record, _outcomes(rng, status), created, until)
        _add_unlisted_field(rng, record)
        return record

    def refund(
        self,
        index: int,
        parent: StoredInvoice,
        created: datetime,
        until: datetime,
        *,
        status: str,
        amount: Decimal | None,
    ) -> StoredInvoice:
        """A refund invoice of ``parent``: its own id, ``parentInvoiceId`` set, the refunded
        amount as a positive total (the docs do not show a refund's sign), and an attempt
        fitting ``status``. Partial refunds draw an amount when none is given."""
        rng = random.Random(f"{self._seed}:invoice:{index}")
        parent_total = parent.detail["total"]
        if amount is None:
            share = Decimal(rng.randint(10, 90)) / 100
            amount = parent_total if status == "Refund" else quantize(parent_total * share, CENT)
        source = parent.detail
        customer = Customer(
            source["customerId"],
            source["customerFirstName"],
            source["customerLastName"],
            source["merchantCustomerRefId"],
            source["paymentMethod"],
        )
        record = self._record(rng, index, customer, status, created)
        line = {
            "invoiceId": record.detail["invoiceId"],
            "invoiceLineItemId": next(self._line_item_ids),
            "name": "Refund",
            "description": f"Refund of invoice {source['invoiceId']}",
            "value": amount,
            "valueType": None,
        }
        record.detail.update(
            parentInvoiceId=source["invoiceId"],
            subtotal=amount,
            tax=Decimal("0.00"),
            total=amount,
            subscriptionId=source["subscriptionId"],
            installmentId=source["installmentId"],
            merchantSubscriptionRefId=source["merchantSubscriptionRefId"],
            invoiceLineItems=[line],
        )
        processor = parent.attempts[-1]["paymentProcessor"] if parent.attempts else None
        outcomes = _outcomes(rng, status)
        self._attempts(rng, record, outcomes, created, until, processor=processor)
        _add_unlisted_field(rng, record)
        return record

    def attempt(
        self,
        rng: random.Random,
        record: StoredInvoice,
        outcome: str,
        at: datetime,
        processor: str | None = None,
    ) -> dict[str, Any]:
        """Append one attempt (``Success``, ``Fail`` or ``Pending``) made at ``at`` to
        ``record`` and move its billing day there; returns the attempt as served."""
        processor = processor or rng.choice(PROCESSORS)
        attempt_id = next(self._attempt_ids)
        tick = rng.randint(0, 9)
        code = message = transaction = None
        if outcome != "Pending":
            code, message = rng.choice(RESPONSES[processor][outcome])
            transaction = f"{rng.getrandbits(64):016x}"
        responded = at + timedelta(milliseconds=rng.randint(150, 2500))
        placeholder = outcome == "Pending" or rng.random() < 0.15
        attempt: dict[str, Any] = {
            "invoiceAttemptId": attempt_id,
            "amount": record.detail["total"],
            "invoiceAttemptStatus": outcome,
            "invoiceAttemptDate": attempt_date(at, record.attempt_style, tick),
            "paymentProcessor": processor,
            "processorTransactionId": transaction,
            "responseCode": code,
            "responseMessage": message,
            "processorRawResponse": None,
            "paymentMethod": copy.deepcopy(record.detail["paymentMethod"]),
            "descriptor": rng.choice(DESCRIPTORS),
            "eligibilityCheckOrderCode": None,
            "processorMerchantId": None,
            "processingMethod": None,
            "revolv3ResponseCode": None,
            "revolv3ResponseMessage": None,
            "authCode": f"{rng.randint(0, 999_999):06d}" if outcome == "Success" else None,
            "processorResponseDateTime": DOTNET_MIN_DATETIME
            if placeholder
            else attempt_date(responded, record.attempt_style, tick),
        }
        raw = {"processor": processor, "status": outcome, "code": code, "message": message}
        raw_text = json.dumps({**raw, "transactionId": transaction}, separators=(",", ":"))
        record.raw_responses[attempt_id] = RawResponse(responded, raw_text)
        record.detail["invoiceAttempts"] = [*record.attempts, attempt]
        if outcome == "Success" and record.detail["networkTransactionId"] is None:
            record.detail["networkTransactionId"] = (
                str(rng.randrange(10**14, 10**15))
                if rng.random() < 0.6
                else str(uuid.UUID(int=rng.getrandbits(128), version=4))
            )
        record.bill_on(at.astimezone(UTC).date())
        record.last_update = max(record.last_update, at)
        return attempt

    def _record(
        self,
        rng: random.Random,
        index: int,
        customer: Customer,
        status: str,
        created: datetime,
    ) -> StoredInvoice:
        """The invoice's common fields, in the documented order, amounts still to fill in."""
        billing_style = rng.choice(BILLING_DATE_STYLES)
        detail: dict[str, Any] = {
            "invoiceId": FIRST_ID + index,
            "parentInvoiceId": None,
            "customerId": customer.customer_id,
            "merchantInvoiceRefId": rng.choice((None, f"INV-{index + 1:06d}")),
            "paymentMethod": copy.deepcopy(customer.payment_method),
            "invoiceStatus": status,
            "subtotal": None,
            "tax": None,
            "total": None,
            "billingDate": billing_date(created.date(), billing_style),
            "merchantLegalName": self._merchant if rng.random() >= 0.03 else None,
            "merchantCustomerRefId": customer.merchant_customer_ref_id,
            "customerFirstName": customer.first_name,
            "customerLastName": customer.last_name,
            "subscriptionId": None,
            "installmentId": None,
            "eligibilityFailReason": None,
            "merchantSubscriptionRefId": None,
            "networkTransactionId": None,
            "currency": "USD" if rng.random() < 0.85 else None,
            "invoiceLineItems": [],
            "invoiceAttempts": None,
            "voidAttempts": None,
        }
        record = StoredInvoice(
            detail=detail,
            last_update=created,
            billing_day=created.date(),
            billing_style=billing_style,
            attempt_style=rng.choice(ATTEMPT_DATE_STYLES),
        )
        record.set_status(status)
        return record

    def _attempts(
        self,
        rng: random.Random,
        record: StoredInvoice,
        outcomes: list[str],
        created: datetime,
        until: datetime,
        *,
        processor: str | None = None,
    ) -> None:
        """Attempts from creation on, retries days apart, squeezed to end before ``until``."""
        processor = processor or rng.choice(PROCESSORS)
        gaps = [timedelta(minutes=rng.uniform(0.5, 20))]
        gaps += [timedelta(days=rng.uniform(1, 5)) for _ in outcomes[1:]]
        room = until - created
        total = sum(gaps, timedelta(0))
        scale = min(1.0, room / total * 0.99) if total else 1.0
        at = created
        for outcome, gap in zip(outcomes, gaps, strict=False):
            at += gap * scale
            self.attempt(rng, record, outcome, at, processor)

    def _line_items(
        self, rng: random.Random, index: int | None
    ) -> tuple[list[dict[str, Any]], Decimal]:
        """1-8 lines (an adjustment line on some) and the tax; awkward amounts on a schedule of
        ``index`` (None: never)."""
        if index is not None and index % AWKWARD_EVERY == 5:
            value = AWKWARD_AMOUNTS[(index // AWKWARD_EVERY) % len(AWKWARD_AMOUNTS)]
            return [self._line(rng, value, "Standard")], Decimal(0)
        draw = rng.random()
        count = 1 if draw < 0.55 else rng.randint(2, 4) if draw < 0.9 else rng.randint(5, 8)
        lines = [
            self._line(
                rng, Decimal(rng.randint(100, 50_000)) * CENT, rng.choice((None, "Standard"))
            )
            for _ in range(count)
        ]
        if rng.random() < 0.12:
            kind = rng.choice(ADJUSTMENTS)
            amount = {
                "Discount": Decimal(rng.randint(100, 900)) * CENT,
                "DiscountPercentage": rng.choice((Decimal(5), Decimal(10), Decimal("12.5"))),
                "FinalDiscount": Decimal(rng.randint(50, 500)) * CENT,
                "PriceOverride": Decimal(rng.randint(1000, 20_000)) * CENT,
            }[kind]
            lines.append(self._line(rng, amount, kind))
        subtotal = line_items_subtotal(lines)
        tax = quantize(subtotal * rng.choice(TAX_RATES) / 100, CENT)
        return lines, tax if rng.random() < 0.4 else Decimal("0.00")

    def _line(self, rng: random.Random, value: Decimal, value_type: str | None) -> dict[str, Any]:
        return {
            "invoiceLineItemId": next(self._line_item_ids),
            "name": rng.choice(PRODUCTS),
            "description": rng.choice((None, *DESCRIPTIONS)),
            "value": value,
            "valueType": value_type,
        }

    @staticmethod
    def _ordered_line(line: dict[str, Any]) -> dict[str, Any]:
        """A line item with its keys in the documented order."""
        keys = ("invoiceId", "invoiceLineItemId", "name", "description", "value", "valueType")
        return {key: line[key] for key in keys}


def _add_unlisted_field(rng: random.Random, record: StoredInvoice) -> None:
    """On ~3% of invoices, one field the docs do not list (the docs admit more may follow):
    ``invoiceNotes`` on the invoice or ``cardBrand`` on its latest attempt."""
    if rng.random() >= 0.03:
        return
    if record.attempts and rng.random() < 0.5:
        record.attempts[-1]["cardBrand"] = rng.choice(CARD_BRANDS)
    else:
        record.detail["invoiceNotes"] = rng.choice(DESCRIPTIONS)


def _outcomes(rng: random.Random, status: str) -> list[str]:
    """Attempt outcomes, oldest first, consistent with the status: Paid ends with a Success,
    Recycle and Failed with a Fail; Pending usually has none yet."""
    fails = ["Fail"] * rng.choice((0, 0, 0, 1, 2))
    plans: dict[str, list[str]] = {
        "Paid": [*fails, "Success"],
        "Pending": ["Pending"] if rng.random() < 0.25 else [],
        "Recycle": ["Fail"] * rng.randint(1, 3),
        "Failed": ["Fail"] * rng.randint(1, 4),
        "Noncollectable": ["Fail"] * rng.randint(0, 4),
        "Void": ["Fail"] * rng.choice((0, 0, 1, 2)),
        "CapturePending": ["Pending"],
        "Refund": ["Success"],
        "PartialRefund": ["Success"],
        "RefundPending": ["Pending"],
        "RefundDeclined": ["Fail"],
        "RefundFailed": ["Fail"],
    }
    return plans.get(status, [])
