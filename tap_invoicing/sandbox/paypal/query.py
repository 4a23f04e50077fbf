"""The list's query parameters and search's ``search_data`` body (api-notes sections 2 and 3),
validated as PayPal does: every bad field is reported at once, as one ``details`` entry each,
with the spec's issue codes. Where the docs are silent: a range whose start is after its end
matches nothing (no error), unknown body fields are ignored, and the text filters compare
exactly (e-mail without regard to case)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from tap_invoicing.sandbox.paypal.data import STATUSES
from tap_invoicing.sandbox.paypal.record import COLLECTIONS, StoredInvoice, amount_of

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_STATUSES = 5
INTEGER = re.compile(r"[+-]?\d+")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
"""RFC 3339 with seconds required and fractional seconds optional (schema ``date_time``)."""
DATE_TIME_LENGTH = (20, 64)
TEXT_FILTERS: dict[str, tuple[int, Callable[[StoredInvoice], list[str]]]] = {
    "recipient_email": (254, lambda i: _billing(i, "email_address")),
    "recipient_first_name": (140, lambda i: [n.get("given_name", "") for n in _names(i)]),
    "recipient_last_name": (140, lambda i: [n.get("surname", "") for n in _names(i)]),
    "recipient_business_name": (300, lambda i: _billing(i, "business_name")),
    "invoice_number": (25, lambda i: [i.detail["detail"]["invoice_number"]]),
    "reference": (120, lambda i: [i.detail["detail"].get("reference", "")]),
    "currency_code": (3, lambda i: [i.currency]),
    "memo": (500, lambda i: [i.detail["detail"].get("memo", "")]),
}
"""Search's text fields: the longest value allowed and the invoice's values one must equal."""


def _billing(invoice: StoredInvoice, key: str) -> list[str]:
    recipients = invoice.detail.get("primary_recipients", [])
    return [r.get("billing_info", {}).get(key, "") for r in recipients]


def _names(invoice: StoredInvoice) -> list[dict[str, str]]:
    recipients = invoice.detail.get("primary_recipients", [])
    return [r.get("billing_info", {}).get("name", {}) for r in recipients]


def detail_entry(
    name: str, value: Any, location: str, issue: str, description: str
) -> dict[str, Any]:
    """One entry of an error's ``details``."""
    return {
        "field": name,
        "value": value if isinstance(value, str) else json.dumps(value),
        "location": location,
        "issue": issue,
        "description": description,
    }


class QueryError(ValueError):
    """A request that fails validation: 400 INVALID_REQUEST with these ``details``."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(entry["issue"] for entry in details))
        self.details = details


@dataclass(frozen=True)
class Paging:
    """Validated ``page``, ``page_size`` and ``total_required``."""

    page: int
    page_size: int
    total_required: bool


def parse_paging(query: dict[str, str], max_page: int, details: list[dict[str, Any]]) -> Paging:
    """The paging parameters of list and search; problems go to ``details``."""
    page = _bounded(query, "page", low=1, high=max_page, default=1, details=details)
    page_size = _bounded(
        query, "page_size", low=1, high=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE, details=details
    )
    total = query.get("total_required", "false").strip().lower()
    if total not in {"true", "false"}:
        details.append(
            detail_entry(
                "total_required",
                query["total_required"],
                "query",
                "INVALID_PARAMETER_SYNTAX",
                "The value of a field does not conform to the expected format.",
            )
        )
    return Paging(page, page_size, total == "true")


def parse_fields(query: dict[str, str], details: list[dict[str, Any]]) -> bool:
    """The list's ``fields``: ``all`` (True, the default) or ``none``, in any case."""
    value = query.get("fields", "all")
    if value.lower() not in {"all", "none"}:
        details.append(
            detail_entry(
                "fields",
                value,
                "query",
                "INVALID_PARAMETER_SYNTAX",
                "The value of a field does not conform to the expected pattern (?i)^(all|none)$.",
            )
        )
    return value.lower() != "none"


def _bounded(
    query: dict[str, str],
    name: str,
    *,
    low: int,
    high: int,
    default: int,
    details: list[dict[str, Any]],
) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not INTEGER.fullmatch(value.strip()):
        details.append(
            detail_entry(
                name,
                value,
                "query",
                "INVALID_PARAMETER_SYNTAX",
                "The value of a field does not conform to the expected format.",
            )
        )
        return default
    number = int(value)
    if number < low:
        details.append(
            detail_entry(
                name,
                value,
                "query",
                "INVALID_INTEGER_MIN_VALUE",
                f"The integer value of a field is smaller than the minimum allowed ({low}).",
            )
        )
        return default
    if number > high:
        details.append(
            detail_entry(
                name,
                value,
                "query",
                "INVALID_INTEGER_MAX_VALUE",
                f"The integer value of a field exceeds the maximum allowed ({high}).",
            )
        )
        return default
    return number


@dataclass
class SearchFilter:
    """A validated ``search_data``: an invoice must match every criterion given (ranges include
    both ends); ``collections`` are the ``fields`` to serve in full."""

    statuses: frozenset[str] | None = None
    texts: dict[str, str] = field(default_factory=dict)
    creation: tuple[datetime, datetime] | None = None
    payment: tuple[datetime, datetime] | None = None
    invoice_dates: tuple[date, date] | None = None
    due_dates: tuple[date, date] | None = None
    total_amounts: tuple[Decimal, Decimal] | None = None
    archived: bool | None = None
    collections: frozenset[str] = frozenset()

    def matches(self, invoice: StoredInvoice) -> bool:
        """Whether the invoice meets every criterion. A payment date (a day) is inside the
        payment range when any instant of that UTC day is."""
        detail = invoice.detail["detail"]
        due = detail.get("payment_term", {}).get("due_date")
        paid_on = [date.fromisoformat(t["payment_date"]) for t in invoice.transactions("payments")]
        payment_days = None
        if self.payment is not None:
            start, end = self.payment
            payment_days = (start.astimezone(UTC).date(), end.astimezone(UTC).date())
        checks = (
            self.statuses is None or invoice.status in self.statuses,
            all(_text_matches(invoice, name, wanted) for name, wanted in self.texts.items()),
            self.creation is None or _within(invoice.created, self.creation),
            self.invoice_dates is None
            or _within(date.fromisoformat(detail["invoice_date"]), self.invoice_dates),
            self.due_dates is None
            or (due is not None and _within(date.fromisoformat(due), self.due_dates)),
            payment_days is None or any(_within(day, payment_days) for day in paid_on),
            self.total_amounts is None or _within(invoice.total, self.total_amounts),
            self.archived is None or detail.get("archived", False) == self.archived,
        )
        return all(checks)


def _text_matches(invoice: StoredInvoice, name: str, wanted: str) -> bool:
    """Whether one of the invoice's values for a text filter equals ``wanted``."""
    values = TEXT_FILTERS[name][1](invoice)
    if name == "recipient_email":
        return wanted.lower() in (value.lower() for value in values)
    return wanted in values


class _Comparable(Protocol):
    def __le__(self, other: Any, /) -> bool: ...


_Ordered = TypeVar("_Ordered", bound=_Comparable)


def _within(value: _Ordered, bounds: tuple[_Ordered, _Ordered]) -> bool:
    return bounds[0] <= value <= bounds[1]


def parse_search(body: bytes) -> SearchFilter:
    """``search_data`` from a request body; QueryError listing every problem."""
    try:
        data = json.loads(body or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise QueryError(
            [
                detail_entry(
                    "/",
                    "",
                    "body",
                    "MALFORMED_REQUEST_JSON",
                    "The request JSON is not well formed.",
                )
            ]
        )
    details: list[dict[str, Any]] = []
    parsed = SearchFilter()
    for name, (longest, _) in TEXT_FILTERS.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            details.append(_syntax(f"/{name}", value))
        elif len(value) > longest:
            details.append(
                detail_entry(
                    f"/{name}",
                    value,
                    "body",
                    "INVALID_STRING_MAX_LENGTH",
                    f"The value of a field is too long (at most {longest} characters).",
                )
            )
        else:
            parsed.texts[name] = value
    parsed.statuses = _choices(data, "status", STATUSES, MAX_STATUSES, details)
    wanted = _choices(data, "fields", COLLECTIONS, len(COLLECTIONS), details)
    parsed.collections = wanted or frozenset()
    parsed.creation = _range(data, "creation_date_range", _date_time, details)
    parsed.payment = _range(data, "payment_date_range", _date_time, details)
    parsed.invoice_dates = _range(data, "invoice_date_range", _day, details)
    parsed.due_dates = _range(data, "due_date_range", _day, details)
    parsed.total_amounts = _amount_range(data, details)
    archived = data.get("archived")
    if archived is not None and not isinstance(archived, bool):
        details.append(_syntax("/archived", archived))
    else:
        parsed.archived = archived
    if details:
        raise QueryError(details)
    return parsed


def _syntax(pointer: str, value: Any) -> dict[str, Any]:
    return detail_entry(
        pointer,
        value,
        "body",
        "INVALID_PARAMETER_SYNTAX",
        "The value of a field does not conform to the expected format.",
    )


def _missing(pointer: str) -> dict[str, Any]:
    return detail_entry(
        pointer, "", "body", "MISSING_REQUIRED_PARAMETER", "A required field is missing."
    )


def _choices(
    data: dict[str, Any],
    name: str,
    allowed: tuple[str, ...],
    most: int,
    details: list[dict[str, Any]],
) -> frozenset[str] | None:
    """An array of enum values, at most ``most`` of them; None when absent."""
    values = data.get(name)
    if values is None:
        return None
    if not isinstance(values, list):
        details.append(_syntax(f"/{name}", values))
        return None
    if len(values) > most:
        details.append(
            detail_entry(
                f"/{name}",
                values,
                "body",
                "INVALID_ARRAY_MAX_ITEMS",
                f"The number of items in an array exceeds the maximum allowed ({most}).",
            )
        )
        return None
    bad = [value for value in values if value not in allowed]
    for value in bad:
        details.append(
            detail_entry(
                f"/{name}",
                value,
                "body",
                "INVALID_PARAMETER_VALUE",
                f"The value of a field is not one of {', '.join(allowed)}.",
            )
        )
    return None if bad else frozenset(values)


def _date_time(pointer: str, value: Any, details: list[dict[str, Any]]) -> datetime | None:
    """An RFC 3339 date-time of 20 to 64 characters, as an aware datetime."""
    if not isinstance(value, str):
        details.append(_syntax(pointer, value))
        return None
    shortest, longest = DATE_TIME_LENGTH
    if not shortest <= len(value) <= longest:
        details.append(
            detail_entry(
                pointer,
                value,
                "body",
                "INVALID_STRING_LENGTH",
                f"The value of a field is not {shortest} to {longest} characters long.",
            )
        )
        return None
    match = DATE_TIME.fullmatch(value)
    try:
        if match:
            day, clock, fraction, zone = match.groups()
            micro = f".{fraction[:6]}" if fraction else ""
            zone = "+00:00" if zone in {"Z", "z"} else zone
            return datetime.fromisoformat(f"{day}T{clock}{micro}{zone}")
    except ValueError:
        pass
    details.append(_syntax(pointer, value))
    return None


def _day(pointer: str, value: Any, details: list[dict[str, Any]]) -> date | None:
    """A ``YYYY-MM-DD`` date."""
    try:
        if isinstance(value, str) and DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    details.append(_syntax(pointer, value))
    return None


_Parsed = TypeVar("_Parsed")


def _range(
    data: dict[str, Any],
    name: str,
    parse: Callable[[str, Any, list[dict[str, Any]]], _Parsed | None],
    details: list[dict[str, Any]],
) -> tuple[_Parsed, _Parsed] | None:
    """A ``{start, end}`` range, both ends required."""
    bounds = data.get(name)
    if bounds is None:
        return None
    if not isinstance(bounds, dict):
        details.append(_syntax(f"/{name}", bounds))
        return None
    ends: list[_Parsed | None] = []
    for end in ("start", "end"):
        pointer = f"/{name}/{end}"
        if bounds.get(end) is None:
            details.append(_missing(pointer))
        else:
            ends.append(parse(pointer, bounds[end], details))
    if len(ends) != 2:
        return None
    start, stop = ends
    if start is None or stop is None:
        return None
    return start, stop


def _amount_range(
    data: dict[str, Any], details: list[dict[str, Any]]
) -> tuple[Decimal, Decimal] | None:
    """``total_amount_range {lower_amount, upper_amount}``: Money bounds, both required."""
    bounds = data.get("total_amount_range")
    if bounds is None:
        return None
    if not isinstance(bounds, dict):
        details.append(_syntax("/total_amount_range", bounds))
        return None
    ends = []
    for end in ("lower_amount", "upper_amount"):
        pointer = f"/total_amount_range/{end}"
        bound = bounds.get(end)
        if bound is None:
            details.append(_missing(pointer))
            continue
        try:
            ends.append(amount_of(bound))
        except (TypeError, KeyError, InvalidOperation):
            details.append(_syntax(pointer, bound))
    return (ends[0], ends[1]) if len(ends) == 2 else None
