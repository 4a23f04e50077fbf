"""Our HTTP Signature auth signs exactly as the vendor SDK (cybersource-rest-client-python) does.

Vendor code the expected values come from (package ``authenticationsdk``):

- ``core.MerchantConfiguration.MerchantConfiguration.set_merchantconfig`` and
  ``validate_merchant_details``: the merchant config, built as ``ApiClient.set_configuration`` does.
- ``core.Authorization.Authorization.get_token(mconfig, date_time, method, request_target, body)``:
  the ``Signature`` header value, the same call ``ApiClient.call_authentication_header`` makes. For
  ``http_signature`` it runs ``http.HTTPSignatureToken.HTTPSignatureToken.signature_header``, which
  builds the signing string and HMAC in ``http.GetSignatureParameter.GetSignatureParameter
  .get_signature_param``.
- ``payloaddigest.PayLoadDigest.DigestAndPayload.string_digest_generation``: the ``Digest`` value,
  which ``ApiClient.set_digest`` prefixes with ``SHA-256=``.

The date: ``get_token`` takes the ``Date`` string as an argument (``ApiClient`` passes it
``mconfig.get_time()``), so the vendor clock is not patched. ``ApiClient`` itself is not used: its
constructor calls ``pkg_resources.require("cybersource-rest-client-python")``, which can fail for
reasons unrelated to signing (an old setuptools fails to resolve ``zope.interface``), and adds
nothing the signature depends on.
"""

import base64
import hmac
import warnings
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from wsgiref.handlers import format_date_time

import pytest
import requests

from tap_invoicing.providers.cybersource.auth import (
    HttpSignatureAuth,
    body_digest,
    decode_secret,
    sign,
    signature_header,
    signing_string,
)

# When pgpy (a vendor dependency) is imported, it imports the deprecated stdlib module `imghdr`.
# This happens at collection, where a `pytestmark` filter does not apply yet.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pgpy\.constants")
    from authenticationsdk.core.MerchantConfiguration import MerchantConfiguration
    from authenticationsdk.payloaddigest.PayLoadDigest import DigestAndPayload

    # The vendor's Authorization module has a circular import (Authorization -> ... ->
    # CertificateUtility -> CyberSource -> MerchantConfiguration -> CertificateUtility): it only
    # imports once MerchantConfiguration has been imported, so keep it after the split.
    # isort: split
    from authenticationsdk.core.Authorization import Authorization

HOST = "apitest.cybersource.com"
DATE = "Thu, 18 Jul 2019 00:18:03 GMT"
MERCHANT_ID = "tapinvoicing_test"
KEY_ID = "08c94330-f618-42a3-b09d-e1e43be5efda"
SECRET = base64.b64encode(b"tap-invoicing test key, not real").decode()
OTHER_SECRET = base64.b64encode(b"a different made-up test key....").decode()
BODY = (
    '{"customerInformation": {"name": "José"}, '
    '"invoiceInformation": {"dueDate": "2026-06-30", "description": "Ünïcödé body"}}'
)

CASES = [
    ("GET", "/invoicing/v2/invoices?offset=0&limit=100&status=PAID", None),
    ("GET", "/invoicing/v2/invoices/2670", None),
    ("POST", "/invoicing/v2/invoices", BODY),
]


def vendor_config(secret):
    """A vendor MerchantConfiguration for HTTP Signature."""
    details = {
        "authentication_type": "http_signature",
        "merchantid": MERCHANT_ID,
        "run_environment": HOST,
        "merchant_keyid": KEY_ID,
        "merchant_secretkey": secret,
    }
    config = MerchantConfiguration()
    config.set_merchantconfig(details)
    config.validate_merchant_details(details)
    # No "log_config" given, so the vendor's default applies: no log files. (Passing a
    # LogConfiguration with enable_log False breaks validate_merchant_details, which then
    # json.dumps the config object.) Fail rather than write files if that default changes.
    assert config.log_config.enable_log is False
    return config


def vendor_signature(method, target, body, *, date=DATE, secret=SECRET):
    """The vendor's ``Signature`` header value."""
    return Authorization().get_token(vendor_config(secret), date, method, target, body)


def vendor_digest(body):
    """The vendor's ``Digest`` header value."""
    return "SHA-256=" + DigestAndPayload().string_digest_generation(body).decode()


@pytest.fixture
def vendor_signed_texts(monkeypatch):
    """The texts the vendor passes to HMAC (its signing strings), still signed by the real hmac."""
    texts = []

    def recording_new(key, msg, digestmod):
        texts.append(msg.decode())
        return hmac.new(key, msg, digestmod)

    monkeypatch.setattr(
        "authenticationsdk.http.GetSignatureParameter.hmac", SimpleNamespace(new=recording_new)
    )
    return texts


def our_signature(method, target, body):
    """Our signing string and ``Signature`` header value for the fixed inputs."""
    digest = body_digest(body.encode()) if body is not None else None
    text = signing_string(
        host=HOST,
        date=DATE,
        method=method,
        request_target=target,
        merchant_id=MERCHANT_ID,
        digest=digest,
    )
    signature = sign(decode_secret(SECRET), text)
    return text, signature_header(key_id=KEY_ID, method=method, signature=signature)


@pytest.mark.parametrize(("method", "target", "body"), CASES)
def test_signing_string_and_header_match_vendor(method, target, body, vendor_signed_texts):
    expected_header = vendor_signature(method, target, body)
    text, header = our_signature(method, target, body)
    assert vendor_signed_texts == [text]
    assert header == expected_header


@pytest.mark.parametrize(
    "change",
    [{"secret": OTHER_SECRET}, {"date": "Thu, 18 Jul 2019 00:18:04 GMT"}],
    ids=["secret", "date"],
)
@pytest.mark.parametrize(("method", "target", "body"), CASES)
def test_other_secret_or_date_does_not_match(method, target, body, change):
    _, header = our_signature(method, target, body)
    assert vendor_signature(method, target, body, **change) != header


def test_digest_matches_vendor():
    assert body_digest(BODY.encode()) == vendor_digest(BODY)


@pytest.mark.parametrize(
    ("method", "request_kwargs", "vendor_target"),
    [
        (
            "GET",
            {"params": [("offset", 0), ("limit", 100), ("status", "PAID")]},
            # What the SDK signs: resource path + "?" + urlencode(query params), in send order.
            "/invoicing/v2/invoices?offset=0&limit=100&status=PAID",
        ),
        (
            "POST",
            {"json": {"invoiceInformation": {"dueDate": "2026-06-30"}}},
            "/invoicing/v2/invoices",
        ),
    ],
    ids=["GET", "POST"],
)
def test_http_signature_auth_headers_verify_against_vendor(method, request_kwargs, vendor_target):
    auth = HttpSignatureAuth(merchant_id=MERCHANT_ID, key_id=KEY_ID, secret_b64=SECRET)
    prepared = requests.Request(
        method, f"https://{HOST}/invoicing/v2/invoices", auth=auth, **request_kwargs
    ).prepare()
    headers = prepared.headers
    body = prepared.body.decode() if prepared.body is not None else None

    date = headers["Date"]
    # The SDK formats Date with wsgiref's format_date_time (MerchantConfiguration.get_time).
    assert format_date_time(parsedate_to_datetime(date).timestamp()) == date
    assert headers["Host"] == HOST
    assert headers["v-c-merchant-id"] == MERCHANT_ID
    assert headers["Signature"] == vendor_signature(method, vendor_target, body, date=date)
    if method == "POST":
        assert headers["Digest"] == vendor_digest(body)
    else:
        assert "Digest" not in headers
