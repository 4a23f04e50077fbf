"""Odd answers from the API end in records or in one clear line, never in a traceback: text no
writer can encode, JSON nested beyond reason, amounts as signed strings, a body that echoes a
short credential, and a value that its column cannot hold."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from tap_invoicing.errors import RequestRefusedError
from tap_invoicing.sandbox import Fault
from tests.conftest import everything, run_cli, run_sync

DETAIL = "/invoicing/v2/invoices/"


def with_name(name: str):
    def rewrite(detail: dict) -> dict:
        return {**detail, "customerInformation": {**detail["customerInformation"], "name": name}}

    return rewrite


def test_a_lone_surrogate_is_replaced_with_one_warning(sandbox, config, tmp_path):
    for invoice_id in sandbox.invoice_ids()[:2]:
        sandbox.inject(
            Fault(
                kind="rewrite",
                rewrite=with_name("Zo\ud83d Ltd"),
                path_prefix=DETAIL + invoice_id,
                times=None,
            )
        )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_cli("--config", str(path))
    assert result.returncode == 0, result.stderr
    names = [
        message["record"]["customerInformation"].get("name")
        for message in map(json.loads, result.stdout.splitlines())
        if message["type"] == "RECORD" and message["stream"] == "invoices"
    ]
    assert names.count("Zo\ufffd Ltd") == 2
    assert result.stderr.count("lone UTF-16 surrogates") == 1


def test_json_nested_thousands_deep_is_retried_as_a_malformed_body(sandbox, config, caplog):
    clean = run_sync(config)
    deep = b'{"id": "1", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    target = sandbox.invoice_ids()[4]
    sandbox.inject(Fault(kind="garbage", body=deep, path_prefix=DETAIL + target, times=1))
    assert everything(run_sync(config)) == everything(clean)
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{DETAIL}{target}" in line and "Retrying" in line for line in retries)


def test_an_amount_sent_as_a_signed_string_lands_as_its_number(sandbox, config):
    target = sandbox.invoice_ids()[3]

    def signed(detail: dict) -> dict:
        order = detail["orderInformation"]
        amounts = {**order["amountDetails"], "totalAmount": "+12.50"}
        return {**detail, "orderInformation": {**order, "amountDetails": amounts}}

    sandbox.inject(Fault(kind="rewrite", rewrite=signed, path_prefix=DETAIL + target, times=None))
    record = next(r for r in run_sync(config).records("invoices") if r["id"] == target)
    total = record["orderInformation"]["amountDetails"]["totalAmount"]
    assert isinstance(total, Decimal)
    assert str(total) == "12.50"


@pytest.mark.parametrize("setting", ["merchant_id", "merchant_key_id"])
def test_a_short_credential_echoed_in_an_error_body_is_masked(sandbox, config, caplog, setting):
    short = "Qz7"
    sandbox.inject(
        Fault(
            kind="status",
            status=400,
            body={"message": f"value {short} refused"},
            route="list",
            times=None,
        )
    )
    with pytest.raises(RequestRefusedError) as refused:
        run_sync({**config, setting: short})
    assert "value [redacted] refused" in str(refused.value)
    assert short not in str(refused.value)
    assert short not in caplog.text


def test_text_in_an_amount_field_is_that_invoices_problem_and_an_empty_one_is_null(
    sandbox, config, caplog
):
    unloadable, empty = sandbox.invoice_ids()[2], sandbox.invoice_ids()[6]

    def amount(text: str):
        def rewrite(detail: dict) -> dict:
            order = detail["orderInformation"]
            amounts = {**order["amountDetails"], "balanceAmount": text}
            return {**detail, "orderInformation": {**order, "amountDetails": amounts}}

        return rewrite

    for invoice_id, text in ((unloadable, "N/A"), (empty, "")):
        sandbox.inject(
            Fault(kind="rewrite", rewrite=amount(text), path_prefix=DETAIL + invoice_id, times=None)
        )
    result = run_sync(config)
    assert unloadable not in result.ids()
    record = next(r for r in result.records("invoices") if r["id"] == empty)
    assert record["orderInformation"]["amountDetails"]["balanceAmount"] is None
    assert (
        f"Invoice {unloadable} not emitted, read again next run: "
        "orderInformation.amountDetails.balanceAmount is not a number"
    ) in caplog.text


def with_new_fields(detail: dict) -> dict:
    """A detail with a top-level field and a nested one that no schema declares."""
    information = {**detail["customerInformation"], "loyaltyTier": {"points": Decimal("1200.50")}}
    return {**detail, "riskScore": Decimal("0.0730"), "customerInformation": information}


def test_fields_the_api_adds_are_kept_with_their_digits_and_named_once(sandbox, config, caplog):
    invoice_ids = sandbox.invoice_ids()[:3]
    for invoice_id in invoice_ids:
        sandbox.inject(
            Fault(
                kind="rewrite", rewrite=with_new_fields, path_prefix=DETAIL + invoice_id, times=None
            )
        )
    with caplog.at_level(logging.WARNING):
        result = run_sync(config)
    records = {r["id"]: r for r in result.records("invoices")}
    for invoice_id in invoice_ids:
        assert str(records[invoice_id]["extraFields"]["riskScore"]) == "0.0730"
        tier = records[invoice_id]["customerInformation"]["loyaltyTier"]
        assert str(tier["points"]) == "1200.50"
    assert all(records[i]["extraFields"] is None for i in records if i not in invoice_ids)
    named = [r.message for r in caplog.records if "do not declare" in r.message]
    assert named == [  # customerInformation's schema takes any property: nothing new there
        "Fields the schemas do not declare, kept as sent (top-level ones in extraFields): "
        "invoices: riskScore"
    ]
