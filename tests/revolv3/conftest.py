"""Fixtures of the Revolv3 tests: a fresh Revolv3 sandbox per test and its tap config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import SyncResult

FAST = 1000
"""A request rate for tests of behaviour, with the sandbox's rate limits off: the rate limit has
tests of its own (test_rate_limit.py)."""


@pytest.fixture
def revolv3() -> Iterator[Sandbox]:
    """60 invoices listed as summaries (a detail request each)."""
    with Sandbox(provider="revolv3", invoices=60, seed=21, rate_limits=()) as sandbox:
        yield sandbox


def fast(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's tap config, at the fast rate."""
    return {**sandbox.tap_config(), "max_requests_per_second": FAST}


@pytest.fixture
def revolv3_config(revolv3: Sandbox) -> dict[str, Any]:
    return {**fast(revolv3), "page_size": 25}


def invoice_ids(result: SyncResult) -> list[str]:
    """The invoice ids a run emitted, as the sandbox names them."""
    return [str(record["invoiceId"]) for record in result.records("invoices")]


def list_queries(sandbox: Sandbox) -> list[dict[str, str]]:
    """The query of every list request the sandbox served, in order."""
    return [record.query for record in sandbox.requests if record.kind == "list"]
