"""PUT's full invoice ([S1] ``invoices.update``): a complete ``invoice`` object, checked as the
spec's schema asks (every problem at once, one ``details`` entry each, 400 INVALID_REQUEST with
the spec's issue codes) and priced as the sandbox prices its invoices (see ``data``).

Kept modest: the read-only parts (``id``, ``status``, the metadata, payments, refunds, links,
totals) are PayPal's to set, so they are ignored, but an ``id`` must name the invoice in the path;
``detail`` with its currency is required, and so are ``items``, each with a name, a quantity and a
unit amount in the invoice's currency, within the spec's bounds. The other objects (invoicer,
recipients, configuration) are taken as given once they have the right type. Where the spec
says nothing the sandbox chooses: an invoice discount may come back with the negative amount the
sandbox serves it with (its magnitude is taken), and a discount with both a percent and an
amount keeps the amount, as the spec says of the invoice's ``discount``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tap_invoicing.sandbox.fakedata import quantize
from tap_invoicing.sandbox.paypal.query import DATE, QueryError, detail_entry
from tap_invoicing.sandbox.paypal.record import CURRENCY_EXPONENTS, minor_unit, money

MAX_ITEMS = 100
DECIMAL = re.compile(r"(-?[0-9]+)|(-?([0-9]+)?[.][0-9]+)")
"""The spec's pattern of Money values and percentages."""
TERM_TYPES = (
    "DUE_ON_RECEIPT",
    "DUE_ON_DATE_SPECIFIED",
    "NET_10",
    "NET_15",
    "NET_30",
    "NET_45",
    "NET_60",
    "NET_90",
    "NO_DUE_DATE",
)
UNITS_OF_MEASURE = ("QUANTITY", "HOURS", "AMOUNT")
DETAIL_TEXTS = {
    "reference": 120,
    "note": 4000,
    "terms_and_conditions": 4000,
    "memo": 500,
    "invoice_number": 127,
}
"""``detail``'s texts and their longest values."""
OBJECTS = {"invoicer": dict, "configuration": dict, "amount": dict}
ARRAYS = ("primary_recipients", "additional_recipients")
BOUND = Decimal(1_000_000)
"""Quantities, unit amounts and custom amounts lie within plus or minus this; discounts and
shipping within 0 and this."""


@dataclass
class _Checks:
    """The problems found so far, as ``details`` entries."""

    details: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, pointer: str, value: Any, issue: str, description: str) -> None:
        self.details.append(detail_entry(pointer, value, "body", issue, description))

    def missing(self, pointer: str) -> None:
        self.problem(pointer, "", "MISSING_REQUIRED_PARAMETER", "A required field is missing.")

    def syntax(self, pointer: str, value: Any) -> None:
        self.problem(
            pointer,
            value,
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
        )

    def text(
        self, data: dict[str, Any], name: str, pointer: str, longest: int, *, required: bool
    ) -> None:
        """A string of at most ``longest`` characters."""
        value = data.get(name)
        if value is None:
            if required:
                self.missing(f"{pointer}/{name}")
        elif not isinstance(value, str):
            self.syntax(f"{pointer}/{name}", value)
        elif len(value) > longest:
            self.problem(
                f"{pointer}/{name}",
                value,
                "INVALID_STRING_MAX_LENGTH",
                f"The value of a field is too long (at most {longest} characters).",
            )

    def decimal(
        self, value: Any, pointer: str, *, low: Decimal, high: Decimal, places: int
    ) -> Decimal | None:
        """A decimal string within ``low`` and ``high``, with at most ``places`` decimals."""
        if not isinstance(value, str) or not DECIMAL.fullmatch(value) or len(value) > 32:
            self.syntax(pointer, value)
            return None
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if not low <= number <= high or (isinstance(exponent, int) and -exponent > places):
            self.problem(
                pointer,
                value,
                "INVALID_PARAMETER_VALUE",
                f"The value must lie within {low} and {high}, with at most {places} decimals.",
            )
            return None
        return number

    def money(
        self, value: Any, pointer: str, currency: str | None, *, low: Decimal
    ) -> Decimal | None:
        """A Money object in the invoice's currency, within ``low`` and the bound."""
        if not isinstance(value, dict):
            self.syntax(pointer, value)
            return None
        if currency is not None and value.get("currency_code") != currency:
            self.problem(
                f"{pointer}/currency_code",
                value.get("currency_code", ""),
                "INVALID_PARAMETER_VALUE",
                f"Every amount of the invoice must be in its currency, {currency}.",
            )
            return None
        places = CURRENCY_EXPONENTS[currency] if currency is not None else 2
        return self.decimal(
            value.get("value"), f"{pointer}/value", low=low, high=BOUND, places=places
        )

    def date(self, value: Any, pointer: str) -> None:
        """A ``YYYY-MM-DD`` date, if given."""
        if value is not None and not (isinstance(value, str) and DATE.fullmatch(value)):
            self.syntax(pointer, value)

    def percent(self, value: Any, pointer: str) -> Decimal | None:
        """A percentage from 0 to 100, with up to five decimals."""
        return self.decimal(value, pointer, low=Decimal(0), high=Decimal(100), places=5)


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


def replacement(raw: bytes | dict[str, Any], invoice_id: str) -> dict[str, Any]:
    """The writable parts of a full invoice (a request body, or a dict from a test), checked and
    priced: ``items`` with their tax and discount amounts, ``amount`` with its breakdown, and the
    rest as given. QueryError listing every problem."""
    data = _decoded(raw) if isinstance(raw, bytes) else copy.deepcopy(raw)
    if not isinstance(data, dict):
        entry = detail_entry(
            "/", "", "body", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."
        )
        raise QueryError([entry])
    checks = _Checks()
    if data.get("id") not in {None, invoice_id}:
        checks.problem(
            "/id",
            data["id"],
            "INVALID_PARAMETER_VALUE",
            "The invoice id in the body is not the one in the path.",
        )
    currency = _check_detail(data.get("detail"), checks)
    for name, kind in OBJECTS.items():
        if name in data and not isinstance(data[name], kind):
            checks.syntax(f"/{name}", data[name])
    for name in ARRAYS:
        if name in data and not isinstance(data[name], list):
            checks.syntax(f"/{name}", data[name])
    _check_items(data.get("items"), currency, checks)
    _check_breakdown(data, currency, checks)
    if checks.details:
        raise QueryError(checks.details)
    assert currency is not None  # checked above, or a problem was reported
    data["items"], data["amount"] = priced(currency, data["items"], _breakdown_of(data))
    return data


def _check_detail(detail: Any, checks: _Checks) -> str | None:
    """``detail``: required, with a currency the sandbox bills in; its currency, if valid."""
    if detail is None:
        checks.missing("/detail")
        return None
    if not isinstance(detail, dict):
        checks.syntax("/detail", detail)
        return None
    for name, longest in DETAIL_TEXTS.items():
        checks.text(detail, name, "/detail", longest, required=False)
    checks.date(detail.get("invoice_date"), "/detail/invoice_date")
    term = detail.get("payment_term")
    if term is not None:
        if not isinstance(term, dict):
            checks.syntax("/detail/payment_term", term)
        elif term.get("term_type") not in {None, *TERM_TYPES}:
            checks.syntax("/detail/payment_term/term_type", term["term_type"])
        else:
            checks.date(term.get("due_date"), "/detail/payment_term/due_date")
    currency = detail.get("currency_code")
    if currency is None:
        checks.missing("/detail/currency_code")
        return None
    if currency not in CURRENCY_EXPONENTS:
        checks.problem(
            "/detail/currency_code",
            currency,
            "INVALID_PARAMETER_VALUE",
            f"The sandbox bills in {', '.join(CURRENCY_EXPONENTS)} only.",
        )
        return None
    return str(currency)


def _check_items(items: Any, currency: str | None, checks: _Checks) -> None:
    """``items``: a list of at most 100 valid items."""
    if items is None:
        checks.missing("/items")
        return
    if not isinstance(items, list):
        checks.syntax("/items", items)
        return
    if len(items) > MAX_ITEMS:
        checks.problem(
            "/items",
            len(items),
            "INVALID_ARRAY_MAX_ITEMS",
            f"The number of items in an array exceeds the maximum allowed ({MAX_ITEMS}).",
        )
        return
    for position, item in enumerate(items):
        pointer = f"/items/{position}"
        if not isinstance(item, dict):
            checks.syntax(pointer, item)
            continue
        checks.text(item, "name", pointer, 200, required=True)
        checks.text(item, "description", pointer, 1000, required=False)
        if "quantity" not in item:
            checks.missing(f"{pointer}/quantity")
        else:
            checks.decimal(
                item["quantity"], f"{pointer}/quantity", low=-BOUND, high=BOUND, places=5
            )
        if "unit_amount" not in item:
            checks.missing(f"{pointer}/unit_amount")
        else:
            checks.money(item["unit_amount"], f"{pointer}/unit_amount", currency, low=-BOUND)
        _check_tax(item.get("tax"), f"{pointer}/tax", checks)
        _check_discount(item.get("discount"), f"{pointer}/discount", currency, checks)
        checks.date(item.get("item_date"), f"{pointer}/item_date")
        if item.get("unit_of_measure") not in {None, *UNITS_OF_MEASURE}:
            checks.syntax(f"{pointer}/unit_of_measure", item["unit_of_measure"])


def _check_tax(tax: Any, pointer: str, checks: _Checks) -> None:
    """A tax: a name and a percent, both required."""
    if tax is None:
        return
    if not isinstance(tax, dict):
        checks.syntax(pointer, tax)
        return
    checks.text(tax, "name", pointer, 100, required=True)
    if "percent" not in tax:
        checks.missing(f"{pointer}/percent")
    else:
        checks.percent(tax["percent"], f"{pointer}/percent")


def _check_discount(
    discount: Any, pointer: str, currency: str | None, checks: _Checks, *, signed: bool = False
) -> None:
    """A discount: a percent, an amount (0 up; ``signed``: the sandbox's own negative one
    too), or both."""
    if discount is None:
        return
    if not isinstance(discount, dict):
        checks.syntax(pointer, discount)
        return
    if "percent" in discount:
        checks.percent(discount["percent"], f"{pointer}/percent")
    if "amount" in discount:
        low = -BOUND if signed else Decimal(0)
        checks.money(discount["amount"], f"{pointer}/amount", currency, low=low)


def _check_breakdown(data: dict[str, Any], currency: str | None, checks: _Checks) -> None:
    """What of ``amount.breakdown`` is the invoicer's to say: the invoice discount, shipping
    (and its tax) and a custom amount (a label needs an amount)."""
    breakdown = _breakdown_of(data)
    pointer = "/amount/breakdown"
    if not isinstance(breakdown, dict):
        checks.syntax(pointer, breakdown)
        return
    discount = breakdown.get("discount")
    if discount is not None and not isinstance(discount, dict):
        checks.syntax(f"{pointer}/discount", discount)
    elif discount is not None:
        _check_discount(
            discount.get("invoice_discount"),
            f"{pointer}/discount/invoice_discount",
            currency,
            checks,
            signed=True,
        )
    shipping = breakdown.get("shipping")
    if shipping is not None and not isinstance(shipping, dict):
        checks.syntax(f"{pointer}/shipping", shipping)
    elif shipping is not None:
        if "amount" in shipping:
            checks.money(shipping["amount"], f"{pointer}/shipping/amount", currency, low=Decimal(0))
        _check_tax(shipping.get("tax"), f"{pointer}/shipping/tax", checks)
    custom = breakdown.get("custom")
    if custom is not None and not isinstance(custom, dict):
        checks.syntax(f"{pointer}/custom", custom)
    elif custom is not None:
        checks.text(custom, "label", f"{pointer}/custom", 50, required=True)
        if "amount" not in custom:
            checks.missing(f"{pointer}/custom/amount")
        else:
            checks.money(custom["amount"], f"{pointer}/custom/amount", currency, low=-BOUND)


def _breakdown_of(data: dict[str, Any]) -> Any:
    amount = data.get("amount")
    return amount.get("breakdown", {}) if isinstance(amount, dict) else {}


def priced(
    currency: str, items: list[dict[str, Any]], breakdown: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Checked items and breakdown inputs priced: each line is ``quantity * unit_amount``
    rounded, its discount comes off it and its tax is on what is left; the invoice discount
    comes off the discounted item total, then tax, shipping and the custom amount are added.
    Returns the items with their computed amounts, and ``amount``."""
    unit = minor_unit(currency)
    priced_items = []
    item_total = item_discounts = tax_total = Decimal(0)
    for given in items:
        item = dict(given)
        gross = quantize(Decimal(item["unit_amount"]["value"]) * Decimal(item["quantity"]), unit)
        off = Decimal(0)
        if item.get("discount"):
            off = _discount(item["discount"], gross, unit)
            item["discount"] = {**item["discount"], "amount": money(currency, off)}
        if item.get("tax"):
            tax = quantize((gross - off) * Decimal(item["tax"]["percent"]) / 100, unit)
            item["tax"] = {**item["tax"], "amount": money(currency, tax)}
            tax_total += tax
        item_total += gross
        item_discounts += off
        priced_items.append(item)
    discounted = item_total - item_discounts
    summary: dict[str, Any] = {"item_total": money(currency, item_total)}
    discounts: dict[str, Any] = {}
    invoice_discount = shipping = custom = Decimal(0)
    given_discount = (breakdown.get("discount") or {}).get("invoice_discount")
    if given_discount:
        invoice_discount = abs(_discount(given_discount, discounted, unit))
        discounts["invoice_discount"] = {
            **given_discount,
            "amount": money(currency, -invoice_discount),
        }
    if item_discounts:
        discounts["item_discount"] = money(currency, -item_discounts)
    if discounts:
        summary["discount"] = discounts
    given_shipping = breakdown.get("shipping")
    if given_shipping and "amount" in given_shipping:
        shipping = quantize(Decimal(given_shipping["amount"]["value"]), unit)
        part: dict[str, Any] = {"amount": money(currency, shipping)}
        if given_shipping.get("tax"):
            shipping_tax = quantize(
                shipping * Decimal(given_shipping["tax"]["percent"]) / 100, unit
            )
            part["tax"] = {**given_shipping["tax"], "amount": money(currency, shipping_tax)}
            tax_total += shipping_tax
        summary["shipping"] = part
    given_custom = breakdown.get("custom")
    if given_custom:
        custom = quantize(Decimal(given_custom["amount"]["value"]), unit)
        summary["custom"] = {**given_custom, "amount": money(currency, custom)}
    summary["tax_total"] = money(currency, tax_total)
    total = discounted - invoice_discount + tax_total + shipping + custom
    return priced_items, {"currency_code": currency, **money(currency, total), "breakdown": summary}


def _discount(discount: dict[str, Any], base: Decimal, unit: Decimal) -> Decimal:
    """A discount's amount: the amount given, else its percent of ``base``."""
    if "amount" in discount:
        return quantize(Decimal(discount["amount"]["value"]), unit)
    return quantize(base * Decimal(discount.get("percent", "0")) / 100, unit)
