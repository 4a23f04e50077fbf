"""Fixtures of the PayPal tests: a fresh PayPal sandbox per test and its tap config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tap_invoicing.sandbox import Sandbox
from tests.conftest import SyncResult


@pytest.fixture
def paypal() -> Iterator[Sandbox]:
    """80 invoices listed as summaries (a detail request for each one read)."""
    with Sandbox(provider="paypal", invoices=80, seed=41) as sandbox:
        yield sandbox


@pytest.fixture
def paypal_config(paypal: Sandbox) -> dict[str, Any]:
    return {**paypal.tap_config(), "page_size": 25}


def invoice_ids(result: SyncResult) -> list[str]:
    """The invoice ids a run emitted."""
    return [record["id"] for record in result.records("invoices")]


def with_status(sandbox: Sandbox, *statuses: str) -> list[str]:
    """The sandbox's invoices in these statuses."""
    return [i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] in statuses]


def token_requests(sandbox: Sandbox) -> int:
    """How many token requests the sandbox served."""
    return sum(1 for record in sandbox.requests if record.kind == "token")


def api_session(sandbox: Sandbox) -> requests.Session:
    """A session holding a bearer token of the sandbox, as a PayPal client gets one."""
    credentials = sandbox.credentials
    granted = requests.post(
        f"{sandbox.base_url}/v1/oauth2/token",
        auth=(credentials.client_id, credentials.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    granted.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {granted.json()['access_token']}"
    return session


LIST_PATH = "/v2/invoicing/invoices"
SEARCH_PATH = "/v2/invoicing/search-invoices"


def pages(session: requests.Session, sandbox: Sandbox, body: Any = None) -> dict[str, dict]:
    """Every list item (or, with a body, every search item), by id."""
    items: dict[str, dict] = {}
    for page in range(1, 100):
        params = {"page": page, "page_size": 100}
        if body is None:
            response = session.get(sandbox.base_url + LIST_PATH, params=params, timeout=10)
        else:
            url = sandbox.base_url + SEARCH_PATH
            response = session.post(url, params=params, json=body, timeout=10)
        assert response.status_code == 200, response.text
        batch = response.json()["items"]
        items |= {item["id"]: item for item in batch}
        if len(batch) < 100:
            return items
    raise AssertionError("the list never ended")
