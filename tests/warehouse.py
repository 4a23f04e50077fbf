"""A real PostgreSQL warehouse that real tap runs are piped into through target-postgres.

Amounts are declared ``["number", "null"]``, which target-postgres creates as NUMERIC without
precision or scale, so PostgreSQL keeps each value's own digits (12.050 stays 12.050). With
"string" in the type it picked TEXT. Nested objects are flattened (``flattening_enabled``), so
nested amounts get columns of their own too. The server is Debian's (``make test`` installs it
through scripts/postgres.sh); the session starts one throwaway cluster on 127.0.0.1 for every
provider's warehouse tests (tests/conftest.py registers the fixtures) and stops it at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from psycopg import sql

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import TAP, secrets_in

ROOT = Path(__file__).resolve().parents[1]
TARGET_POSTGRES = ROOT / ".venv-target-postgres/bin/target-postgres"
SUPERUSER = "tap"
FLATTENING_DEPTH = 3
"""Deep enough for CyberSource's orderInformation.amountDetails.taxDetails.amount to become a
column."""

Parts = dict[str, dict[tuple, Mapping]]
"""Per stream, the part of the API's answers each warehouse row comes from, by primary key."""


def run_checked(command: list[str]) -> None:
    """Run a server tool; on failure the assertion shows its own words."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{command[0]} failed: {result.stdout}{result.stderr}"


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: then run it as the `postgres` user of Debian's package."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster that trusts its superuser on loopback."""

    port: int

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    found = subprocess.run(
        ["bash", str(ROOT / "scripts/postgres.sh"), "bindir"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, f"`make test` installs the PostgreSQL server: {found.stderr}"
    bindir = Path(found.stdout.strip())
    home = Path(tempfile.mkdtemp(prefix="tap-invoicing-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    data = home / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust"]
    run_checked(as_server_user([*initdb, "--encoding=UTF8", "--no-locale"]))
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-w"]
    run_checked(as_server_user([*pg_ctl, "-o", options, "start"]))
    try:
        yield PostgresServer(port)
    finally:
        run_checked(as_server_user([*pg_ctl, "-m", "fast", "stop"]))
        shutil.rmtree(home)


@dataclass
class Warehouse:
    """One PostgreSQL schema that real tap runs are loaded into through target-postgres.

    Nested objects are flattened ``flattening_depth`` levels deep. A load keeps the tap's catalog
    entries (``streams``): the schemas and primary keys the rows are checked by.
    """

    server: PostgresServer
    schema: str
    workdir: Path
    flattening_depth: int = FLATTENING_DEPTH
    streams: dict[str, dict] = field(default_factory=dict, repr=False)

    def load(
        self,
        sandbox: Sandbox,
        state: dict | None = None,
        *,
        killed_after: int | None = None,
        **settings: Any,
    ) -> dict:
        """Pipe one tap-invoicing run over ``sandbox`` (its config with ``settings`` on top) into
        target-postgres; returns the state the target emitted. With ``killed_after``, the tap is
        killed (SIGKILL) once it has written that many invoices past its first checkpoint: the
        target loads what it got, and passes that checkpoint (or a later one) on. The config is
        never an argument, so a failure's traceback cannot show its credentials."""
        config = {**sandbox.tap_config(), **settings}
        catalog = TapInvoicing(config=config).catalog_dict
        self.streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
        tap_config = self.workdir / "tap.json"
        tap_config.write_text(json.dumps(config))
        target_config = self.workdir / "target.json"
        target_config.write_text(
            json.dumps(
                {
                    "sqlalchemy_url": self.server.sqlalchemy_url,
                    "default_target_schema": self.schema,
                    "flattening_enabled": True,
                    "flattening_max_depth": self.flattening_depth,
                }
            )
        )
        tap_command = [TAP, "--config", str(tap_config)]
        if state is not None:
            (self.workdir / "state.json").write_text(json.dumps(state))
            tap_command += ["--state", str(self.workdir / "state.json")]
        tap_log, target_out, target_log = (
            self.workdir / name for name in ("tap.log", "target.out", "target.log")
        )
        target_command = [str(TARGET_POSTGRES), "--config", str(target_config)]
        with (
            tap_log.open("w") as log,
            target_out.open("w") as output,
            target_log.open("w") as errors,
            subprocess.Popen(tap_command, stdout=subprocess.PIPE, stderr=log) as tap,
            subprocess.Popen(
                target_command, stdin=subprocess.PIPE, stdout=output, stderr=errors
            ) as target,
        ):
            assert target.stdin is not None
            killed = _forward(tap, target.stdin, killed_after)
            target.wait(timeout=300)
        logged, passed_on, target_logged = (
            path.read_text() for path in (tap_log, target_out, target_log)
        )
        assert not secrets_in(logged + passed_on + target_logged)
        assert tap.returncode == (-signal.SIGKILL if killed else 0), logged[-3000:]
        assert target.returncode == 0, target_logged[-3000:]
        return json.loads(passed_on.splitlines()[-1])

    def primary_key(self, stream: str) -> tuple[str, ...]:
        """The stream's key as the catalog declares it (target-postgres upserts on it)."""
        return tuple(self.streams[stream]["key_properties"])

    def numeric_columns(self, stream: str) -> dict[str, tuple[str, ...]]:
        """Column name -> property path of every number the stream's table has a column for."""
        return numeric_columns(self.streams[stream]["schema"], self.flattening_depth)

    def query(self, statement: sql.Composable, *params: Any) -> list[tuple]:
        with self.server.connect() as connection:
            return connection.execute(statement, params).fetchall()

    def table(self, stream: str) -> sql.Composable:
        return sql.Identifier(self.schema, stream)

    def column_types(self, stream: str) -> dict[str, str]:
        rows = self.query(
            sql.SQL(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s"
            ),
            self.schema,
            stream,
        )
        return dict(rows)

    def as_text(
        self, stream: str, columns: list[str], *, live_only: bool = False
    ) -> dict[tuple, dict[str, str | None]]:
        """Each row's ``columns`` as PostgreSQL prints them, by primary key (``live_only``: the
        rows not soft-deleted, what the API holds)."""
        keys = self.primary_key(stream)
        selected = sql.SQL(", ").join(
            [
                *map(sql.Identifier, keys),
                *(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            ]
        )
        live = sql.SQL(' WHERE "_sdc_deleted_at" IS NULL' if live_only else "")
        rows = self.query(sql.SQL("SELECT {} FROM {}{}").format(selected, self.table(stream), live))
        return {row[: len(keys)]: dict(zip(columns, row[len(keys) :], strict=True)) for row in rows}

    def key_counts(self, stream: str) -> tuple[int, int, int]:
        """Rows, distinct primary keys and soft-deleted rows of a stream's table."""
        key = sql.SQL(", ").join(map(sql.Identifier, self.primary_key(stream)))
        [counts] = self.query(
            sql.SQL("SELECT count(*), count(DISTINCT ({})), count(_sdc_deleted_at) FROM {}").format(
                key, self.table(stream)
            )
        )
        return counts

    def children_per_parent(self, parent: str, parent_key: str, child: str) -> dict[Any, int]:
        """How many ``child`` rows join to each ``parent`` row on ``child."invoiceId"``."""
        rows = self.query(
            sql.SQL(
                'SELECT p.{key}, count(c."invoiceId") FROM {parent} p'
                ' LEFT JOIN {child} c ON c."invoiceId" = p.{key} GROUP BY p.{key}'
            ).format(
                key=sql.Identifier(parent_key),
                parent=self.table(parent),
                child=self.table(child),
            )
        )
        return dict(rows)

    def orphans(self, parent: str, parent_key: str, child: str) -> int:
        """``child`` rows whose ``invoiceId`` joins to no ``parent`` row."""
        [(count,)] = self.query(
            sql.SQL(
                'SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON c."invoiceId" = p.{key}'
                " WHERE p.{key} IS NULL"
            ).format(
                key=sql.Identifier(parent_key),
                parent=self.table(parent),
                child=self.table(child),
            )
        )
        return count


@pytest.fixture
def warehouse(
    postgres: PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Warehouse:
    """A schema of its own per test: named after the test, with a hash of its node id, as tests
    of different providers share names and the cluster serves the whole session."""
    node_hash = hashlib.blake2b(request.node.nodeid.encode(), digest_size=4).hexdigest()
    schema = f"{request.node.name.removeprefix('test_')[:50]}_{node_hash}"
    return Warehouse(postgres, schema, tmp_path)


def numeric_columns(
    schema: Mapping, depth: int, prefix: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """Column name -> property path of every number a table flattened ``depth`` levels deep has a
    column for."""
    columns = {}
    for name, prop in schema.get("properties", {}).items():
        path, types = (*prefix, name), prop.get("type", ())
        if "number" in types:
            columns["__".join(path)] = path
        elif "object" in types and len(prefix) < depth:
            columns |= numeric_columns(prop, depth, path)
    return columns


def digits(part: Mapping, path: tuple[str, ...]) -> str | None:
    """The amount at ``path`` as the API wrote it (a JSON number or a numeric string), or None."""
    value: Any = part
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    assert value is None or isinstance(value, Decimal | int | str), value
    return None if value is None else str(Decimal(str(value)))


def assert_warehouse_matches(
    warehouse: Warehouse, parts: Parts, *, live_only: bool = False
) -> dict[str, dict]:
    """Every number column is NUMERIC and holds the API's digits, row for row (``live_only``:
    the rows not soft-deleted are exactly the API's, key for key); returns them."""
    loaded = {}
    for stream in warehouse.streams:
        columns = warehouse.numeric_columns(stream)
        types = warehouse.column_types(stream)
        assert {c: types.get(c) for c in columns} == dict.fromkeys(columns, "numeric")
        loaded[stream] = warehouse.as_text(stream, list(columns), live_only=live_only)
        expected = {
            key: {column: digits(part, path) for column, path in columns.items()}
            for key, part in parts[stream].items()
        }
        assert loaded[stream] == expected
    return loaded


def _forward(tap: subprocess.Popen[bytes], target: IO[bytes], killed_after: int | None) -> bool:
    """Pass the tap's output on to the target, line by line; with ``killed_after``, kill the tap
    once it has written that many invoices past its first checkpoint. Whether it was killed
    (the target then gets the whole lines written before the kill)."""
    assert tap.stdout is not None
    past_checkpoint: int | None = None
    killed = False
    with target:
        for line in tap.stdout:
            if not line.endswith(b"\n"):
                break  # cut short by the kill
            target.write(line)
            if killed_after is None or killed:
                continue
            message = json.loads(line)
            if message["type"] == "STATE" and "resume" in message["value"]["bookmarks"]["invoices"]:
                past_checkpoint = past_checkpoint or 0
            elif message.get("stream") == "invoices" and past_checkpoint is not None:
                past_checkpoint += 1
                if past_checkpoint >= killed_after:
                    tap.kill()
                    killed = True
        tap.wait()
    assert killed_after is None or killed, "the pass ended before a checkpoint and the kill"
    return killed


@dataclass(frozen=True)
class KilledFirstPass:
    """How ``assert_live_rows_follow_the_api`` stops the first pass: the API slowed to
    ``latency``, two requests at once, so that the pass outlasts the 5 s between checkpoints,
    and the tap killed
    (SIGKILL) ``after`` invoices past its first one; ``meanwhile`` changes the API before the
    run that resumes it."""

    latency: float
    after: int
    meanwhile: Callable[[Sandbox], object]


def day(*changes: Callable[[Sandbox], object]) -> Callable[[Sandbox], None]:
    """One round of changes for ``assert_live_rows_follow_the_api``: these, in order."""

    def apply(sandbox: Sandbox) -> None:
        for change in changes:
            change(sandbox)

    return apply


def assert_live_rows_follow_the_api(
    warehouse: Warehouse,
    sandbox: Sandbox,
    served_parts: Callable[[Sandbox], Parts],
    rounds: list[Callable[[Sandbox], object]],
    *,
    killed: KilledFirstPass | None = None,
    **settings: Any,
) -> dict:
    """Load a first run (with ``killed``: killed mid-pass, the API changed, and resumed from the
    checkpoint the target passed on), then after each round of changes an incremental run from
    the state the target passed on (each run with ``settings`` on top of the sandbox's config):
    every time, the rows not soft-deleted in every stream are exactly what the API serves, key
    for key, with the API's digits. Returns the last state."""
    state = None
    if killed is not None:
        latency, sandbox.load.latency = sandbox.load.latency, killed.latency
        try:
            state = warehouse.load(
                sandbox, killed_after=killed.after, **{**settings, "max_workers": 2}
            )
        finally:
            sandbox.load.latency = latency
        assert "resume" in state["bookmarks"]["invoices"], "the target passed a checkpoint on"
        killed.meanwhile(sandbox)
    state = warehouse.load(sandbox, state, **settings)
    assert_warehouse_matches(warehouse, served_parts(sandbox), live_only=True)
    for number, change in enumerate(rounds, start=1):
        change(sandbox)
        state = warehouse.load(sandbox, state, **settings)
        try:
            assert_warehouse_matches(warehouse, served_parts(sandbox), live_only=True)
        except AssertionError as mismatch:
            raise AssertionError(f"after round {number}: {mismatch}") from mismatch
    return state


def assert_one_row_per_key(warehouse: Warehouse, parts: Parts) -> None:
    """Each stream's table has a row per served key: none duplicated, none soft-deleted."""
    for stream, served in parts.items():
        assert warehouse.key_counts(stream) == (len(served), len(served), 0), stream
