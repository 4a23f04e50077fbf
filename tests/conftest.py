"""Fixtures: a fresh sandbox per test and a runner that syncs the real tap against it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing


@dataclass
class SyncResult:
    """The Singer messages of one run, parsed with exact decimals."""

    messages: list[dict]

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def ids(self, stream: str = "invoices") -> list[str]:
        return [r["id"] for r in self.records(stream)]

    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def state(self) -> dict:
        return [m["value"] for m in self.messages if m["type"] == "STATE"][-1]

    def state_messages(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


def run_sync(config: dict, state: dict | None = None, catalog: dict | None = None) -> SyncResult:
    """Run the tap in-process (real HTTP to the sandbox) and collect what it wrote to stdout."""
    out = io.StringIO()
    with redirect_stdout(out):
        TapInvoicing(config=config, state=state, catalog=catalog).sync_all()
    lines = out.getvalue().splitlines()
    return SyncResult([json.loads(line, parse_float=Decimal) for line in lines])


def catalog_selecting(config: dict, streams: set[str]) -> dict:
    """The discovered catalog with exactly ``streams`` selected."""
    catalog = TapInvoicing(config=config).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(provider="cybersource", invoices=60, seed=11) as sb:
        yield sb


@pytest.fixture
def config(sandbox: Sandbox) -> dict[str, Any]:
    return {**sandbox.tap_config(), "page_size": 25}
