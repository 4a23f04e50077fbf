"""The toy API as the tap sees it: one secret setting sent as a header, offset pages of bill
summaries, a detail per bill, one child stream, and the open-invoice plan (the list has no
change filter)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from singer_sdk import typing as th

from tap_invoicing.core.dates import parse_time
from tap_invoicing.core.listing import OffsetListing
from tap_invoicing.core.plans.open_invoices import OpenInvoicePlan, OpenInvoiceRules
from tap_invoicing.core.provider import Authenticator, ChildSpec, InvoiceApi, Pass, Provider

if TYPE_CHECKING:
    from tap_invoicing.core.bookmark import BookmarkScope
    from tap_invoicing.core.provider import Transport
    from tap_invoicing.core.run_settings import RunSettings

HEADER = "X-Toy-Key"
LIST_PATH = "/v1/bills"
RULES = OpenInvoiceRules(
    is_open=lambda bill: bill.get("status") == "OPEN",
    created=lambda summary: parse_time(summary.get("created")),
    server_time=lambda page: page.get("serverTime"),
)


class ToyApi(InvoiceApi):
    """``GET /v1/bills`` (offset, limit; newest first) and ``GET /v1/bills/{id}``."""

    list_path = LIST_PATH

    def begin(self, stream_state: Mapping[str, Any], scope: BookmarkScope) -> Pass:
        """Offset pages; details of the bills open now, open last time, or new."""
        listing = OffsetListing(self.settings.page_size)
        return Pass(listing, OpenInvoicePlan.for_run(stream_state, scope, RULES))

    def page_items(self, payload: Any) -> list[dict[str, Any]]:
        """The ``bills`` array."""
        return list(payload["bills"])

    def missing_from_page(self, payload: Any) -> list[str]:
        """A page needs its ``bills``."""
        return [] if isinstance(payload, dict) and "bills" in payload else ["bills"]

    def missing_from_detail(self, payload: Any) -> list[str]:
        """A detail needs its ``id``."""
        return [] if isinstance(payload, dict) and "id" in payload else ["id"]

    def item_id(self, item: Mapping[str, Any]) -> str:
        """``id``."""
        return str(item["id"])

    def detail_path(self, invoice_id: str) -> str:
        """``/v1/bills/{id}``."""
        return f"{LIST_PATH}/{quote(invoice_id, safe='')}"

    def invoice_date(self, invoice: Mapping[str, Any]) -> datetime | None:
        """``updated``."""
        return parse_time(invoice.get("updated"))


class KeyAuth(Authenticator):
    """The API key, as a header of every request."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Carry the key."""
        request.headers[HEADER] = self._key
        return request

    def secrets_of(self, request: requests.PreparedRequest) -> list[str]:
        """The key, to be masked in any error."""
        return [self._key]


def _make_auth(settings: RunSettings, transport: Transport) -> KeyAuth:
    return KeyAuth(str(settings.options["toy_api_key"]))


TOY = Provider(
    name="toy",
    label="Toy",
    environments={"production": "https://api.toy.invalid"},
    default_environment="production",
    settings=(
        th.Property(
            "toy_api_key",
            th.StringType,
            secret=True,
            title="Toy API Key",
            description=f"Required for toy: the account's API key, sent as {HEADER}.",
        ),
    ),
    credential_settings=("toy_api_key",),
    account_settings=("toy_api_key",),
    check_settings=lambda config: [],
    make_auth=_make_auth,
    make_api=ToyApi,
    invoice_key="id",
    replication_key="updated",
    children=(ChildSpec("invoice_lines", items_at=("lines",), primary_keys=("lineId",)),),
    max_page_size=50,
    default_page_size=50,
    start_date_meaning="its last update (updated), compared by the tap",
    schemas_dir=Path(__file__).parent / "schemas",
)
