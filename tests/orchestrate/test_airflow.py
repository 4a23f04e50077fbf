"""The README's "Scheduling with Airflow" commands, run as written with real Airflow and Meltano:
two sandbox accounts of different providers, one mapped `meltano run` each, then the same commands
again, incremental for each account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import secrets_in
from tests.core.test_demo import STREAMS

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = (
    *("meltano.yml", "pyproject.toml", "README.md", "tap_invoicing", "schemas"),
    "orchestrate",
)
"""What a Meltano project copy needs: the plugins' definitions, the tap's source and the DAG."""
VIRTUALENVS = (".venv-meltano", ".venv-airflow")
DAG = ROOT / "orchestrate/airflow/dags/tap_invoicing_accounts.py"


def readme_commands() -> str:
    """The bash block of the README's "Scheduling with Airflow" section."""
    section = (ROOT / "README.md").read_text().split("\n## Scheduling with Airflow\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def run_readme_commands(project: Path) -> str:
    """Run the README's commands in the project copy; their output must show no credential."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "MELTANO", "TAP_INVOICING", "TARGET_JSONL"))
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_commands()],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert not secrets_in(output), "a credential reached the output of Airflow or Meltano"
    assert result.returncode == 0, output[-4000:]
    return result.stdout


def written_invoices(project: Path, account: str) -> list[dict]:
    """The invoice records target-jsonl wrote for one account, in order, over every run."""
    lines = (project / "output" / account / "invoices.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def sent_invoice(sandbox: Sandbox) -> str:
    """An invoice sent and not yet paid (a status both providers have)."""
    return next(i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] == "SENT")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Meltano project, using the checkout's Meltano and Airflow virtualenvs."""
    for venv in VIRTUALENVS:
        assert (ROOT / venv / ".installed").exists(), f"`make test` installs {venv}"
        (tmp_path / venv).symlink_to(ROOT / venv)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def test_each_account_is_a_mapped_meltano_run_with_its_own_incremental_state(project):
    accounts = {
        "emea": Sandbox(provider="cybersource", invoices=40, seed=21),
        "americas": Sandbox(provider="paypal", invoices=40, seed=4),
    }
    with accounts["emea"] as emea, accounts["americas"] as americas:
        emea.write_config(project / "emea.json")
        americas.write_config(project / "americas.json")

        output = run_readme_commands(project)

        for name, sandbox in accounts.items():
            written = {path.stem for path in (project / "output" / name).glob("*.jsonl")}
            assert tuple(sorted(written)) == STREAMS[sandbox.provider]
            ids = [record["id"] for record in written_invoices(project, name)]
            assert sorted(ids) == sorted(sandbox.invoice_ids())

        state_ids = {f"dev:tap-invoicing-to-target-jsonl:{name}" for name in accounts}
        assert set(output.splitlines()[-len(accounts) :]) == state_ids, "meltano state list"

        first_run = {name: len(written_invoices(project, name)) for name in accounts}
        changed = {}
        for name, sandbox in accounts.items():
            paid = sent_invoice(sandbox)
            sandbox.api.pay(paid)
            changed[name] = {paid, *sandbox.api.add(1)}
            sandbox.clear_requests()

        run_readme_commands(project)

        for name, sandbox in accounts.items():
            second_run = written_invoices(project, name)[first_run[name] :]
            assert changed[name] <= {record["id"] for record in second_run}
            assert len(second_run) < len(sandbox.invoice_ids()), "not a full re-read"
            assert len(set(sandbox.detail_requests())) < len(sandbox.invoice_ids())
            latest = {record["id"]: record for record in second_run}
            for invoice_id in changed[name]:
                assert latest[invoice_id]["status"] == sandbox.invoice(invoice_id)["status"]


BAD_VARIABLES = {
    "no accounts list": ({"loader": "target-jsonl"}, "must be an object with an accounts list"),
    "empty list": ({"accounts": []}, "accounts is empty"),
    "misspelt key": (
        {"accounts": [{"name": "a", "conection": "c"}]},
        "accounts[0]: unknown key 'conection'",
    ),
    "name with a slash": (
        {"accounts": [{"name": "a/b", "connection": "c"}]},
        "accounts[0].name: letters, digits, - and _ only",
    ),
    "name listed twice": (
        {"accounts": [{"name": "a", "connection": "c"}, {"name": "a", "connection": "d"}]},
        "accounts[1].name: 'a' is listed twice",
    ),
    "no connection": ({"accounts": [{"name": "a"}]}, "accounts[0].connection: must be"),
    "loader settings not an object": (
        {"accounts": [{"name": "a", "connection": "c", "loader_settings": ["x"]}]},
        "accounts[0].loader_settings: must be an object",
    ),
    "loader setting not a name": (
        {"accounts": [{"name": "a", "connection": "c", "loader_settings": {"Dest-Path": "x"}}]},
        "accounts[0].loader_settings: 'Dest-Path' is not a setting name",
    ),
}


def test_a_wrong_account_list_fails_the_run_without_retries_naming_the_entry(tmp_path):
    """The DAG's check of the Variable, in Airflow's own interpreter: one line per mistake, as an
    AirflowFailException (which Airflow does not retry)."""
    check = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('accounts_dag', {str(DAG)!r})\n"
        "dag = importlib.util.module_from_spec(spec); spec.loader.exec_module(dag)\n"
        "from airflow.sdk.exceptions import AirflowFailException\n"
        "for config in json.load(sys.stdin):\n"
        "    try:\n"
        "        dag.checked_accounts(config)\n"
        "        print('accepted')\n"
        "    except AirflowFailException as error:\n"
        "        print(error)\n"
    )
    cases = [config for config, _ in BAD_VARIABLES.values()]
    good = {"accounts": [{"name": "emea-1", "connection": "tap_invoicing_emea"}]}
    result = subprocess.run(
        [str(ROOT / ".venv-airflow/bin/python"), "-c", check],
        input=json.dumps([*cases, good]),
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    *messages, accepted = result.stdout.splitlines()
    for message, (_, expected) in zip(messages, BAD_VARIABLES.values(), strict=True):
        assert message.startswith("Variable tap_invoicing: ")
        assert expected in message
    assert accepted == "accepted"
