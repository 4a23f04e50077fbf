"""CyberSource Invoicing API v2 as the tap sees it: hosts, credentials and streams."""

from __future__ import annotations

from collections.abc import Mapping

from tap_invoicing.providers.base import Provider
from tap_invoicing.providers.cybersource.auth import HttpSignatureAuth, decode_secret
from tap_invoicing.providers.cybersource.streams import (
    CyberSourceHistoryStream,
    CyberSourceInvoicesStream,
    CyberSourceLineItemsStream,
)


def _make_auth(config: Mapping) -> HttpSignatureAuth:
    return HttpSignatureAuth(
        merchant_id=config["merchant_id"],
        key_id=config["merchant_key_id"],
        secret_b64=config["merchant_secret_key"],
    )


def _check_credentials(config: Mapping) -> list[str]:
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
    credential_settings=("merchant_id", "merchant_key_id", "merchant_secret_key"),
    account_settings=("merchant_id",),
    max_page_size=1000,
    default_page_size=1000,
    make_auth=_make_auth,
    check_credentials=_check_credentials,
    stream_types=(CyberSourceInvoicesStream, CyberSourceLineItemsStream, CyberSourceHistoryStream),
)
