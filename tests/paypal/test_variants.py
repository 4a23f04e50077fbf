"""PayPal's documented variants, each reproduced by a sandbox mode and survived by the tap:
search's ``fields`` (a search returns the collections only when asked for them) and recorded
transactions served without their id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tap_invoicing.providers.paypal.api import fingerprint
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.cli import main as sandbox_cli
from tests.conftest import run_sync
from tests.paypal.conftest import LIST_PATH, api_session, pages, with_status

OPEN = ("DRAFT", "SENT", "SCHEDULED", "UNPAID", "PARTIALLY_PAID", "PAYMENT_PENDING")
COLLECTIONS = {
    "items": lambda item: item.get("items"),
    "payments": lambda item: item.get("payments"),
    "refunds": lambda item: item.get("refunds"),
    "additional_recipients_info": lambda item: item.get("additional_recipients"),
    "attachments": lambda item: item["detail"].get("attachments"),
}
"""Each ``fields`` value and where its collection sits in an invoice."""
STREAMS = ("invoices", "invoice_line_items", "invoice_payments", "invoice_refunds")


# --- the sandbox's modes --------------------------------------------------------------------


@pytest.fixture(scope="module", params=["summary", "full"])
def filtered(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Sandbox, requests.Session, str]]:
    """A read-only sandbox in the default search mode, in each list shape."""
    with (
        Sandbox(provider="paypal", invoices=150, seed=81, list_shape=request.param) as sandbox,
        api_session(sandbox) as session,
    ):
        yield sandbox, session, request.param


def test_a_search_leaves_out_the_collections_its_fields_do_not_ask_for(filtered):
    sandbox, session, _ = filtered
    listed = pages(session, sandbox)
    for name, collection in COLLECTIONS.items():
        assert any(collection(sandbox.invoice(i)) for i in listed), f"no invoice has {name}"
    found = pages(session, sandbox, {})
    assert found.keys() == listed.keys()
    for invoice_id, item in found.items():
        assert not any(collection(item) for collection in COLLECTIONS.values()), invoice_id
        rest = {k: v for k, v in listed[invoice_id].items() if k not in {"payments", "refunds"}}
        rest.pop("items", None)
        rest.pop("additional_recipients", None)
        rest["detail"] = {k: v for k, v in rest["detail"].items() if k != "attachments"}
        assert item == rest
    for name, collection in COLLECTIONS.items():
        asked = pages(session, sandbox, {"fields": [name]})
        for invoice_id, item in asked.items():
            assert collection(item) == collection(sandbox.invoice(invoice_id)), name
            others = [c(item) for other, c in COLLECTIONS.items() if other != name]
            assert not any(others), (name, invoice_id)


def test_with_every_field_a_search_item_means_what_the_list_item_does(filtered):
    sandbox, session, shape = filtered
    listed = pages(session, sandbox)
    found = pages(session, sandbox, {"fields": list(COLLECTIONS)})
    assert found.keys() == listed.keys()
    for invoice_id, item in listed.items():
        assert fingerprint(found[invoice_id]) == fingerprint(item)
        if shape == "full":
            assert found[invoice_id] == item
        else:
            for key in ("status", "amount", "due_amount", "primary_recipients", "links"):
                assert found[invoice_id][key] == item[key]


def test_search_fields_all_keeps_what_a_list_item_holds():
    with (
        Sandbox(provider="paypal", invoices=60, seed=82, search_fields="all") as sandbox,
        api_session(sandbox) as session,
    ):
        listed = pages(session, sandbox)
        assert pages(session, sandbox, {}) == listed
        assert any("payments" in item for item in listed.values())
        refunded = pages(session, sandbox, {"fields": ["refunds"], "status": ["REFUNDED"]})
        for invoice_id, item in refunded.items():
            assert item["refunds"] == sandbox.invoice(invoice_id)["refunds"]
            assert set(item["payments"]) == {"paid_amount"}
    with pytest.raises(ValueError, match="search_fields"):
        Sandbox(provider="paypal", invoices=1, seed=1, search_fields="some")


def test_the_cli_offers_search_fields_to_paypal_only(capsys):
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--provider", "revolv3", "--search-fields", "all"])
    assert stopped.value.code == 2
    assert "--search-fields" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sandbox_cli(["--provider", "paypal", "--search-fields", "some"])


def test_recorded_transactions_can_be_served_without_their_ids():
    with (
        Sandbox(provider="paypal", invoices=120, seed=71, external_ids=False) as sandbox,
        api_session(sandbox) as session,
    ):
        marked = with_status(sandbox, "MARKED_AS_REFUNDED")[0]
        served = session.get(f"{sandbox.base_url}{LIST_PATH}/{marked}", timeout=10).json()
        assert served == sandbox.invoice(marked)
        (payment,) = served["payments"]["transactions"]
        (refund,) = served["refunds"]["transactions"]
        assert payment["type"] == refund["type"] == "EXTERNAL"
        assert "payment_id" not in payment and "refund_id" not in refund
        body = {"fields": ["payments", "refunds"], "status": ["MARKED_AS_REFUNDED"]}
        assert pages(session, sandbox, body)[marked]["refunds"] == served["refunds"]
        paid = with_status(sandbox, "PAID")[0]
        (paypal,) = sandbox.invoice(paid)["payments"]["transactions"]
        assert paypal["payment_id"]
        (refund_id,) = sandbox.api.external_refunds(marked)
        response = session.delete(
            f"{sandbox.base_url}{LIST_PATH}/{marked}/refunds/{refund_id}", timeout=10
        )
        assert response.status_code == 204
        assert sandbox.invoice(marked)["status"] == "MARKED_AS_PAID"


# --- the tap through the search -------------------------------------------------------------


def records_of(result: Any) -> dict[str, list[str]]:
    """Every record of each stream, as sorted JSON, less the tap's own ``_sdc_`` fields."""
    return {
        stream: sorted(
            repr(sorted((k, v) for k, v in record.items() if not k.startswith("_sdc_")))
            for record in result.records(stream)
        )
        for stream in STREAMS
    }


def searches(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.method == "POST" and r.kind == "list")


@pytest.mark.parametrize("shape", ["summary", "full"])
def test_a_run_through_the_search_emits_what_a_run_through_the_list_does(shape):
    with Sandbox(provider="paypal", invoices=100, seed=83, list_shape=shape) as sandbox:
        listed = {**sandbox.tap_config(), "page_size": 20}
        through_list = run_sync(listed)
        assert searches(sandbox) == 0
        sandbox.clear_requests()
        through_search = run_sync({**listed, "max_list_pages": 1})
        assert searches(sandbox) > 0, "past the first page, the account was searched"
        assert records_of(through_search) == records_of(through_list)
        if shape == "full":
            assert sandbox.detail_requests() == [], "whole invoices came whole from the search"


def test_settled_invoices_read_once_are_not_read_again_whether_listed_or_searched():
    with Sandbox(provider="paypal", invoices=100, seed=84) as sandbox:
        listed = {**sandbox.tap_config(), "page_size": 20}
        searched = {**listed, "max_list_pages": 1}
        state = run_sync(listed).state
        open_now = set(with_status(sandbox, *OPEN))
        for config in (searched, searched, listed):
            sandbox.clear_requests()
            state = run_sync(config, state=state).state
            assert set(sandbox.detail_requests()) == open_now, "only the open invoices"
        refunded = with_status(sandbox, "PARTIALLY_REFUNDED")[0]
        sandbox.api.refund(refunded, "0.01")  # a change only the refunds' total shows
        assert sandbox.invoice(refunded)["status"] == "PARTIALLY_REFUNDED"
        sandbox.clear_requests()
        run_sync(searched, state=state)
        assert refunded in sandbox.detail_requests()
