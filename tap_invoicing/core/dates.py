"""Timestamps as the APIs send them, and the date range a run selects invoices by."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class DateRange:
    """The invoices a run selects by their date (``start_date`` and ``end_date``): from
    ``start`` on, before ``end``. The end is exclusive so that consecutive ranges (a quarter,
    then the next) share no invoice and leave none out, whatever the precision of the dates."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def bounded(self) -> bool:
        """Whether the run selects anything less than the whole account."""
        return self.start is not None or self.end is not None

    def __contains__(self, moment: object) -> bool:
        """Whether a date is in the range (``start <= moment < end``)."""
        if not isinstance(moment, datetime):
            return False
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment < self.end
        )
