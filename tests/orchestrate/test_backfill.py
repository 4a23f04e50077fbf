"""The README's "Backfilling a period", with the real Meltano in a copy of the project, for every
provider (the README's commands as written for CyberSource, the same with the extractor's name for
the others): a regular run stores its state; the API changes; the backfill writes exactly the
period's invoices, as they are now, and leaves the stored state as it was; the next regular run
then reads and writes what a run of the tap from that same state, without the backfill, does."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from tap_invoicing.core.dates import parse_time
from tap_invoicing.providers import PROVIDERS
from tap_invoicing.providers.revolv3.dates import billing_date_iso
from tap_invoicing.sandbox import Sandbox
from tests.conftest import TAP
from tests.orchestrate.conftest import (
    COMMAND_TIMEOUT,
    Terminal,
    command_blocks,
    copy_project,
    new_records,
    read_records,
    readme_section,
    split_command,
)

SECTION = readme_section("Backfilling a period")
README_EXTRACTOR = "tap-invoicing--cybersource"
LOADER = "target-jsonl"
ANCHOR = datetime(2026, 4, 20, 12, tzinfo=UTC)
"""The sandbox's data is made as of this moment, so that the README's period (the first quarter
of 2026) holds some of its invoices whenever the test runs; its changes happen now."""
CLOCKS: dict[str, tuple[str, str, Callable[[], Any]]] = {
    "cybersource": (
        "tap_invoicing.sandbox.cybersource.emulator",
        "now_ms",
        lambda: int(ANCHOR.timestamp() * 1000),
    ),
    "paypal": ("tap_invoicing.sandbox.paypal.emulator", "_now", lambda: ANCHOR),
    "revolv3": ("tap_invoicing.sandbox.revolv3.emulator", "_now", lambda: ANCHOR),
}
CHANGEABLE = {
    "cybersource": {"SENT", "CREATED"},
    "paypal": {"SENT"},
    "revolv3": {"Paid", "Pending", "Recycle", "Failed", "Noncollectable"},
}
"""Statuses in which the test's change (a payment; for Revolv3 a void, which keeps its billing
date) can be made."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the project with its plugins installed."""
    root = copy_project(tmp_path_factory.mktemp("backfill") / "tap-invoicing")
    with Terminal(root) as terminal:
        terminal.type("meltano install")
    return root


@pytest.fixture(params=sorted(PROVIDERS))
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox whose data is as of ``ANCHOR``."""
    provider = request.param
    module, name, clock = CLOCKS[provider]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f"{module}.{name}", clock)
        made = Sandbox(provider=provider, invoices=60, seed=5)
    with made:
        yield made


def backfill_commands(extractor: str) -> list[str]:
    """The README's block, for ``extractor``."""
    [block] = command_blocks(SECTION)
    assert any(README_EXTRACTOR in line for line in block)
    return [line.replace(README_EXTRACTOR, extractor) for line in block]


def period(commands: list[str]) -> tuple[datetime, datetime]:
    """The start and end dates the backfill's ``meltano run`` is given."""
    [variables] = [
        variables
        for variables, words in map(split_command, commands)
        if words[:2] == ["meltano", "run"]
    ]
    start = parse_time(variables["TAP_INVOICING_START_DATE"])
    end = parse_time(variables["TAP_INVOICING_END_DATE"])
    assert start is not None and end is not None
    return start, end


def invoice_date(sandbox: Sandbox, invoice_id: str) -> datetime:
    """The date the provider's range selects by, read from the sandbox's own data."""
    invoice = sandbox.invoice(invoice_id)
    if sandbox.provider == "cybersource":
        dates = (parse_time(event["date"]) for event in invoice["invoiceHistory"])
        return min(moment for moment in dates if moment)
    if sandbox.provider == "paypal":
        created = parse_time(invoice["detail"]["metadata"]["create_time"])
        assert created is not None
        return created
    day = billing_date_iso(invoice["billingDate"])
    assert day is not None
    return datetime.combine(date.fromisoformat(day), time(), UTC)


def status(sandbox: Sandbox, invoice_id: str) -> str:
    invoice = sandbox.invoice(invoice_id)
    return str(invoice.get("status") or invoice.get("invoiceStatus"))


def change(sandbox: Sandbox, invoice_id: str) -> None:
    """A change the regular runs must catch: a payment; for Revolv3 a void (a payment would
    move its billing date to today, out of the period)."""
    if sandbox.provider == "revolv3":
        sandbox.api.void(invoice_id)
    else:
        sandbox.api.pay(invoice_id)


def ids_of(records: dict[str, list[dict]], provider: str) -> list[str]:
    key = PROVIDERS[provider].invoice_key
    return [str(invoice[key]) for invoice in records.get("invoices", [])]


def tap_run(config: Path, state: Path) -> set[str]:
    """The invoices the tap itself writes from a state: the twin of a regular run."""
    result = subprocess.run(
        [TAP, "--config", str(config), "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    return {
        str(message["record"].get("id", message["record"].get("invoiceId")))
        for message in messages
        if message["type"] == "RECORD" and message["stream"] == "invoices"
    }


def test_a_backfill_writes_its_period_and_leaves_the_regular_state_alone(project, sandbox):
    provider = sandbox.provider
    extractor = f"tap-invoicing--{provider}"
    state_get = f"meltano --environment=dev state get dev:{extractor}-to-{LOADER}"
    output = project / "output" / extractor
    commands = backfill_commands(extractor)
    start, end = period(commands)
    in_period = {i for i in sandbox.invoice_ids() if start <= invoice_date(sandbox, i) < end}
    assert 0 < len(in_period) < len(sandbox.invoice_ids())

    with Terminal(project) as terminal:
        for setting, value in sandbox.tap_config().items():
            if setting != "provider":
                terminal.type(f"meltano config set {extractor} {setting} {value}")
        terminal.type(f"meltano run {extractor} {LOADER}")
        state_before = json.loads(terminal.type(state_get).stdout)

        changeable = [
            i for i in sandbox.invoice_ids() if status(sandbox, i) in CHANGEABLE[provider]
        ]
        inside = next(i for i in changeable if i in in_period)
        outside = next(i for i in changeable if i not in in_period)
        change(sandbox, inside)
        change(sandbox, outside)
        new = sandbox.api.add(2)
        before = read_records(output)
        printed = {command: terminal.type(command).stdout for command in commands}
        backfill = new_records(before, read_records(output))

        written = ids_of(backfill, provider)
        assert sorted(written) == sorted(in_period), "exactly the period's invoices, once each"
        assert not {outside, *new} & set(written)
        latest = backfill["invoices"][written.index(inside)]
        assert latest.get("status", latest.get("invoiceStatus")) == status(sandbox, inside)
        key = PROVIDERS[provider].children[0].parent_id
        assert {str(row[key]) for row in backfill[PROVIDERS[provider].children[0].name]} <= (
            in_period
        )
        [state_after] = [
            json.loads(out) for command, out in printed.items() if "state get" in command
        ]
        assert state_after == state_before, "the backfill left the regular state alone"

        # The twin: the tap from that same state, as if there had been no backfill.
        state_file = project / f"state-{provider}.json"
        state_file.write_text(json.dumps(state_before["singer_state"]))
        config_file = sandbox.write_config(project / f"config-{provider}.json")
        sandbox.clear_requests()
        twin_written = tap_run(config_file, state_file)
        twin_read = set(sandbox.detail_requests())
        sandbox.clear_requests()

        before = read_records(output)
        terminal.type(f"meltano run {extractor} {LOADER}")
        regular = new_records(before, read_records(output))

    assert set(sandbox.detail_requests()) == twin_read
    assert set(ids_of(regular, provider)) == twin_written
    assert {inside, outside, *new} <= twin_written
    assert len(twin_written) < len(sandbox.invoice_ids()), "incremental, not a full pass"
