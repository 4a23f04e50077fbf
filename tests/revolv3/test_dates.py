"""Revolv3's dates in every form the docs show, and their ISO companions."""

from __future__ import annotations

import pytest

from tap_invoicing.providers.revolv3.dates import attempt_time_iso, billing_date_iso


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("08-Sep-25", "2025-09-08"),
        ("30-Mar-26", "2026-03-30"),
        ("9/17/2024", "2024-09-17"),
        ("12/01/2026", "2026-12-01"),
        ("2026-12-01", "2026-12-01"),
        ("31-Feb-26", None),
        ("next week", None),
        (None, None),
    ],
)
def test_billing_dates_in_both_documented_forms(raw: str | None, iso: str | None) -> None:
    assert billing_date_iso(raw) == iso


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2024-09-17T18:40:38.107", "2024-09-17T18:40:38.107000Z"),
        ("2026-03-30T15:59:10.1056134Z", "2026-03-30T15:59:10.105613Z"),
        ("2026-03-30T17:59:10.5+02:00", "2026-03-30T15:59:10.500000Z"),
        ("2026-03-30T15:59:10", "2026-03-30T15:59:10Z"),
        ("0001-01-01T00:00:00", None),
        ("", None),
        ("30/03/2026 15:59", None),
    ],
)
def test_attempt_times_with_or_without_a_zone(raw: str, iso: str | None) -> None:
    assert attempt_time_iso(raw) == iso
