"""The toy API's emulation, on the sandbox's shared server and store: an API key header, the
list by offset and limit (newest first, an empty page past the end) and the detail."""

from __future__ import annotations

import hmac
import random
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar

from tap_invoicing.sandbox.options import EmulatorOption
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.server import ApiRequest, ApiResponse, RouteInfo, json_response
from tap_invoicing.sandbox.store import RecordStore, StoredInvoices, find
from tests.toy.provider import HEADER, LIST_PATH

DETAIL_PATH = re.compile(rf"{LIST_PATH}/([^/]+)")
START = datetime(2024, 1, 1, tzinfo=UTC)
LINE_AMOUNT = Decimal("12.50")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Credentials:
    """The API key the sandbox accepts, named as the tap's setting; never in a repr."""

    toy_api_key: str = field(repr=False)

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        """Deterministic per seed."""
        return cls(f"toy_{seed}_{random.Random(f'{seed}:toy-key').getrandbits(96):024x}")


@dataclass
class Bill:
    """A stored bill: ``detail`` is what the detail endpoint serves."""

    detail: dict[str, Any]


def _at_least_zero(value: int) -> bool:
    return value >= 0


LINES_PER_BILL = EmulatorOption(
    "lines_per_bill",
    "line items per bill (default 2)",
    type=int,
    metavar="N",
    valid=_at_least_zero,
    requirement="must be >= 0",
)


class ToyEmulator(StoredInvoices[Bill]):
    """A seeded toy account: every third bill is OPEN, the others PAID."""

    name = "toy"
    rate_limits: tuple[RateLimit, ...] = ()
    cli_options: ClassVar[tuple[EmulatorOption, ...]] = (LINES_PER_BILL,)
    secret_patterns: ClassVar[tuple[re.Pattern[str], ...]] = ()

    @staticmethod
    def credentials_for_seed(seed: int) -> tuple[str, ...]:
        """The API key of ``seed``."""
        return tuple(asdict(Credentials.for_seed(seed)).values())

    def __init__(self, *, invoices: int, seed: int, lines_per_bill: int = 2) -> None:
        self.credentials = Credentials.for_seed(seed)
        bills = [self._bill(seed, number, lines_per_bill) for number in range(invoices)]
        self._store = RecordStore([(bill.detail["id"], bill) for bill in bills])

    @staticmethod
    def _bill(seed: int, number: int, lines: int) -> Bill:
        bill_id, created = f"B{seed}-{number:04d}", START + timedelta(hours=number)
        items = [
            {"lineId": f"{bill_id}-{n}", "description": f"item {n}", "amount": LINE_AMOUNT}
            for n in range(lines)
        ]
        status = "OPEN" if number % 3 == 0 else "PAID"
        return Bill(
            {
                "id": bill_id,
                "status": status,
                "created": _iso(created),
                "updated": _iso(created + timedelta(minutes=5)),
                "total": LINE_AMOUNT * lines,
                "lines": items,
            }
        )

    def classify(self, method: str, path: str) -> RouteInfo:
        """The list and the details; nothing else."""
        match = DETAIL_PATH.fullmatch(path)
        if method == "GET" and path == LIST_PATH:
            return RouteInfo("list")
        return RouteInfo("detail", match[1]) if method == "GET" and match else RouteInfo("other")

    def handle(self, request: ApiRequest) -> ApiResponse:
        """The key, then the route."""
        sent = request.headers.get(HEADER) or ""
        if not hmac.compare_digest(sent.encode(), self.credentials.toy_api_key.encode()):
            return self.fault_response(401)
        route = self.classify(request.method, request.path)
        if route.kind == "list":
            offset, limit = (int(request.query.get(name, "0")) for name in ("offset", "limit"))
            with self._store.locked() as records:
                page = list(reversed(records.values()))[offset : offset + limit]
                summaries = [{k: b.detail[k] for k in ("id", "status", "created")} for b in page]
            return json_response(200, {"bills": summaries, "serverTime": _iso(datetime.now(UTC))})
        with self._store.locked() as records:
            bill = records.get(route.invoice_id or "")
            return json_response(200, bill.detail) if bill else self.fault_response(404)

    def fault_response(self, status: int) -> ApiResponse:
        """``{"error": <reason phrase>}``."""
        return json_response(status, {"error": HTTPStatus(status).phrase})

    def skeleton_response(self) -> ApiResponse:
        """``{}``."""
        return json_response(200, {})

    def rate_limited_response(self) -> ApiResponse:
        """A plain 429."""
        return self.fault_response(429)

    def pay(self, bill_id: str) -> None:
        """Settle an open bill now."""
        with self._store.locked() as records:
            find(records, bill_id).detail |= {"status": "PAID", "updated": _iso(datetime.now(UTC))}
