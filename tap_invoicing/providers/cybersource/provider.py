"""CyberSource Invoicing API v2 as the tap sees it: hosts, settings, auth, API and streams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

from tap_invoicing.core.provider import ChildSpec, Provider, Transport
from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.providers.cybersource.api import CyberSourceApi
from tap_invoicing.providers.cybersource.auth import HttpSignatureAuth, decode_secret

SETTINGS = (
    th.Property(
        "merchant_id",
        th.StringType,
        secret=True,
        title="CyberSource Merchant ID",
        description="Required for cybersource: the merchant id, sent as v-c-merchant-id.",
    ),
    th.Property(
        "merchant_key_id",
        th.StringType,
        secret=True,
        title="CyberSource Key ID",
        description=(
            "Required for cybersource: the id (a UUID) of a REST shared secret key, from the "
            "Business Center's Payment Configuration > Key Management."
        ),
    ),
    th.Property(
        "merchant_secret_key",
        th.StringType,
        secret=True,
        title="CyberSource Shared Secret Key",
        description=(
            "Required for cybersource: that shared secret key, base64 as the Business Center "
            "shows it."
        ),
    ),
)


def _make_auth(settings: RunSettings, transport: Transport) -> HttpSignatureAuth:
    options = settings.options
    return HttpSignatureAuth(
        merchant_id=str(options["merchant_id"]),
        key_id=str(options["merchant_key_id"]),
        secret_b64=str(options["merchant_secret_key"]),
    )


def _check_settings(config: Mapping[str, Any]) -> list[str]:
    try:
        decode_secret(str(config["merchant_secret_key"]))
    except ValueError as error:
        return [f"merchant_secret_key: {error}"]
    return []


PROVIDER = Provider(
    name="cybersource",
    label="CyberSource",
    environments={
        "production": "https://api.cybersource.com",
        "test": "https://apitest.cybersource.com",
        "production-india": "https://api.in.cybersource.com",
    },
    default_environment="production",
    settings=SETTINGS,
    credential_settings=("merchant_id", "merchant_key_id", "merchant_secret_key"),
    account_settings=("merchant_id",),
    check_settings=_check_settings,
    make_auth=_make_auth,
    make_api=CyberSourceApi,
    invoice_key="id",
    replication_key="submitTimeUtc",
    children=(
        ChildSpec(
            "invoice_line_items",
            items_at=("orderInformation", "lineItems"),
            primary_keys=("invoiceId", "position"),
            numbered="position",
        ),
        ChildSpec(
            "invoice_history",
            items_at=("invoiceHistory",),
            primary_keys=("invoiceId", "sequence"),
            numbered="sequence",
            number_from=1,
            oldest_first=True,
        ),
    ),
    max_page_size=1000,
    default_page_size=1000,
    start_date_meaning=(
        "its creation (the list's createdDate, else its oldest history event), compared by the "
        "tap (the list has no date filter)"
    ),
)
