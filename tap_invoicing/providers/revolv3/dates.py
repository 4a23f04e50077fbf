"""Revolv3's dates as they come: ``billingDate`` in two non-ISO forms, attempt times with or
without a zone and with up to 7 fractional digits (.NET's ticks), and .NET's "no value" date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

BILLING_DATE_FORMATS = ("%d-%b-%y", "%m/%d/%Y", "%Y-%m-%d")
"""``08-Sep-25`` (the reference examples), ``9/17/2024`` (the guides), and ISO, just in case."""
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
NET_MIN_YEAR = 1
"""``0001-01-01T00:00:00`` is .NET's ``DateTime.MinValue``: the API's way to say "none"."""


def billing_date_iso(raw: object) -> str | None:
    """``billingDate`` as ``YYYY-MM-DD``; None when absent or in no known form."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    for form in BILLING_DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    return None


def attempt_time_iso(raw: object) -> str | None:
    """An attempt timestamp as RFC 3339 UTC (``2024-09-17T18:40:38.107Z``); a value without a
    zone is taken as UTC, fractions beyond microseconds are cut (the raw value keeps them);
    None when absent, unreadable, or .NET's empty date."""
    if not isinstance(raw, str):
        return None
    match = _DATE_TIME.fullmatch(raw.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) == NET_MIN_YEAR:
        return None
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    moment -= _offset(zone)
    text = moment.isoformat(timespec="microseconds" if fraction else "seconds")
    return text.replace("+00:00", "Z")


def _offset(zone: str | None) -> timedelta:
    if not zone or zone.upper() == "Z":
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
