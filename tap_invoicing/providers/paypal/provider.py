"""PayPal Invoicing v2 as the tap sees it: hosts, settings, OAuth, API and streams."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_invoicing.core.oauth import ClientCredentialsAuth
from tap_invoicing.core.provider import ChildSpec, Provider, Transport
from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.providers.paypal.api import OAUTH_PATH, PayPalApi, payment_keys, refund_keys

SETTINGS = (
    th.Property(
        "client_id",
        th.StringType,
        secret=True,
        title="PayPal Client ID",
        description=(
            "Required for paypal: the client id of a PayPal REST app with the Invoicing feature "
            "(Developer Dashboard > Apps & Credentials)."
        ),
    ),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        title="PayPal Client Secret",
        description="Required for paypal: that REST app's client secret.",
    ),
)


def _make_auth(settings: RunSettings, transport: Transport) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        token_url=settings.api_root + OAUTH_PATH,
        client_id=str(settings.options["client_id"]),
        client_secret=str(settings.options["client_secret"]),
        transport=transport,
    )


PROVIDER = Provider(
    name="paypal",
    label="PayPal",
    environments={
        "live": "https://api-m.paypal.com",
        "sandbox": "https://api-m.sandbox.paypal.com",
    },
    default_environment="live",
    settings=SETTINGS,
    credential_settings=("client_id", "client_secret"),
    account_settings=("client_id",),
    check_settings=lambda config: [],
    make_auth=_make_auth,
    make_api=PayPalApi,
    invoice_key="id",
    replication_key="last_update_time",
    children=(
        ChildSpec(
            "invoice_line_items",
            items_at=("items",),
            primary_keys=("invoiceId", "position"),
            numbered="position",
        ),
        ChildSpec(
            "invoice_payments",
            items_at=("payments", "transactions"),
            primary_keys=("invoiceId", "transactionKey"),
            keyed=("transactionKey", payment_keys),
        ),
        ChildSpec(
            "invoice_refunds",
            items_at=("refunds", "transactions"),
            primary_keys=("invoiceId", "transactionKey"),
            keyed=("transactionKey", refund_keys),
        ),
    ),
    max_page_size=100,
    default_page_size=100,
    start_date_meaning=(
        "its creation (detail.metadata.create_time), filtered by PayPal's search "
        "(creation_date_range)"
    ),
    pages_capped=True,
    correlation_id_field="debug_id",
)
