"""The query parameters of ``GET /api/Invoices/v1``, validated the way ASP.NET model binding
does it: every bad parameter is reported at once, an empty string parameter binds to null (so
it filters nothing), while an empty number or boolean is invalid."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

MAX_PAGE_SIZE = 100
MAX_INVOICE_ID = 1_000_000_000
INT32_MAX = 2**31 - 1
INTEGER = re.compile(r"\s*[+-]?\d{1,10}\s*")
DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?"
)
MAX_OFFSET = timedelta(hours=14)
ONE_MICROSECOND = timedelta(microseconds=1)
ORDER_BY = {"1": "billing_date", "2": "last_update", "3": "invoice_id"}
"""The three documented ``orderBy`` options, as one rendered reference names them."""


class QueryError(ValueError):
    """Parameters that fail validation: the API answers 400 listing ``errors``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ListQuery:
    """A validated list request; the time bounds are inclusive UTC datetimes."""

    page: int
    page_size: int
    last_update_start: datetime | None
    last_update_end: datetime | None
    billing_start: date | None
    billing_end: date | None
    merchant_customer_ref_id: str | None
    raw_processor_response: bool
    last_attempt_only: bool | None
    """None when not sent: its default is undocumented, so the emulator's option decides."""
    order_by: str | None


def parse_list_query(query: dict[str, str], page_limit: int | None) -> ListQuery:
    """Validate every parameter; ``page_limit`` is the highest page accepted (None: no cap)."""
    errors: list[str] = []
    page_rule = (
        f"page must be between 1 and {page_limit}"
        if page_limit is not None
        else "page must be greater than or equal to 1"
    )
    page = _integer(query, "page", errors, default=1, high=page_limit or INT32_MAX, rule=page_rule)
    page_size = _integer(
        query,
        "pageSize",
        errors,
        default=MAX_PAGE_SIZE,
        high=MAX_PAGE_SIZE,
        rule=f"pageSize must be between 1 and {MAX_PAGE_SIZE}",
    )
    order_by = query.get("orderBy")
    if order_by is not None and order_by.strip() not in ORDER_BY:
        errors.append("orderBy must be 1, 2 or 3")
    parsed = ListQuery(
        page=page,
        page_size=page_size,
        last_update_start=_moment(query, "lastUpdateStartDate", errors, end=False),
        last_update_end=_moment(query, "lastUpdateEndDate", errors, end=True),
        billing_start=_day(query, "billingStartDate", errors),
        billing_end=_day(query, "billingEndDate", errors),
        merchant_customer_ref_id=query.get("merchantCustomerRefId") or None,
        raw_processor_response=parse_boolean(query, "includeRawProcessorResponse", errors),
        last_attempt_only=parse_optional_boolean(query, "lastAttemptOnly", errors),
        order_by=None if order_by is None else ORDER_BY.get(order_by.strip()),
    )
    if errors:
        raise QueryError(errors)
    return parsed


def parse_boolean(query: dict[str, str], name: str, errors: list[str]) -> bool:
    """``true``/``false`` in any case (.NET's ``bool.Parse``); absent means false."""
    return parse_optional_boolean(query, name, errors) or False


def parse_optional_boolean(query: dict[str, str], name: str, errors: list[str]) -> bool | None:
    """``true``/``false`` in any case (.NET's ``bool.Parse``); None when absent."""
    value = query.get(name)
    if value is None:
        return None
    if value.strip().lower() not in {"true", "false"}:
        errors.append(f"{name} must be true or false")
        return None
    return value.strip().lower() == "true"


def _integer(
    query: dict[str, str],
    name: str,
    errors: list[str],
    *,
    default: int,
    high: int,
    rule: str,
) -> int:
    """An Int32 parameter within ``1..high`` (surrounding blanks allowed, as .NET parses)."""
    value = query.get(name)
    if value is None:
        return default
    if INTEGER.fullmatch(value) and 1 <= int(value) <= high:
        return int(value)
    errors.append(rule)
    return default


def _day(query: dict[str, str], name: str, errors: list[str]) -> date | None:
    """A ``yyyy-MM-dd`` date, or None when absent or empty."""
    value = query.get(name)
    if not value:
        return None
    match = DATE.fullmatch(value)
    try:
        if match:
            return date(*map(int, match.groups()))
    except ValueError:
        pass
    errors.append(f"{name} must be a date (yyyy-MM-dd)")
    return None


def _moment(query: dict[str, str], name: str, errors: list[str], *, end: bool) -> datetime | None:
    """A last-update bound as an inclusive UTC datetime at microsecond resolution.

    A date alone is the start of that UTC day, or as an end the whole of it. A date-time takes
    ``Z``, an offset or no zone (UTC); a seventh fractional digit rounds a start up and an end
    down, so the bounds stay inclusive of exactly the instants asked for.
    """
    value = query.get(name)
    if not value:
        return None
    try:
        day = DATE.fullmatch(value)
        if day:
            start = datetime.combine(date(*map(int, day.groups())), time(), UTC)
            return start + timedelta(days=1) - ONE_MICROSECOND if end else start
        moment = DATE_TIME.fullmatch(value)
        if moment:
            return _date_time(moment, end=end)
    except (ValueError, OverflowError):
        pass
    errors.append(f"{name} must be a date (yyyy-MM-dd) or an ISO 8601 date-time")
    return None


def _date_time(match: re.Match[str], *, end: bool) -> datetime:
    """The instant a ``DATE_TIME`` match names; ValueError for impossible fields."""
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    digits = (fraction or "").ljust(7, "0")
    zone_info = UTC
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset > MAX_OFFSET or int(zone[4:6]) >= 60:
            raise ValueError(f"offset out of range: {zone}")
        zone_info = timezone(sign * offset)
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        int(digits[:6]),
        zone_info,
    ).astimezone(UTC)
    if digits[6] != "0" and not end:
        moment += ONE_MICROSECOND
    return moment
