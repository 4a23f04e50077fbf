"""Revolv3 as the tap sees it: hosts, settings, auth, API and streams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

from tap_invoicing.core.provider import ChildSpec, Provider, Transport
from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.providers.revolv3.api import DEFAULT_LOOKBACK_MINUTES, Revolv3Api
from tap_invoicing.providers.revolv3.auth import StaticTokenAuth

MAX_LOOKBACK_MINUTES = 7 * 24 * 60
DOCUMENTED_RATE = 20.0
"""Requests per second per IP; the other documented limit, 20,000 per rolling 15 minutes, is
22.2 per second on average, so pacing under this one keeps to both."""

SETTINGS = (
    th.Property(
        "static_token",
        th.StringType,
        secret=True,
        title="Revolv3 Static Token",
        description=(
            "Required for revolv3: a Developer Static Token (portal: Settings > Integration "
            "Profile), sent as x-revolv3-token. It works only in the environment it was made in."
        ),
    ),
    th.Property(
        "include_raw_processor_response",
        th.BooleanType,
        default=False,
        title="Include Raw Processor Response",
        description=(
            "revolv3: fill each attempt's processorRawResponse, the processor's own answer as a "
            "JSON string (Revolv3 keeps it 60 days)."
        ),
    ),
    th.Property(
        "lookback_minutes",
        th.IntegerType,
        default=DEFAULT_LOOKBACK_MINUTES,
        title="Lookback Minutes",
        description=(
            f"revolv3: how far before the previous run's window end a run lists again, "
            f"0-{MAX_LOOKBACK_MINUTES}: covers the API's own lag and clock drift."
        ),
    ),
)


def _make_auth(settings: RunSettings, transport: Transport) -> StaticTokenAuth:
    return StaticTokenAuth(str(settings.options["static_token"]))


def _check_settings(config: Mapping[str, Any]) -> list[str]:
    errors = []
    lookback = config.get("lookback_minutes")
    if lookback is not None and not 0 <= int(lookback) <= MAX_LOOKBACK_MINUTES:
        errors.append(f"lookback_minutes: must be between 0 and {MAX_LOOKBACK_MINUTES}")
    return errors


PROVIDER = Provider(
    name="revolv3",
    label="Revolv3",
    environments={
        "production": "https://api.revolv3.com",
        "sandbox": "https://api-sandbox.revolv3.com",
    },
    default_environment="production",
    settings=SETTINGS,
    credential_settings=("static_token",),
    account_settings=("static_token",),
    check_settings=_check_settings,
    make_auth=_make_auth,
    make_api=Revolv3Api,
    invoice_key="invoiceId",
    replication_key="lastUpdateEndDate",
    children=(
        ChildSpec(
            "invoice_line_items",
            items_at=("invoiceLineItems",),
            primary_keys=("invoiceLineItemId",),
        ),
        ChildSpec(
            "invoice_attempts", items_at=("invoiceAttempts",), primary_keys=("invoiceAttemptId",)
        ),
    ),
    max_page_size=100,
    default_page_size=100,
    start_date_meaning=(
        "its billingDate (that day at 00:00 UTC; no creation date exists), compared by the tap"
    ),
    pages_capped=True,
    default_max_requests_per_second=DOCUMENTED_RATE,
    pacing_margin=0.1,
)
