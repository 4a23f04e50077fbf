"""Revolv3's documented variants are survived: the v1 list's ``lastAttemptOnly`` (its default
undocumented) never keeps earlier attempts from ``invoice_attempts``, and a field the docs leave
untyped keeps the JSON type the API sends it in (``accountNumberLength`` arrives as a number)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from tap_invoicing.providers.revolv3.api import Revolv3Api
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.cli import main as sandbox_cli
from tests.conftest import run_sync
from tests.revolv3.conftest import fast, list_queries

LIST = "/api/Invoices/v1"


def attempt_ids(invoice: dict[str, Any]) -> list[int]:
    return [attempt["invoiceAttemptId"] for attempt in invoice["invoiceAttempts"] or []]


def get_list(sandbox: Sandbox, **params: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sandbox.base_url}{LIST}",
        params={"pageSize": "100", **params},
        headers={"x-revolv3-token": sandbox.credentials.static_token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
def trimming() -> Iterator[Sandbox]:
    """Full list items that hold only the last attempt unless every attempt is asked for; one
    invoice made to have three attempts on top of the seeded retries."""
    with Sandbox(
        provider="revolv3",
        invoices=60,
        seed=27,
        rate_limits=(),
        list_shape="full",
        last_attempt_only_default=True,
    ) as sandbox:
        retried = sandbox.api.add(1)[0]
        sandbox.api.add_attempt(retried, success=False)
        sandbox.api.add_attempt(retried, success=False)
        sandbox.api.pay(retried)
        yield sandbox


def every_attempt(sandbox: Sandbox) -> dict[str, list[int]]:
    attempts = {i: attempt_ids(sandbox.invoice(i)) for i in sandbox.invoice_ids()}
    assert sum(len(ids) >= 3 for ids in attempts.values()) >= 1
    assert sum(len(ids) >= 2 for ids in attempts.values()) >= 5, "too few retried invoices"
    return attempts


# --- lastAttemptOnly: the sandbox's mode ----------------------------------------------------


def test_the_mode_trims_full_items_unless_every_attempt_is_asked_for(trimming):
    attempts = every_attempt(trimming)
    unasked = get_list(trimming)
    asked = get_list(trimming, lastAttemptOnly="false")
    trimmed = get_list(trimming, lastAttemptOnly="True")
    for item, whole, last in zip(unasked, asked, trimmed, strict=True):
        ids = attempts[str(item["invoiceId"])]
        assert attempt_ids(whole) == ids
        assert attempt_ids(item) == attempt_ids(last) == ids[-1:]
        assert whole == trimming.invoice(str(item["invoiceId"]))


def test_without_the_mode_an_unasked_list_holds_every_attempt():
    with Sandbox(
        provider="revolv3", invoices=30, seed=27, rate_limits=(), list_shape="full"
    ) as sandbox:
        for item in get_list(sandbox):
            assert attempt_ids(item) == attempt_ids(sandbox.invoice(str(item["invoiceId"])))


def test_the_mode_is_checked_and_offered_on_the_command_line(capsys):
    with pytest.raises(ValueError, match="last_attempt_only_default"):
        Sandbox(provider="revolv3", invoices=1, seed=1, last_attempt_only_default="yes")
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--provider", "cybersource", "--last-attempt-only-default", "true"])
    assert stopped.value.code == 2
    assert "revolv3 options:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--provider", "revolv3", "--last-attempt-only-default", "maybe"])
    assert stopped.value.code == 2


# --- lastAttemptOnly: the tap ---------------------------------------------------------------


def emitted_attempts(result: Any) -> dict[str, list[int]]:
    """Per invoice, the attempt ids of its ``invoice_attempts`` records, in emitted order."""
    emitted: dict[str, list[int]] = {}
    for record in result.records("invoice_attempts"):
        emitted.setdefault(str(record["invoiceId"]), []).append(record["invoiceAttemptId"])
    return emitted


def test_every_attempt_reaches_invoice_attempts_when_the_list_trims_by_default(trimming):
    attempts = every_attempt(trimming)
    result = run_sync({**fast(trimming), "page_size": 25})
    assert emitted_attempts(result) == {i: ids for i, ids in attempts.items() if ids}
    for record in result.records("invoices"):
        assert attempt_ids(record) == attempts[str(record["invoiceId"])]
    queries = list_queries(trimming)
    assert queries
    assert all(query["lastAttemptOnly"] == "false" for query in queries)
    assert trimming.detail_requests() == [], "full items asked with every attempt are whole"


def test_a_full_item_not_known_to_hold_every_attempt_gets_its_detail(trimming, monkeypatch):
    monkeypatch.setattr(Revolv3Api, "list_params", lambda self: {})
    attempts = every_attempt(trimming)
    result = run_sync({**fast(trimming), "page_size": 25})
    assert emitted_attempts(result) == {i: ids for i, ids in attempts.items() if ids}
    assert sorted(trimming.detail_requests()) == sorted(trimming.invoice_ids())


# --- a number stays a number ----------------------------------------------------------------


def ach_lengths(invoice: dict[str, Any]) -> list[Any]:
    """Every ``accountNumberLength`` in an invoice (its payment method and its attempts')."""
    methods = [invoice.get("paymentMethod")]
    methods += [attempt.get("paymentMethod") for attempt in invoice.get("invoiceAttempts") or []]
    return [
        method["paymentMethodAchDetails"]["accountNumberLength"]
        for method in methods
        if method and method.get("paymentMethodAchDetails")
    ]


@pytest.mark.parametrize("list_shape", ["summary", "full"])
def test_account_number_length_arrives_as_the_number_the_api_sends(list_shape):
    with Sandbox(
        provider="revolv3", invoices=80, seed=28, rate_limits=(), list_shape=list_shape
    ) as sandbox:
        served = {i: sandbox.invoice(i) for i in sandbox.invoice_ids()}
        result = run_sync({**fast(sandbox), "page_size": 50})
    sent = [length for invoice in served.values() for length in ach_lengths(invoice)]
    assert sent and all(type(length) is int for length in sent), "the API sends JSON numbers"
    compared = 0
    for record in result.records("invoices"):
        lengths = ach_lengths(record)
        assert lengths == ach_lengths(served[str(record["invoiceId"])])
        compared += len(lengths)
        assert all(type(length) is int for length in lengths), lengths
    assert compared >= 5, "too few ACH invoices in the data set"
    for attempt in result.records("invoice_attempts"):
        details = (attempt.get("paymentMethod") or {}).get("paymentMethodAchDetails")
        if details:
            assert type(details["accountNumberLength"]) is int
            assert 8 <= details["accountNumberLength"] <= 17
