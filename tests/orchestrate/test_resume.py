"""The README's "Resuming a stopped run" under the real Meltano: its block's first ``meltano run``
is stopped mid-pass, then ``meltano state get`` and the second ``meltano run`` are typed as
written, in a copy of the project, against a slow CyberSource sandbox of 400 invoices whose
detail requests are counted. It is stopped in three ways: SIGTERM to the tap alone (as when the
tap fails or is killed), to the ``meltano`` process alone, and to its whole process group (as
``kill %1`` does).

The stop of the tap alone, which resumes with either target, is also tested for PayPal and
Revolv3 (``PROVIDERS``, one entry per provider): the same block, with the provider's extractor
(``tap-invoicing--paypal``, ``tap-invoicing--revolv3``) where the README names
``tap-invoicing--cybersource`` (its state id too), against a sandbox of the provider's as slow and
as large (Revolv3's list serves summaries, so each invoice is a detail request). What a
checkpoint claims, and which of those invoices the resumed run reads anyway, are the provider's:
CyberSource claims the first ``listed`` invoices of its list, and reads the open ones again;
PayPal and Revolv3 claim every invoice listed in the time windows before ``from`` (400 invoices
fit one window, so none) and the ``ahead`` ones, by name; PayPal reads the open ones (status not
settled) again, Revolv3 none, since none changed after the stopped pass started.

What resumes depends on the target, since Meltano stores only the STATE the target passes on:
target-postgres 0.8.1 passes it on after writing all it holds (at the end of its input, on
SIGTERM, and every 5 minutes of a run), not after each batch (``batch_size_rows`` 50 here);
target-jsonl 0.1.4 only at its end. Meltano stores nothing while it is itself stopped. A
resumed run reads again none of the invoices its checkpoint claims but those its provider reads
anyway; a run that starts over reads every one; either way the warehouse's live rows (or the
records written) are then the API's, key for key.

The README's PostgreSQL address becomes the test server's, with a database of the test's own. To
see a 5-minute drain of target-postgres within seconds, one test runs it with its clock 60 times
faster (libfaketime, which ``make test`` installs)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from tap_invoicing.core.dates import parse_time
from tap_invoicing.providers.paypal.api import SETTLED_STATUSES, created
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import secrets_in
from tests.cybersource.test_warehouse import served_parts as cybersource_parts
from tests.orchestrate.conftest import (
    ROOT,
    STOP_TIMEOUT,
    Terminal,
    command_blocks,
    copy_project,
    meltano_environment,
    read_records,
    readme_section,
)
from tests.paypal.test_warehouse import served_parts as paypal_parts
from tests.revolv3.test_warehouse import served_parts as revolv3_parts
from tests.warehouse import SUPERUSER, Parts, PostgresServer, Warehouse, assert_warehouse_matches

SUBSECTION = (
    readme_section("Using it with Meltano")
    .partition("\n### Resuming a stopped run\n")[2]
    .partition("\n### ")[0]
)
EXTRACTOR = "tap-invoicing--cybersource"
INVOICES = 400
CLOSED = {"PAID", "CANCELED"}
STOP_AFTER = 160
"""Invoice details served before the stop: 40% of the pass, about 8 s into it."""
AFTER_STORED = 40
"""With the fast clock: details served after Meltano stored a STATE, before the stop."""
BATCH_ROWS = 50
"""target-postgres's batch_size_rows: it writes many batches in a run, and passes STATE on after
none of them."""
RUN_TIMEOUT = 120
FAST_CLOCK = "+0 x60"
"""libfaketime's FAKETIME: the real time at the start, then 60 times faster (5 minutes in 5 s)."""
EXIT_STATUS = {"tap": 1, "meltano": 143, "group": 143}
"""Meltano's exit status when the tap alone was stopped ("Extractor failed"), and when it was
itself stopped by SIGTERM."""

Claims = Callable[[Sandbox, dict[str, Any]], set[str]]
"""The invoices a checkpoint's ``resume`` claims, from the sandbox that served them."""


def claimed_by_place(sandbox: Sandbox, resume: dict[str, Any]) -> set[str]:
    """A pass over the whole list (CyberSource's): its first ``listed`` invoices, and the
    ``ahead`` ones."""
    return set(sandbox.invoice_ids()[: resume["listed"]]) | set(resume["ahead"])


def claimed_by_window(listed_at: Callable[[Sandbox, str], datetime | None]) -> Claims:
    """A pass over time windows read oldest first (``plans.windows``): every invoice listed in a
    window that ends before ``from`` (by the moment ``listed_at`` its windows select it), and the
    ``ahead`` ones."""

    def claimed(sandbox: Sandbox, resume: dict[str, Any]) -> set[str]:
        start = parse_time(resume["from"])
        before = set()
        if start is not None:
            for invoice_id in sandbox.invoice_ids():
                moment = listed_at(sandbox, invoice_id)
                if moment is not None and moment < start:
                    before.add(invoice_id)
        return before | set(resume["ahead"])

    return claimed


@dataclass(frozen=True)
class Provider:
    """What a stopped first pass of one provider claims, and what the run resuming it reads."""

    name: str
    claimed: Claims
    read_anyway: Callable[[dict[str, Any]], bool]
    """Whether the resumed run's plan reads a claimed invoice again (from its detail)."""
    served_parts: Callable[[Sandbox], Parts]
    """The part of the API's detail each row comes from, by the row's key."""

    @property
    def extractor(self) -> str:
        """The provider's extractor in meltano.yml."""
        return f"tap-invoicing--{self.name}"

    def __str__(self) -> str:
        return self.name


CYBERSOURCE = Provider(
    "cybersource",
    claimed=claimed_by_place,
    read_anyway=lambda invoice: invoice["status"] not in CLOSED,
    served_parts=cybersource_parts,
)


def created_at(sandbox: Sandbox, invoice_id: str) -> datetime | None:
    """PayPal's creation time, which its search's windows select by."""
    return created(sandbox.invoice(invoice_id))


def last_updated_at(sandbox: Sandbox, invoice_id: str) -> datetime:
    """Revolv3's hidden last-update time, which its list's windows select by."""
    api: Any = sandbox.api
    return api.last_update(invoice_id)


PROVIDERS = [
    CYBERSOURCE,
    Provider(
        "paypal",
        claimed=claimed_by_window(created_at),
        read_anyway=lambda invoice: invoice["status"] not in SETTLED_STATUSES,
        served_parts=paypal_parts,
    ),
    Provider(
        "revolv3",
        claimed=claimed_by_window(last_updated_at),
        read_anyway=lambda invoice: False,
        served_parts=revolv3_parts,
    ),
]
assert CYBERSOURCE.extractor == EXTRACTOR


@dataclass(frozen=True)
class Database(PostgresServer):
    """One database of the session's PostgreSQL server, for one test."""

    name: str = "postgres"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{self.name}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=self.name, autocommit=True
        )


@pytest.fixture
def database(postgres: PostgresServer, request: pytest.FixtureRequest) -> Database:
    name = "resume_" + hashlib.blake2b(request.node.nodeid.encode(), digest_size=6).hexdigest()
    with postgres.connect() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return Database(postgres.port, name)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A CyberSource API slow enough (0.1 s an answer, two at once) for a pass of about 20 s;
    the tests only read it."""
    with Sandbox(provider="cybersource", invoices=INVOICES, seed=41, latency=0.1) as api:
        yield api


@dataclass(frozen=True)
class ProviderApi:
    """A provider, and its slow sandbox, which the project's extractor for it is pointed at."""

    provider: Provider
    sandbox: Sandbox


@pytest.fixture(scope="module")
def provider_api(
    request: pytest.FixtureRequest, project: Path, sandbox: Sandbox
) -> Iterator[ProviderApi]:
    """For CyberSource, the module's sandbox; for another provider (``request.param``), a sandbox
    of its own, as slow and as large, with its default shapes (Revolv3's list serves summaries,
    so each invoice is a detail request)."""
    provider: Provider = request.param
    if provider is CYBERSOURCE:
        yield ProviderApi(provider, sandbox)
        return
    with Sandbox(provider=provider.name, invoices=INVOICES, seed=41, latency=0.1) as api:
        with Terminal(project) as terminal:
            point_at(terminal, api, provider.extractor)
        yield ProviderApi(provider, api)


def installed_project(destination: Path, sandbox: Sandbox, *, fast_target_clock: bool) -> Path:
    """A copy of the project with its plugins installed, as the README's first block does, and
    the extractor's settings for the sandbox; with ``fast_target_clock``, target-postgres runs
    60 times faster than the wall clock."""
    project = copy_project(destination)
    if fast_target_clock:
        library = subprocess.run(
            ["bash", str(ROOT / "scripts/faketime.sh"), "lib"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert library.returncode == 0, f"`make test` installs libfaketime: {library.stderr}"
        definition = yaml.safe_load((project / "meltano.yml").read_text())
        [loader] = [p for p in definition["plugins"]["loaders"] if p["name"] == "target-postgres"]
        loader["env"] = {"LD_PRELOAD": library.stdout.strip(), "FAKETIME": FAST_CLOCK}
        (project / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    with Terminal(project) as terminal:
        terminal.type("meltano install")
        point_at(terminal, sandbox)
        terminal.type(f"meltano config set target-postgres batch_size_rows {BATCH_ROWS}")
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Path:
    destination = tmp_path_factory.mktemp("resume") / "tap-invoicing"
    return installed_project(destination, sandbox, fast_target_clock=False)


@pytest.fixture(scope="module")
def fast_clock_project(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Path:
    destination = tmp_path_factory.mktemp("resume-fast-clock") / "tap-invoicing"
    return installed_project(destination, sandbox, fast_target_clock=True)


def readme_commands(
    loader: str, database: Database | None, extractor: str = EXTRACTOR
) -> list[str]:
    """The README's block, for ``loader``: target-postgres writes into the test's database;
    target-jsonl needs no setting. Another ``extractor`` replaces the block's CyberSource one
    (in its state id too)."""
    [block] = command_blocks(SUBSECTION)
    commands = []
    for line in block:
        words = shlex.split(line)
        command = line
        if words[:4] == ["meltano", "config", "set", "target-postgres"]:
            if database is None:
                continue
            assert words[4:] == ["sqlalchemy_url", words[5]]
            command = line.replace(words[5], database.sqlalchemy_url)
        commands.append(command.replace("target-postgres", loader).replace(EXTRACTOR, extractor))
    shapes = [shlex.split(line)[:3] for line in commands if not line.startswith("meltano config")]
    assert shapes == [
        ["meltano", "run", extractor],
        ["meltano", "--environment=dev", "state"],
        ["meltano", "run", extractor],
    ]
    return commands


def point_at(terminal: Terminal, sandbox: Sandbox, extractor: str = EXTRACTOR) -> None:
    """The extractor's settings for this sandbox, as the README's CyberSource block sets them;
    two requests at once, so that the pass takes its time."""
    settings = {**sandbox.tap_config(), "max_workers": "2", "page_size": "100"}
    for name, value in settings.items():
        if name != "provider":
            terminal.type(f"meltano config set {extractor} {name} {value}")


def process_group_ended(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def tap_process(meltano_pid: int) -> int:
    """The tap among the ``meltano`` process's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent == meltano_pid and any(a.endswith(b"/bin/tap-invoicing") for a in arguments):
            found.append(int(entry.name))
    assert len(found) == 1, f"one tap process under meltano: {found}"
    return found[0]


Ready = Callable[[Sandbox, str], bool]
"""Whether to stop the run now, from the sandbox and what the run printed so far."""


def after_details(count: int) -> Ready:
    return lambda sandbox, _: len(sandbox.detail_requests()) >= count


def after_a_stored_state(then: int) -> Ready:
    """Once Meltano stored a STATE, and ``then`` more details were served."""
    stored_at: list[int] = []

    def ready(sandbox: Sandbox, printed: str) -> bool:
        served = len(sandbox.detail_requests())
        if not stored_at and "Incremental state has been updated" in printed:
            stored_at.append(served)
        return bool(stored_at) and served >= stored_at[0] + then

    return ready


def run_and_stop(
    project: Path, command: str, sandbox: Sandbox, stop: str, ready: Ready
) -> tuple[int, str]:
    """Type ``command`` (a ``meltano run``); once ``ready``, send SIGTERM to the tap, to
    ``meltano``, or to meltano's process group. Returns meltano's exit status and output; every
    process of the run must have ended."""
    log = project / "stopped-run.log"
    with log.open("w") as sink:
        job = subprocess.Popen(
            shlex.split(command),
            cwd=project,
            env=meltano_environment(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not ready(sandbox, log.read_text()):
            assert job.poll() is None, f"the run ended before the stop:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the run did not get far enough"
            time.sleep(0.05)
        if stop == "tap":
            os.kill(tap_process(job.pid), signal.SIGTERM)
        elif stop == "meltano":
            os.kill(job.pid, signal.SIGTERM)
        else:
            os.killpg(job.pid, signal.SIGTERM)
        status = job.wait(timeout=STOP_TIMEOUT)
        assert process_group_ended(job.pid, STOP_TIMEOUT), "a process outlived the stop"
    finally:
        if not process_group_ended(job.pid, 0.1):
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    output = log.read_text()
    assert not secrets_in(output), "the stopped run printed a secret"
    assert "deprecat" not in output.lower(), output[-3000:]
    return status, output


@dataclass
class Outcome:
    """A stopped ``meltano run`` followed by the README's next commands."""

    status: int
    """The stopped run's exit status."""
    stopped_output: str
    state: dict
    """What ``meltano state get`` showed after the stop."""
    read_again: set[str]
    """The invoices whose details the next ``meltano run`` read."""


def follow_with_a_stop(
    project: Path, commands: list[str], sandbox: Sandbox, stop: str, ready: Ready
) -> Outcome:
    """Type the block, from no state and no output; its first ``meltano run`` is stopped once
    ``ready``."""
    first_run = next(i for i, line in enumerate(commands) if line.startswith("meltano run"))
    state_get, second_run = commands[first_run + 1 :]
    state_id = shlex.split(state_get)[-1]
    with Terminal(project) as terminal:
        terminal.type(f"meltano --environment=dev state clear --force {state_id}")
        shutil.rmtree(project / "output", ignore_errors=True)
        sandbox.clear_requests()
        for command in commands[:first_run]:
            terminal.type(command)
        status, output = run_and_stop(project, commands[first_run], sandbox, stop, ready)
        state = json.loads(terminal.type(state_get).stdout)
        sandbox.clear_requests()
        terminal.type(second_run)
    return Outcome(status, output, state, set(sandbox.detail_requests()))


def checkpoint(state: dict) -> dict:
    """The ``resume`` part of the stored invoices bookmark: what the stopped pass claimed."""
    bookmark = state["singer_state"]["bookmarks"]["invoices"]
    assert "resume" in bookmark, f"not a checkpoint: {sorted(bookmark)}"
    return bookmark["resume"]


def assert_resumed(outcome: Outcome, sandbox: Sandbox, provider: Provider = CYBERSOURCE) -> None:
    """The next run read again none of the invoices the checkpoint claims that its plan passes
    over (for CyberSource, the closed ones), but for the issue's 2% (the one being written at the
    stop, and those at the edge of the claim: once, two of CyberSource's, after a stop of the
    whole pipeline): only those it reads anyway, and those it does not claim."""
    resume = checkpoint(outcome.state)
    claimed = provider.claimed(sandbox, resume)
    passed_over = {i for i in claimed if not provider.read_anyway(sandbox.invoice(i))}
    assert len(passed_over) >= 20, (
        f"the checkpoint claims {len(claimed)} invoices, {len(passed_over)} not to read again"
    )
    slack = INVOICES // 50
    assert len(outcome.read_again & passed_over) <= slack, sorted(outcome.read_again & passed_over)
    assert len(outcome.read_again) <= INVOICES - len(passed_over) + slack


def assert_started_over(outcome: Outcome, sandbox: Sandbox) -> None:
    """Meltano stored no state: the next run read every invoice, a full pass."""
    assert outcome.state == {}, "Meltano stored a state"
    assert outcome.read_again == set(sandbox.invoice_ids())


def catalog_streams(sandbox: Sandbox) -> dict[str, dict]:
    catalog = TapInvoicing(config=sandbox.tap_config()).catalog_dict
    return {entry["tap_stream_id"]: entry for entry in catalog["streams"]}


def assert_nothing_lost(
    loader: str,
    project: Path,
    database: Database | None,
    sandbox: Sandbox,
    provider: Provider = CYBERSOURCE,
) -> None:
    """After both runs, target-postgres's live rows are the API's, with its digits, key for key
    (meltano.yml does not flatten, so the amounts checked are the top-level ones); target-jsonl's
    records hold every key the API serves, and no other."""
    streams = catalog_streams(sandbox)
    parts = provider.served_parts(sandbox)
    extractor = provider.extractor
    if loader == "target-postgres":
        assert database is not None
        warehouse = Warehouse(database, extractor, project, flattening_depth=0, streams=streams)
        assert_warehouse_matches(warehouse, parts, live_only=True)
        return
    records = read_records(project / "output" / extractor)
    for stream, entry in streams.items():
        keys = {tuple(r[k] for k in entry["key_properties"]) for r in records[stream]}
        assert keys == set(parts[stream]), stream


@pytest.mark.parametrize("loader", ["target-postgres", "target-jsonl"])
@pytest.mark.parametrize("provider_api", PROVIDERS, ids=str, indirect=True)
def test_a_run_whose_tap_is_stopped_resumes(request, project, provider_api, loader):
    provider, sandbox = provider_api.provider, provider_api.sandbox
    database = request.getfixturevalue("database") if loader == "target-postgres" else None
    commands = readme_commands(loader, database, provider.extractor)
    ready = after_details(STOP_AFTER)
    outcome = follow_with_a_stop(project, commands, sandbox, "tap", ready)

    assert outcome.status == EXIT_STATUS["tap"]
    assert "Extractor failed" in outcome.stopped_output
    assert outcome.stopped_output.count("Incremental state has been updated") == 1, "at its end"
    if loader == "target-postgres":
        assert outcome.stopped_output.count(f"is full. Current size is '{BATCH_ROWS}'") >= 10
    assert_resumed(outcome, sandbox, provider)
    assert_nothing_lost(loader, project, database, sandbox, provider)


@pytest.mark.parametrize(
    ("loader", "stop"),
    [
        ("target-postgres", "group"),
        ("target-postgres", "meltano"),
        ("target-jsonl", "group"),
        ("target-jsonl", "meltano"),
    ],
)
def test_a_run_stopped_whole_in_its_first_5_minutes_starts_over(
    request, project, sandbox, loader, stop
):
    database = request.getfixturevalue("database") if loader == "target-postgres" else None
    commands = readme_commands(loader, database)
    outcome = follow_with_a_stop(project, commands, sandbox, stop, after_details(STOP_AFTER))

    assert outcome.status == EXIT_STATUS[stop]
    assert "Incremental state has been updated" not in outcome.stopped_output
    if loader == "target-postgres":
        assert outcome.stopped_output.count(f"is full. Current size is '{BATCH_ROWS}'") >= 10
        assert "Received termination signal 15, draining all sinks" in outcome.stopped_output
    assert_started_over(outcome, sandbox)
    assert_nothing_lost(loader, project, database, sandbox)


@pytest.mark.parametrize("stop", ["group", "meltano"])
def test_a_run_stopped_whole_after_target_postgres_passed_state_on_resumes(
    fast_clock_project, sandbox, database, stop
):
    project = fast_clock_project
    commands = readme_commands("target-postgres", database)
    ready = after_a_stored_state(then=AFTER_STORED)
    outcome = follow_with_a_stop(project, commands, sandbox, stop, ready)

    assert outcome.status == EXIT_STATUS[stop]
    assert "exceeded the max age of 5 minutes" in outcome.stopped_output
    assert_resumed(outcome, sandbox)
    assert_nothing_lost("target-postgres", project, database, sandbox)
