"""Fixtures: a fresh sandbox per test, runners for the real tap, and a watch for leaked secrets.

Every test's captured output (logs at DEBUG level included) and every tap output the runners
see is searched for the credentials the tests use: a leak fails the test that printed it. What to
look for comes from the sandbox's registry of emulators, so a new one is watched by registering it.
"""

from __future__ import annotations

import base64
import io
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.harness import EMULATORS
from tap_invoicing.tap import TapInvoicing

if TYPE_CHECKING:
    from tap_invoicing.sandbox.emulator import Emulator

pytest_plugins = ["tests.warehouse"]
"""The ``postgres`` and ``warehouse`` fixtures, registered once here so ONE PostgreSQL cluster
serves the whole session. A plugin rather than an import: tests/warehouse.py imports this module."""

TAP = str(Path(sys.executable).parent / "tap-invoicing")
"""The installed console script: CLI tests run the tap as users do."""

WRONG_SECRET = base64.b64encode(b"not the sandbox's shared secret").decode()
"""A well-formed secret the sandbox refuses; it must not be printed either."""

WRONG_TOKEN = "r3st_not_the_sandbox_token_0000"
"""A static token the sandbox refuses; it must not be printed either."""

SEEDS = range(100)
"""The seeds the tests use (small numbers): each emulator's credentials for all of them are
watched."""


@cache
def watched(
    emulators: tuple[type[Emulator], ...],
) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The credentials of these emulators for every seed (and the wrong ones the tests try), and
    the look of the secrets they make while serving (signatures, access tokens)."""
    values = {
        value
        for emulator in emulators
        for seed in SEEDS
        for value in emulator.credentials_for_seed(seed)
    }
    patterns = tuple(pattern for emulator in emulators for pattern in emulator.secret_patterns)
    return frozenset(values | {WRONG_SECRET, WRONG_TOKEN}), patterns


def secrets_in(text: str) -> set[str]:
    """Credentials, or secrets made while serving, of every registered emulator found in some
    output."""
    values, patterns = watched(tuple(EMULATORS.values()))
    found = {secret for secret in values if secret in text}
    return found | {match[0] for pattern in patterns for match in pattern.finditer(text)}


def no_waiting(self: object) -> Iterator[float]:
    """A retry wait generator without waits (patched over ``backoff_wait_generator``): the
    faults, not the waits, are under test, and retries run out quickly."""
    while True:
        yield 0.0


def run_until_stopped(
    tmp_path: Path,
    config: dict,
    state: dict | None,
    records_before_stop: int,
    signum: int = signal.SIGKILL,
) -> SyncResult:
    """Run the real CLI, send it ``signum`` after some invoice records: all it wrote (its
    ``state``: the last STATE it wrote, else the one it was given)."""
    config_path, state_path = tmp_path / "config.json", tmp_path / "state.json"
    config_path.write_text(json.dumps(config))
    command = [TAP, "--config", str(config_path)]
    if state is not None:
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    messages: list[dict] = [{"type": "STATE", "value": state or {}}]
    invoices_seen = 0
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as tap:
        assert tap.stdout is not None
        for line in tap.stdout:
            message = json.loads(line, parse_float=Decimal)
            messages.append(message)
            if message["type"] == "RECORD" and message["stream"] == "invoices":
                invoices_seen += 1
                if invoices_seen == records_before_stop:
                    tap.send_signal(signum)
                    break
        messages += [json.loads(line, parse_float=Decimal) for line in tap.stdout]
        tap.wait(timeout=60)
    assert tap.returncode != 0, "a run stopped by a signal fails"
    return SyncResult(messages)


SINGER_CHECK_TAP = Path(__file__).resolve().parents[1] / ".venv-singer-tools/bin/singer-check-tap"


def singer_check(output: str, cwd: Path) -> str:
    """singer-check-tap's summary of a run's output, which it must find valid.

    The checker reads stdin: with --tap, singer-tools 0.4.1 reads its reader thread's summary
    without waiting for the thread, so a quick second run intermittently reports nothing.
    """
    result = subprocess.run(
        [str(SINGER_CHECK_TAP)],
        input=output,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "The output is valid." in result.stdout
    return result.stdout


def last_state(output: str) -> dict:
    """The last STATE message of a run's output."""
    states = [json.loads(line)["value"] for line in output.splitlines() if '"STATE"' in line]
    return states[-1]


def run_cli(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed tap-invoicing command; its outputs must hold no secret."""
    result = subprocess.run(
        [TAP, *arguments], capture_output=True, text=True, timeout=600, check=False, env=env
    )
    assert not secrets_in(result.stdout + result.stderr)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Fail a test whose captured stdout, stderr or logs show a credential."""
    report = yield
    leaked = set().union(*(secrets_in(content) for _, content in report.sections))
    if leaked and report.passed:
        report.outcome = "failed"
        report.longrepr = f"secret values reached the captured output: {sorted(leaked)}"
    return report


@dataclass
class SyncResult:
    """The Singer messages of one run, parsed with exact decimals."""

    messages: list[dict]

    def records(self, stream: str) -> list[dict]:
        """The stream's live records (tombstones left out), without their null
        ``_sdc_deleted_at``."""
        return [
            {key: value for key, value in r.items() if key != "_sdc_deleted_at"}
            for r in self.all_records(stream)
            if r.get("_sdc_deleted_at") is None
        ]

    def tombstones(self, stream: str) -> list[dict]:
        """The stream's tombstones: rows the API no longer holds."""
        return [r for r in self.all_records(stream) if r.get("_sdc_deleted_at") is not None]

    def all_records(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def ids(self, stream: str = "invoices") -> list[str]:
        """The ids of the stream's live records."""
        return [r["id"] for r in self.records(stream)]

    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def state(self) -> dict:
        return [m["value"] for m in self.messages if m["type"] == "STATE"][-1]

    def state_messages(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


NUMERIC = re.compile(r"-?(\d+|\d*\.\d+)")


def exact(value):
    """Compare numbers by their digits, whether sent as JSON numbers or numeric strings:
    Decimal("12.050") != Decimal("12.05") here, while "12.050" == Decimal("12.050")."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return ("number", str(value))
    if isinstance(value, str) and NUMERIC.fullmatch(value):
        return ("number", value)
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return value


def without_clock(record: dict) -> dict:
    """A record without ``submitTimeUtc``, the server's clock, which differs on every request,
    nor an empty ``extraFields`` (the tap adds it: null when the API sent nothing new)."""
    dropped = {"submitTimeUtc"} | ({"extraFields"} if record.get("extraFields") is None else set())
    return {key: value for key, value in record.items() if key not in dropped}


def everything(result: SyncResult) -> dict:
    """All records of a run, per stream, in a form two runs can be compared by."""
    return {
        stream: sorted((exact(without_clock(r)) for r in result.records(stream)), key=repr)
        for stream in ("invoices", "invoice_line_items", "invoice_history")
    }


def merged(first: dict, then: dict) -> dict:
    """Per stream, the records of two runs (as ``everything`` gives them) as a target upserting
    on their keys keeps them: a stopped run's and the run that resumed it."""
    return {
        stream: sorted({repr(r): r for r in first[stream] + then[stream]}.values(), key=repr)
        for stream in first
    }


def invoices_with_status(sandbox: Sandbox, status: str) -> list[str]:
    """The sandbox's invoices in one status, in list order."""
    return [i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] == status]


class CapturedStdout(io.TextIOWrapper):
    """A stand-in stdout with the binary ``buffer`` the tap's msgspec writer writes to."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def getvalue(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode()


def run_sync(config: dict, state: dict | None = None, catalog: dict | None = None) -> SyncResult:
    """Run the tap in-process (real HTTP to the sandbox) and collect what it wrote to stdout."""
    out = CapturedStdout()
    with redirect_stdout(out):
        TapInvoicing(config=config, state=state, catalog=catalog).sync_all()
    assert not secrets_in(out.getvalue())
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


ORCHESTRATE = Path(__file__).resolve().parent / "orchestrate"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so ``make test-fast`` can leave them out without a list:
    ``warehouse`` for any test using the PostgreSQL server (the ``postgres`` fixture, which
    ``warehouse`` uses), ``orchestrate`` for every test under tests/orchestrate/ (Meltano,
    Airflow). ``slow`` is set by hand on the few long tests (pyproject.toml lists the markers)."""
    for item in items:
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.warehouse)
        if item.path.is_relative_to(ORCHESTRATE):
            item.add_marker(pytest.mark.orchestrate)
