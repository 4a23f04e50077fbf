"""Nothing silently lost or wasted: the list ends only where the API says it does, a bookmark
serves only the run it was made for, a refused detail is that invoice's problem, and an
incremental run reads only what may have changed."""

from __future__ import annotations

import json
import logging

import pytest

from tap_invoicing.errors import AuthenticationFailedError, TapInvoicingError
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import catalog_selecting, everything, run_cli, run_sync

LIST = "/invoicing/v2/invoices"
DETAIL = "/invoicing/v2/invoices/"
OPEN = {"DRAFT", "CREATED", "SENT", "PARTIAL", "PENDING"}


def open_ids(sandbox: Sandbox) -> set[str]:
    return {i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] in OPEN}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# 1. An incremental run reads only what may have changed, also when the newest are open.


def test_an_incremental_run_skips_closed_invoices_when_the_previous_head_is_open():
    with Sandbox(invoices=400, seed=3) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 50}
        sandbox.api.add(10, status="SENT")  # the newest invoices, unpaid, head the first run's list
        first = run_sync(config)
        was_open = open_ids(sandbox)
        new = sandbox.api.add(10, status="SENT")
        sandbox.clear_requests()
        second = run_sync(config, state=first.state)
        read = set(sandbox.detail_requests())
        needed = was_open | set(new)
        closed = len(sandbox.invoice_ids()) - len(needed)
        assert needed <= read
        assert len(read - needed) <= max(1, closed // 100), "false positives above 1%"
        assert set(second.ids()) == read


# 2. The end of the list is where the API says, whatever its total says.


def total_too_low(page: dict) -> dict:
    if "totalInvoices" not in page:  # the 404 past the end
        return page
    return {**page, "totalInvoices": page["totalInvoices"] - 70}


def without_total(page: dict) -> dict:
    return {key: value for key, value in page.items() if key != "totalInvoices"}


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(
            [
                Fault(
                    kind="rewrite",
                    rewrite=total_too_low,
                    route="list",
                    times=None,
                )
            ],
            id="total-too-low",
        ),
        pytest.param(
            [
                Fault(
                    kind="rewrite",
                    rewrite=lambda page: {**without_total(page), "invoices": page["invoices"][:7]},
                    route="list",
                    after=1,
                    times=1,
                ),
                Fault(kind="rewrite", rewrite=without_total, route="list", times=None),
            ],
            id="short-page-without-total",
        ),
    ],
)
def test_a_lying_total_or_a_short_page_ends_nothing_early(sandbox, config, faults):
    clean = run_sync(config)
    for fault in faults:
        sandbox.inject(fault)
    faulty = run_sync(config)
    assert len(faulty.ids()) == len(sandbox.invoice_ids()) == 60
    assert everything(faulty) == everything(clean)


# 3. A 404 ends the list only when it is the API's end-of-list answer.


def test_a_wrong_base_url_path_fails_instead_of_ending_empty(sandbox, tmp_path):
    config = {**sandbox.tap_config(), "base_url": f"{sandbox.base_url}/invoicing/v2"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_cli("--config", str(path))
    assert result.returncode == 1
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert "HTTP 404 for the invoice list" in errors[-1]
    assert "check base_url" in errors[-1]
    assert "Traceback" not in result.stderr


def test_a_404_in_the_middle_of_the_list_that_is_not_its_end_fails_the_run(sandbox, config):
    sandbox.inject(Fault(kind="status", status=404, route="list", after=1, times=None))
    with pytest.raises(TapInvoicingError, match="HTTP 404 for offset 20"):
        run_sync(config)


def test_an_account_without_invoices_is_an_empty_run_with_a_warning(caplog):
    with Sandbox(invoices=0, seed=3) as sandbox:
        result = run_sync(sandbox.tap_config())
    assert result.ids() == []
    assert "CyberSource listed no invoices for this account" in warnings_of(caplog)
    assert "remembered" in result.state["bookmarks"]["invoices"]


# 4. A bookmark serves only the run it was made for.


def test_a_state_made_for_another_account_gives_a_full_pass_and_a_warning(caplog):
    with Sandbox(invoices=30, seed=3) as first:
        state = run_sync(first.tap_config()).state
        port = first.port
    with Sandbox(invoices=30, seed=4, port=port) as other:
        caplog.clear()
        result = run_sync(other.tap_config(), state=state)
        assert len(result.ids()) == 30
        assert any("(merchant_id differ)" in w for w in warnings_of(caplog))


def test_a_state_made_for_another_api_root_gives_a_full_pass_and_a_warning(caplog):
    with Sandbox(invoices=30, seed=3) as first, Sandbox(invoices=30, seed=3) as twin:
        state = run_sync(first.tap_config()).state
        caplog.clear()
        result = run_sync(twin.tap_config(), state=state)
        assert len(result.ids()) == 30
        assert any(f"not {twin.base_url}" in w for w in warnings_of(caplog))


def test_a_state_made_with_a_later_start_date_gives_a_full_pass(sandbox, config, caplog):
    ids = sandbox.invoice_ids()
    middle = sandbox.invoice(ids[len(ids) // 2])["invoiceHistory"][0]["date"]
    narrow = run_sync({**config, "start_date": middle})
    assert 0 < len(narrow.ids()) < 60
    caplog.clear()
    wide = run_sync(config, state=narrow.state)
    assert len(wide.ids()) == 60
    assert any("were never read" in w for w in warnings_of(caplog))
    later = run_sync({**config, "start_date": middle}, state=wide.state)
    assert len(later.ids()) < len(narrow.ids()), "a later start date needs no full pass"


def test_a_state_made_for_fewer_streams_gives_a_full_pass_and_a_warning(sandbox, config, caplog):
    only_invoices = run_sync(config, catalog=catalog_selecting(config, {"invoices"}))
    caplog.clear()
    result = run_sync(config, state=only_invoices.state)
    assert len(result.ids()) == 60
    assert any(
        "invoice_history, invoice_line_items were not selected" in w for w in warnings_of(caplog)
    )


def test_a_state_of_the_previous_format_gives_a_full_pass_and_a_warning(sandbox, config, caplog):
    state = run_sync(config).state
    state["bookmarks"]["invoices"]["format"] = 1
    caplog.clear()
    assert len(run_sync(config, state=state).ids()) == 60
    assert any("did not record its account" in w for w in warnings_of(caplog))


# 9. A detail the API refuses is that invoice's problem, not the run's.


@pytest.mark.parametrize("status", [400, 403, 409])
def test_a_refused_detail_is_logged_counted_and_read_again_next_run(
    sandbox, config, caplog, status
):
    refused = sandbox.invoice_ids()[5:8]
    for invoice_id in refused:
        sandbox.inject(
            Fault(kind="status", status=status, path_prefix=DETAIL + invoice_id, times=None)
        )
    first = run_sync(config)
    assert set(first.ids()) == set(sandbox.invoice_ids()) - set(refused)
    for invoice_id in refused:
        assert sum(f"Invoice {invoice_id} not emitted" in w for w in warnings_of(caplog)) == 1
    summary = [r.getMessage() for r in caplog.records if "; list read: " in r.getMessage()]
    assert "3 not emitted (read again next run)" in summary[-1]
    sandbox.clear_faults()
    second = run_sync(config, state=first.state)
    assert set(refused) <= set(second.ids())


def test_a_run_whose_every_detail_is_forbidden_is_an_authentication_failure(sandbox, config):
    sandbox.inject(Fault(kind="status", status=403, path_prefix=DETAIL, times=None))
    with pytest.raises(AuthenticationFailedError, match="for every invoice detail requested"):
        run_sync(config)
    assert len(sandbox.detail_requests()) < 30, "it gave up early, not after every invoice"
