"""Timestamps as the APIs send them."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: object) -> datetime | None:
    """Parse an API timestamp (nanosecond fractions allowed) as an aware datetime, UTC unless
    it says otherwise; None when absent or unparseable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))  # fast, and enough for the APIs' timestamps
    except ValueError:
        # Imported here: pendulum costs 25 ms of every start-up, for the rare odd timestamp.
        import pendulum  # noqa: PLC0415

        try:
            loose = pendulum.parse(str(value))
        except (ValueError, pendulum.parsing.exceptions.ParserError):
            return None
        if not isinstance(loose, datetime):
            return None
        parsed = loose
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
