"""One stored Revolv3 invoice, the fields the API keeps but does not show, and the wire formats
of its dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BILLING_DATE_STYLES = ("dd-MMM-yy", "M/d/yyyy")
"""``"08-Sep-25"`` in the reference examples, ``"9/17/2024"`` in the guide sample."""
ATTEMPT_DATE_STYLES = ("zoneless-millis", "utc-ticks")
"""``"2024-09-17T18:40:38.107"`` (a SQL datetime, UTC without a zone) and
``"2026-03-30T15:59:10.1056134Z"`` (.NET's round-trip format, 100 ns ticks)."""
DOTNET_MIN_DATETIME = "0001-01-01T00:00:00"
"""``DateTime.MinValue``: what .NET serializes for a time it never set."""
RAW_RESPONSE_RETENTION = timedelta(days=60)
"""The documented retention of ``processorRawResponse``: older attempts serve null."""
SUMMARY_FIELDS = (
    "invoiceId",
    "customerId",
    "merchantInvoiceRefId",
    "binNumber",
    "last4Digit",
    "invoiceStatus",
    "subtotal",
    "tax",
    "total",
    "billingDate",
    "merchantLegalName",
    "merchantCustomerRefId",
    "customerFirstName",
    "customerLastName",
)
"""A list item in the documented summary shape ([R6] example, [R7] guide), in that order."""


RETRY_MESSAGE = "retryPending"


def billing_date(day: date, style: str) -> str:
    """``billingDate`` in one of the two documented formats (month names never localized)."""
    if style == "dd-MMM-yy":
        return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year % 100:02d}"
    return f"{day.month}/{day.day}/{day.year}"


def attempt_date(at: datetime, style: str, tick: int) -> str:
    """An attempt timestamp; ``tick`` is the 100 ns digit the 7-digit form has beyond ``at``."""
    whole = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if style == "zoneless-millis":
        return f"{whole}.{at.microsecond // 1000:03d}"
    return f"{whole}.{at.microsecond:06d}{tick}Z"


@dataclass(frozen=True)
class RawResponse:
    """An attempt's processor response, served only on request and only while retained."""

    received: datetime
    text: str

    def served(self, now: datetime) -> str | None:
        """The JSON text, or None once the retention period has passed."""
        return self.text if now - self.received <= RAW_RESPONSE_RETENTION else None


@dataclass
class StoredInvoice:
    """``detail`` is the detail body exactly as served without raw processor responses; the
    other fields are what Revolv3 keeps server-side: the last-update time its list filters on,
    the billing day its billing filters compare, and this invoice's date formats."""

    detail: dict[str, Any]
    last_update: datetime
    billing_day: date
    billing_style: str
    attempt_style: str
    raw_responses: dict[int, RawResponse] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The invoice id as the sandbox interface spells ids."""
        return str(self.detail["invoiceId"])

    @property
    def status(self) -> str:
        """The current ``invoiceStatus``."""
        return cast("str", self.detail["invoiceStatus"])

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """The attempts, oldest first (an empty list where the API serves null)."""
        return self.detail["invoiceAttempts"] or []

    def set_status(self, status: str) -> None:
        """Change ``invoiceStatus``; an invoice waiting for a retry carries the platform
        ``message`` "retryPending" (docs: invoice-response), which the API may also leave out."""
        self.detail["invoiceStatus"] = status
        if status == "Recycle":
            self.detail["message"] = RETRY_MESSAGE
        else:
            self.detail.pop("message", None)

    def bill_on(self, day: date) -> None:
        """Move the billing day, keeping ``billingDate`` in this invoice's format."""
        self.billing_day = day
        self.detail["billingDate"] = billing_date(day, self.billing_style)

    def served(self, now: datetime, *, raw: bool, last_attempt_only: bool) -> dict[str, Any]:
        """The detail as one response serves it: a new dict over the stored values, so it must
        be encoded before the store changes."""
        attempts = self.detail["invoiceAttempts"]
        if attempts is None or not (raw or last_attempt_only):
            return self.detail
        chosen = attempts[-1:] if last_attempt_only else attempts
        if raw:
            chosen = [
                {**attempt, "processorRawResponse": self._raw(attempt["invoiceAttemptId"], now)}
                for attempt in chosen
            ]
        return {**self.detail, "invoiceAttempts": chosen}

    def summary(self) -> dict[str, Any]:
        """The documented summary list item; card fields come from the payment method (for ACH
        the account's last four digits stand in, as there is no BIN)."""
        method = self.detail["paymentMethod"]
        card = method["paymentMethodCreditCardDetails"]
        ach = method["paymentMethodAchDetails"]
        if card:
            bin_number, last4 = card["binNumber"], card["paymentLast4Digit"]
        else:
            bin_number, last4 = None, ach["accountNumberLast4Digits"] if ach else None
        flat = {**self.detail, "binNumber": bin_number, "last4Digit": last4}
        return {name: flat[name] for name in SUMMARY_FIELDS}

    def _raw(self, attempt_id: int, now: datetime) -> str | None:
        stored = self.raw_responses.get(attempt_id)
        return None if stored is None else stored.served(now)


def line_items_subtotal(lines: list[dict[str, Any]]) -> Decimal:
    """The subtotal the line items add up to. The docs name the ``valueType`` qualifiers but not
    their arithmetic; this is the natural reading: Standard (or null) values add up, a
    PriceOverride replaces that sum, Discount and DiscountPercentage come off it, and a
    FinalDiscount comes off last; never below zero."""
    standard = [line["value"] for line in lines if line["valueType"] in {None, "Standard"}]
    overrides = [line["value"] for line in lines if line["valueType"] == "PriceOverride"]
    base = overrides[-1] if overrides else sum(standard, Decimal(0))
    amount = base
    for line in lines:
        if line["valueType"] == "Discount":
            amount -= line["value"]
        elif line["valueType"] == "DiscountPercentage":
            amount -= (base * line["value"] / 100).quantize(Decimal("0.01"))
    for line in lines:
        if line["valueType"] == "FinalDiscount":
            amount -= line["value"]
    return amount if amount >= 0 else Decimal("0.00")
