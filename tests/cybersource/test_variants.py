"""CyberSource's documented variants are survived: the list's 404 past its end comes with either
message the spec documents ("No invoices found." in its description, "Invoice does not exist."
in its example body), while a route that does not exist still fails the run in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tap_invoicing.providers.cybersource.api import is_end_of_list_answer
from tap_invoicing.providers.cybersource.auth import HttpSignatureAuth
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.cli import main as sandbox_cli
from tests.conftest import run_cli

LIST = "/invoicing/v2/invoices"
MODES = {
    "no-invoices-found": "No invoices found.",
    "invoice-does-not-exist": "Invoice does not exist.",
}
"""Each ``end_of_list`` mode of the sandbox and the message its list answers past the end."""


def signed_session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    credentials = sandbox.credentials
    session.auth = HttpSignatureAuth(
        merchant_id=credentials.merchant_id,
        key_id=credentials.merchant_key_id,
        secret_b64=credentials.merchant_secret_key,
    )
    return session


def run_tap(tmp_path: Path, config: dict) -> tuple[int, list[dict], list[str]]:
    """The installed tap on ``config``: its exit code, its messages and its ERROR lines."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_cli("--config", str(path))
    assert "Traceback" not in result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    return result.returncode, messages, [result.stderr, *errors]


def invoice_ids(messages: list[dict]) -> list[str]:
    return [
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "invoices"
    ]


@pytest.fixture(params=list(MODES))
def end_of_list(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sandbox(end_of_list: str) -> Iterator[Sandbox]:
    with Sandbox(invoices=45, seed=17, end_of_list=end_of_list) as sb:
        yield sb


# --- what the tap takes for the end of the list ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"submitTimeUtc": "2024-07-24T18:44:11Z", "status": "NOTFOUND", "reason": "NOT_FOUND",
         "message": "No invoices found."},
        {"status": "NOTFOUND", "reason": "NOT_FOUND", "message": "Invoice does not exist."},
        {"status": "NOTFOUND", "reason": "NOTFOUND", "message": "invoice does not exist"},
        {"status": "NOTFOUND", "message": " No invoices found "},
    ],
)  # fmt: skip
def test_both_documented_bodies_end_the_list(body):
    assert is_end_of_list_answer(body)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "NOTFOUND", "reason": "NOT_FOUND",
         "message": "The requested resource does not exist."},
        {"status": "NOT_FOUND", "reason": "NOT_FOUND", "message": "No invoices found."},
        {"message": "No invoices found."},
        {"response": {"rmsg": "Authentication Failed"}},
        {"status": "NOTFOUND", "message": None},
        {"status": "NOTFOUND", "message": "No invoices found for merchant X; see base_url"},
        ["No invoices found."],
        "No invoices found.",
        None,
    ],
)  # fmt: skip
def test_anything_else_is_not_the_end_of_the_list(body):
    assert not is_end_of_list_answer(body)


# --- the sandbox's modes ---------------------------------------------------------------------


def test_the_sandbox_answers_past_the_end_as_its_mode_says(sandbox, end_of_list):
    with signed_session(sandbox) as session:
        past = session.get(f"{sandbox.base_url}{LIST}?offset=45&limit=10", timeout=10)
        unknown = session.get(f"{sandbox.base_url}/invoicing/v2/other", timeout=10)
    assert past.status_code == 404
    assert past.json()["status"] == "NOTFOUND"
    assert past.json()["reason"] == "NOT_FOUND"
    assert past.json()["message"] == MODES[end_of_list]
    assert is_end_of_list_answer(past.json())
    assert unknown.status_code == 404
    assert not is_end_of_list_answer(unknown.json())


def test_the_mode_is_checked_and_offered_on_the_command_line(capsys):
    with pytest.raises(ValueError, match="end_of_list"):
        Sandbox(invoices=1, seed=1, end_of_list="empty-array")
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--provider", "revolv3", "--end-of-list", "invoice-does-not-exist"])
    assert stopped.value.code == 2
    assert "cybersource options: --end-of-list" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        sandbox_cli(["--end-of-list", "empty-array"])
    assert stopped.value.code == 2


# --- the tap on each variant -----------------------------------------------------------------


def test_a_full_pass_ends_at_either_answer(sandbox, end_of_list, tmp_path):
    code, messages, _ = run_tap(tmp_path, {**sandbox.tap_config(), "page_size": 20})
    assert code == 0
    ids = invoice_ids(messages)
    assert sorted(ids) == sorted(sandbox.invoice_ids())
    assert len(ids) == len(set(ids))
    last_list = [r for r in sandbox.requests if r.kind == "list"][-1]
    assert last_list.status == 404, "the tap asked past the end and took the 404 as the end"


def test_an_empty_account_ends_at_either_answer(end_of_list, tmp_path):
    with Sandbox(invoices=0, seed=17, end_of_list=end_of_list) as sandbox:
        code, messages, (stderr, *_) = run_tap(tmp_path, sandbox.tap_config())
    assert code == 0
    assert invoice_ids(messages) == []
    assert "CyberSource listed no invoices for this account" in stderr


def test_a_wrong_path_still_fails_in_one_line_naming_base_url(sandbox, tmp_path):
    config = {**sandbox.tap_config(), "base_url": f"{sandbox.base_url}/invoicing/v2"}
    code, messages, (_, *errors) = run_tap(tmp_path, config)
    assert code == 1
    assert invoice_ids(messages) == []
    assert len(errors) == 1, errors
    assert "HTTP 404 for the invoice list" in errors[0]
    assert "check base_url" in errors[0]
