"""tap-invoicing piped into the real MeltanoLabs target-postgres, loading a real PostgreSQL server.

Amounts are declared ``["number", "null"]``, which target-postgres creates as NUMERIC without
precision or scale, so PostgreSQL keeps each value's own digits (12.050 stays 12.050). With
"string" in the type it picked TEXT. Nested objects are flattened (``flattening_enabled``), so the
invoices' amounts get columns of their own too. The server is Debian's (``make test`` installs it
through scripts/postgres.sh); the session starts a throwaway cluster on 127.0.0.1 and stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing
from tests.conftest import TAP, invoices_with_status, secrets_in

ROOT = Path(__file__).resolve().parents[2]
TARGET_POSTGRES = ROOT / ".venv-target-postgres/bin/target-postgres"
SUPERUSER = "tap"
FLATTENING_DEPTH = 3
"""Deep enough for orderInformation.amountDetails.taxDetails.amount to become a column."""
KEYS = {
    "invoices": ("id",),
    "invoice_line_items": ("invoiceId", "position"),
    "invoice_history": ("invoiceId", "sequence"),
}


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
    """One PostgreSQL schema that real tap runs are loaded into through target-postgres."""

    server: PostgresServer
    schema: str
    workdir: Path

    def load(self, sandbox: Sandbox, state: dict | None = None) -> dict:
        """Pipe one tap-invoicing run into target-postgres; returns the state the target emitted."""
        tap_config = sandbox.write_config(self.workdir / "tap.json")
        target_config = self.workdir / "target.json"
        target_config.write_text(
            json.dumps(
                {
                    "sqlalchemy_url": self.server.sqlalchemy_url,
                    "default_target_schema": self.schema,
                    "flattening_enabled": True,
                    "flattening_max_depth": FLATTENING_DEPTH,
                }
            )
        )
        tap_command = [TAP, "--config", str(tap_config)]
        if state is not None:
            (self.workdir / "state.json").write_text(json.dumps(state))
            tap_command += ["--state", str(self.workdir / "state.json")]
        tap_log = self.workdir / "tap.log"
        with (
            tap_log.open("w") as log,
            subprocess.Popen(tap_command, stdout=subprocess.PIPE, stderr=log) as tap,
        ):
            target = subprocess.run(
                [str(TARGET_POSTGRES), "--config", str(target_config)],
                stdin=tap.stdout,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        logged = tap_log.read_text()
        assert not secrets_in(logged + target.stdout + target.stderr)
        assert tap.returncode == 0, logged[-3000:]
        assert target.returncode == 0, target.stderr[-3000:]
        return json.loads(target.stdout.splitlines()[-1])

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

    def as_text(self, stream: str, columns: list[str]) -> dict[tuple, dict[str, str | None]]:
        """Each row's ``columns`` as PostgreSQL prints them, by primary key."""
        keys = KEYS[stream]
        selected = sql.SQL(", ").join(
            [
                *map(sql.Identifier, keys),
                *(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            ]
        )
        rows = self.query(sql.SQL("SELECT {} FROM {}").format(selected, self.table(stream)))
        return {row[: len(keys)]: dict(zip(columns, row[len(keys) :], strict=True)) for row in rows}


@pytest.fixture
def warehouse(
    postgres: PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Warehouse:
    return Warehouse(postgres, request.node.name.removeprefix("test_")[:60], tmp_path)


@pytest.fixture
def big_sandbox() -> Iterator[Sandbox]:
    """Enough invoices for the awkward amounts: 12.050, 0.3333, numeric strings, huge totals."""
    with Sandbox(provider="cybersource", invoices=300, seed=1) as sandbox:
        yield sandbox


def numeric_columns(schema: Mapping, prefix: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """Column name -> property path of every number the flattened table has a column for."""
    columns = {}
    for name, prop in schema.get("properties", {}).items():
        path, types = (*prefix, name), prop.get("type", ())
        if "number" in types:
            columns["__".join(path)] = path
        elif "object" in types and len(prefix) < FLATTENING_DEPTH:
            columns |= numeric_columns(prop, path)
    return columns


def stream_schemas(sandbox: Sandbox) -> dict[str, dict]:
    catalog = TapInvoicing(config=sandbox.tap_config()).catalog_dict
    return {entry["tap_stream_id"]: entry["schema"] for entry in catalog["streams"]}


def served_parts(sandbox: Sandbox) -> dict[str, dict[tuple, Mapping]]:
    """The part of the API's detail each warehouse row comes from, by the row's primary key."""
    parts: dict[str, dict[tuple, Mapping]] = {stream: {} for stream in KEYS}
    for invoice_id in sandbox.invoice_ids():
        invoice = sandbox.invoice(invoice_id)
        parts["invoices"][(invoice_id,)] = invoice
        for position, item in enumerate(invoice.get("orderInformation", {}).get("lineItems", [])):
            parts["invoice_line_items"][(invoice_id, position)] = item
        for sequence, event in enumerate(reversed(invoice["invoiceHistory"]), start=1):
            parts["invoice_history"][(invoice_id, sequence)] = event
    return parts


def digits(part: Mapping, path: tuple[str, ...]) -> str | None:
    """The amount at ``path`` as the API wrote it (a JSON number or a numeric string), or None."""
    value: Any = part
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    assert value is None or isinstance(value, Decimal | int | str), value
    return None if value is None else str(Decimal(str(value)))


def assert_warehouse_matches(warehouse: Warehouse, sandbox: Sandbox) -> dict[str, dict]:
    """Every amount column is NUMERIC and holds the API's digits, row for row; returns them."""
    parts = served_parts(sandbox)
    loaded = {}
    for stream, schema in stream_schemas(sandbox).items():
        columns = numeric_columns(schema)
        types = warehouse.column_types(stream)
        assert {c: types.get(c) for c in columns} == dict.fromkeys(columns, "numeric")
        loaded[stream] = warehouse.as_text(stream, list(columns))
        expected = {
            key: {column: digits(part, path) for column, path in columns.items()}
            for key, part in parts[stream].items()
        }
        assert loaded[stream] == expected
    return loaded


def balance(sandbox: Sandbox, invoice_id: str) -> Decimal:
    return Decimal(
        str(sandbox.invoice(invoice_id)["orderInformation"]["amountDetails"]["balanceAmount"])
    )


def line_items_per_invoice(warehouse: Warehouse) -> dict[str, int]:
    rows = warehouse.query(
        sql.SQL(
            'SELECT i.id, count(l."invoiceId") FROM {} i'
            ' LEFT JOIN {} l ON l."invoiceId" = i.id GROUP BY i.id'
        ).format(warehouse.table("invoices"), warehouse.table("invoice_line_items"))
    )
    return dict(rows)


def test_amounts_land_in_numeric_columns_with_the_apis_exact_digits(warehouse, big_sandbox):
    warehouse.load(big_sandbox)

    loaded = assert_warehouse_matches(warehouse, big_sandbox)
    texts = [t for rows in loaded.values() for row in rows.values() for t in row.values() if t]
    assert {"12.050", "0.3333", "1000000.00", "98765432109.99"} <= set(texts), (
        "awkward amounts to check"
    )
    line_items = served_parts(big_sandbox)["invoice_line_items"].values()
    assert any(isinstance(item["totalAmount"], str) for item in line_items), "numeric strings"
    served_total = sum((Decimal(str(item["totalAmount"])) for item in line_items), Decimal(0))
    [(warehouse_total,)] = warehouse.query(
        sql.SQL('SELECT sum("totalAmount")::text FROM {}').format(
            warehouse.table("invoice_line_items")
        )
    )
    assert warehouse_total == str(served_total)


def test_line_items_join_to_their_invoices(warehouse, big_sandbox):
    warehouse.load(big_sandbox)

    assert line_items_per_invoice(warehouse) == {
        invoice_id: len(
            big_sandbox.invoice(invoice_id).get("orderInformation", {}).get("lineItems", [])
        )
        for invoice_id in big_sandbox.invoice_ids()
    }
    [(orphans,)] = warehouse.query(
        sql.SQL(
            'SELECT count(*) FROM {} l LEFT JOIN {} i ON l."invoiceId" = i.id WHERE i.id IS NULL'
        ).format(warehouse.table("invoice_line_items"), warehouse.table("invoices"))
    )
    assert orphans == 0


def test_an_incremental_run_upserts_changed_invoices_without_duplicates(warehouse, big_sandbox):
    state = warehouse.load(big_sandbox)
    sent = [
        invoice_id
        for invoice_id in invoices_with_status(big_sandbox, "SENT")
        if balance(big_sandbox, invoice_id) > 1
    ]
    paid, partly_paid, cancelled, updated = sent[:4]
    big_sandbox.api.pay(paid)
    big_sandbox.api.pay(partly_paid, amount="0.01")
    big_sandbox.api.cancel(cancelled)
    big_sandbox.api.update(updated, description="Changed after the first load")
    created = big_sandbox.api.add(2)
    big_sandbox.clear_requests()

    warehouse.load(big_sandbox, state)

    assert len(big_sandbox.detail_requests()) < len(big_sandbox.invoice_ids()), "incremental"
    served = served_parts(big_sandbox)
    for stream, keys in KEYS.items():
        key = sql.SQL(", ").join(map(sql.Identifier, keys))
        [(rows, distinct, deleted)] = warehouse.query(
            sql.SQL("SELECT count(*), count(DISTINCT ({})), count(_sdc_deleted_at) FROM {}").format(
                key, warehouse.table(stream)
            )
        )
        assert (rows, distinct, deleted) == (len(served[stream]), len(served[stream]), 0), stream
    assert_warehouse_matches(warehouse, big_sandbox)
    statuses = dict(
        warehouse.query(
            sql.SQL("SELECT id, status FROM {} WHERE id = ANY(%s)").format(
                warehouse.table("invoices")
            ),
            [paid, partly_paid, cancelled, *created],
        )
    )
    assert statuses == {
        paid: "PAID",
        partly_paid: "PARTIAL",
        cancelled: "CANCELED",
        **dict.fromkeys(created, "SENT"),
    }
    [(description,)] = warehouse.query(
        sql.SQL('SELECT "invoiceInformation__description" FROM {} WHERE id = %s').format(
            warehouse.table("invoices")
        ),
        updated,
    )
    assert description == "Changed after the first load"
