"""Vendor-neutral fake data shared by the emulators: names and texts in many scripts, weighted
draws, rounding, and the creation schedule of a seeded data set."""

from __future__ import annotations

import hashlib
import random
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SPAN_DAYS = 540
"""How far back the initial data of every emulator reaches."""
LINEAR_SHARE = 0.15

NAMES = (
    "Tanya Lee",
    "José Álvarez-Núñez",
    "Zoë Kowalczyk",
    "Françoise d'Aubigné",
    "渡辺 美咲",
    "李小龙",
    "김민준",
    "محمد الأحمد",
    "דוד כהן",
    "Ærøskøbing Bådværft ApS",
    "O'Connor & Sons",
    "Ñandú Café S.L.",
    "Σωκράτης Παπαδόπουλος",
    "Владимир Иванов",
    "Nguyễn Thị Minh Khai",
    "🚀 Rocket Labs",
    'Smith, John "Jack"',
    "Bjørn Ødegård",
    "Ayşe Y\u0131lmaz",
    "Dr. Amelia Watson-Brown",
)
EMAIL_LOCALS = ("tanya.lee", "jose.alvarez", "billing", "accounts+invoices", "m.watanabe", "ap")
EMAIL_DOMAINS = ("example.com", "my-email.world", "example.co.uk", "empresa.example.es")
COMPANIES = ("Acme Corp", "Müller & Söhne GmbH", "株式会社サンプル", "شركة المثال", "Ωmega Ltd", "")
PRODUCTS = (
    "First line item's name",
    "Consulting hours",
    "Widget — size XL",
    "T-Shirt Größe M",
    "咖啡豆 1kg",
    "Crème brûlée kit",
    "שירותי ייעוץ",
    "Annual licence (12 months)",
    "Support plan ⭐ Gold",
    "Ramen 🍜 bundle",
    "Paper, A4, 500 sheets",
    "Тестовый товар",
    'Cable 3/4" \\ adapter',
    "Set-up fee",
)
DESCRIPTIONS = (
    "Monthly services",
    "Invoice for order #4521",
    "Facture n° 2024-118 — merci !",
    "月次請求書",
    "فاتورة الخدمات الشهرية",
    "Thanks for your business! 🙏",
    "Multi-line\ndescription\twith a tab",
    "Work performed per SOW §4.2 (phase 2/3)",
    "  leading and trailing spaces  ",
    "",
)
LONG_TEXT_WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "crème", "データ", "🙂", "naïve")


def quantize(amount: Decimal, quantum: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to the currency's minor unit."""
    return amount.quantize(quantum, rounding=rounding)


def to_amount(value: Decimal | str | float) -> Decimal:
    """An amount given by a test, exactly as written (``"12.050"`` keeps its digits)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def shuffle_key(seed: int, invoice_id: str) -> bytes:
    """A seeded, per-invoice sort key: the same set always comes in the same "shuffled" order."""
    return hashlib.blake2b(f"{seed}:order:{invoice_id}".encode()).digest()


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """One key of ``weights``, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


RECENT_DAYS = 14
MIDDLE_DAYS = 60
"""Invoices younger than these draw their status from the "recent" and "middle" weights."""


def status_for_age(rng: random.Random, age_days: float, weights: dict[str, dict[str, int]]) -> str:
    """A status for an invoice of this age: young invoices are mostly open, old ones settled."""
    if age_days < RECENT_DAYS:
        return weighted(rng, weights["recent"])
    if age_days < MIDDLE_DAYS:
        return weighted(rng, weights["middle"])
    return weighted(rng, weights["old"])


def creation_times(rng: random.Random, count: int, newest: int, span: int) -> list[int]:
    """``count`` creation times, oldest first, over ``span`` up to ``newest`` (integers in any
    unit): denser lately, as a growing business's invoices are; each falls between its slot and
    the next one, so the order is strict enough for ids to follow it."""
    bases = []
    for index in range(count):
        share = (count - 1 - index) / count
        age = span * (LINEAR_SHARE * share + (1 - LINEAR_SHARE) * share**2)
        bases.append(newest - int(age))
    times = []
    for index, base in enumerate(bases):
        younger = bases[index + 1] if index + 1 < count else base
        times.append(base + int(rng.random() * 0.8 * (younger - base)))
    return times
