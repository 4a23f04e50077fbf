"""PayPal incremental runs: every change reaches the next run, settled invoices cost little."""

from __future__ import annotations

from tap_invoicing.sandbox import Sandbox
from tests.conftest import run_sync
from tests.paypal.conftest import invoice_ids, with_status

OPEN = ("DRAFT", "SENT", "SCHEDULED", "UNPAID", "PARTIALLY_PAID", "PAYMENT_PENDING")


def test_a_refund_on_an_invoice_paid_at_the_first_run_reaches_the_second():
    with Sandbox(provider="paypal", invoices=400, seed=43) as paypal:
        config = paypal.tap_config()
        first = run_sync(config)
        paid = with_status(paypal, "PAID")
        paypal.api.refund(paid[0])
        paypal.clear_requests()
        second = run_sync(config, state=first.state)
        emitted = {r["id"]: r for r in second.records("invoices")}
        assert paid[0] in emitted
        assert emitted[paid[0]]["status"] in {"REFUNDED", "PARTIALLY_REFUNDED"}
        refunds = [r for r in second.records("invoice_refunds") if r["invoiceId"] == paid[0]]
        assert refunds
        open_now = set(with_status(paypal, *OPEN))
        read = set(paypal.detail_requests())
        assert open_now <= read
        settled_read = read - open_now
        assert paid[0] in settled_read
        assert len(settled_read) <= 10, "only the refunded invoice's bucket of settled invoices"


def test_every_kind_of_change_reaches_the_next_run(paypal, paypal_config):
    first = run_sync(paypal_config)
    draft = with_status(paypal, "DRAFT")[0]
    sent = with_status(paypal, "SENT", "UNPAID")
    paid = with_status(paypal, "PAID")
    marked = with_status(paypal, "MARKED_AS_PAID")
    paypal.api.send(draft)
    paypal.api.pay(sent[0])
    paypal.api.pay(sent[1], amount="1.00")
    paypal.api.record_payment(sent[2])
    paypal.api.cancel(sent[3])
    paypal.api.update(sent[4], memo="changed after run 1")
    paypal.api.refund(paid[0])
    changed = {draft, *sent[:5], paid[0]}
    if marked:
        paypal.api.record_refund(marked[0])
        changed.add(marked[0])
    added = paypal.api.add(2)
    second = run_sync(paypal_config, state=first.state)
    emitted = {r["id"]: r for r in second.records("invoices")}
    for invoice_id in (*changed, *added):
        assert invoice_id in emitted, invoice_id
        assert emitted[invoice_id]["status"] == paypal.invoice(invoice_id)["status"]
    assert emitted[sent[4]]["detail"]["memo"] == "changed after run 1"
    payments = {r["invoiceId"] for r in second.records("invoice_payments")}
    assert {sent[0], sent[1], sent[2]} <= payments


def keys_of(result, invoice_id: str) -> set[str]:
    """The payment keys one run emitted for one invoice."""
    payments = result.records("invoice_payments")
    return {r["transactionKey"] for r in payments if r["invoiceId"] == invoice_id}


def test_payment_and_refund_keys_do_not_change_as_more_are_added(paypal, paypal_config):
    first = run_sync(paypal_config)
    partly = with_status(paypal, "SENT", "UNPAID")[0]
    paypal.api.pay(partly, amount="1.00")
    second = run_sync(paypal_config, state=first.state)
    before = {
        r["transactionKey"] for r in second.records("invoice_payments") if r["invoiceId"] == partly
    }
    paypal.api.record_payment(partly, amount="1.00")
    third = run_sync(paypal_config, state=second.state)
    after = {
        r["transactionKey"] for r in third.records("invoice_payments") if r["invoiceId"] == partly
    }
    assert before < after


def test_windowing_past_a_small_page_cap_loses_nothing():
    with Sandbox(provider="paypal", invoices=150, seed=44, max_page=2) as paypal:
        result = run_sync({**paypal.tap_config(), "page_size": 20, "max_list_pages": 2})
        assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
        assert len(invoice_ids(result)) == len(set(invoice_ids(result)))
        searches = [r for r in paypal.requests if r.method == "POST" and r.kind == "list"]
        assert searches, "the account was read through creation windows"


def test_a_400_past_the_cap_is_noticed_without_the_setting():
    with Sandbox(provider="paypal", invoices=90, seed=45, max_page=2) as paypal:
        result = run_sync({**paypal.tap_config(), "page_size": 20})
        assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())
        assert any(r.status == 400 for r in paypal.requests)


def test_no_list_order_is_relied_on():
    with Sandbox(provider="paypal", invoices=90, seed=46, default_order="shuffled") as paypal:
        result = run_sync({**paypal.tap_config(), "page_size": 20})
        assert sorted(invoice_ids(result)) == sorted(paypal.invoice_ids())


def test_invoices_created_while_the_list_is_paged_lose_no_other_invoice():
    with Sandbox(provider="paypal", invoices=120, seed=52) as paypal:
        before = set(paypal.invoice_ids())

        def add_on_each_page(incoming) -> None:
            if incoming.kind == "list":
                paypal.api.add(3)

        paypal.on_request(add_on_each_page)
        result = run_sync({**paypal.tap_config(), "page_size": 20})
        emitted = invoice_ids(result)
        assert before <= set(emitted)
        assert len(emitted) == len(set(emitted))
