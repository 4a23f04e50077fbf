"""tap-invoicing for several accounts: one mapped task per account, each a `meltano run`.

The accounts are listed in the Airflow Variable `tap_invoicing` (JSON; `variables.json` beside the
`dags/` folder is an example for `airflow variables import`):

    {"loader": "target-jsonl",
     "accounts": [{"name": "emea", "connection": "tap_invoicing_emea",
                   "loader_settings": {"destination_path": "output/emea"}}, ...]}

- `name` names the account's Meltano state id (`<environment>:tap-invoicing-to-<loader>:<name>`),
  so each account keeps its own bookmark; letters, digits, `-` and `_`.
- `connection` is an Airflow Connection whose extra holds the account's tap settings by name,
  what a `--config` file holds (`provider`, `base_url` or `environment`, the credentials, ...).
  They reach Meltano as its environment variables (`TAP_INVOICING_PROVIDER`, ...), never as
  arguments; every value but the provider, environment, base_url, start_date and end_date is
  masked in the task logs.
- `loader_settings` (optional) are the loader's settings for this account, e.g. where its records
  go (`TARGET_JSONL_DESTINATION_PATH`); `loader` defaults to `target-jsonl`. They are not masked:
  the loader's own credentials belong in the workers' environment.

Each account's run sees only its own settings: the workers' `AIRFLOW_CONN_*` and `TAP_INVOICING_*`
variables are not passed on to Meltano.

Each worker needs the Meltano project, installed (`meltano install`), at `MELTANO_PROJECT_ROOT`,
`meltano` on its PATH, and state storage that every worker shares, through Meltano's own
`MELTANO_STATE_BACKEND_URI` (`s3://...`, `gs://...`, `azure://...`) or `MELTANO_DATABASE_URI`
(PostgreSQL): then any Celery or Kubernetes worker can run any account.

Retrying is safe: the tap moves an account's bookmark only after a complete pass, so a failed or
killed attempt loses nothing and the next attempt reads again what it had not finished. Records
of the failed attempt may arrive twice: loaders that upsert by key (target-postgres, ...) keep one.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.providers.standard.hooks.subprocess import SubprocessHook
from airflow.sdk import BaseOperator, Connection, Context, Variable, dag, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk.log import mask_secret

VARIABLE = "tap_invoicing"
EXTRACTOR = "tap-invoicing"
DEFAULT_LOADER = "target-jsonl"
ACCOUNT_KEYS = frozenset({"name", "connection", "loader_settings"})
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
SETTING_NAME = re.compile(r"[a-z][a-z0-9_]*")
PLAIN_SETTINGS = frozenset({"provider", "environment", "base_url", "start_date", "end_date"})
"""Settings shown as they are in the logs; every other string from a connection is masked."""

RETRY_DELAY = timedelta(minutes=6)
"""Longer than the 5 minutes after which Meltano takes a run without heartbeat for dead: until then
an attempt killed without warning (SIGKILL, a lost worker) still holds the account's state id in
Meltano's system database, and `meltano run` refuses a second run of it."""


def setting_variable(plugin: str, setting: str) -> str:
    """Meltano's environment variable for a plugin setting: `TAP_INVOICING_BASE_URL`."""
    return f"{plugin}_{setting}".upper().replace("-", "_")


def plugin_environment(plugin: str, settings: dict[str, Any], where: str) -> dict[str, str]:
    """Settings as Meltano environment variables; JSON for what is not a string (`true`, `25`)."""
    environment = {}
    for setting, value in settings.items():
        if not SETTING_NAME.fullmatch(setting):
            raise AirflowFailException(f"{where}: {setting!r} is not a setting name")
        text = value if isinstance(value, str) else json.dumps(value)
        environment[setting_variable(plugin, setting)] = text
    return environment


def checked_accounts(config: object) -> list[dict[str, Any]]:
    """The Variable's accounts, each with its loader and that loader's environment variables, or
    one line naming what is wrong."""
    if not isinstance(config, dict) or not isinstance(config.get("accounts"), list):
        raise AirflowFailException(f"Variable {VARIABLE}: must be an object with an accounts list")
    loader = config.get("loader", DEFAULT_LOADER)
    if not isinstance(loader, str) or not loader:
        raise AirflowFailException(f"Variable {VARIABLE}: loader must be a plugin name")
    if not config["accounts"]:
        raise AirflowFailException(f"Variable {VARIABLE}: accounts is empty")
    accounts, names = [], set()
    for index, account in enumerate(config["accounts"]):
        where = f"Variable {VARIABLE}: accounts[{index}]"
        if not isinstance(account, dict):
            raise AirflowFailException(f"{where}: must be an object")
        if unknown := sorted(set(account) - ACCOUNT_KEYS):
            raise AirflowFailException(f"{where}: unknown key {unknown[0]!r}")
        name, connection = account.get("name"), account.get("connection")
        if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
            raise AirflowFailException(f"{where}.name: letters, digits, - and _ only")
        if name in names:
            raise AirflowFailException(f"{where}.name: {name!r} is listed twice")
        if not isinstance(connection, str) or not connection:
            raise AirflowFailException(f"{where}.connection: must be a connection id")
        loader_settings = account.get("loader_settings", {})
        if not isinstance(loader_settings, dict):
            raise AirflowFailException(f"{where}.loader_settings: must be an object")
        names.add(name)
        loader_environment = plugin_environment(loader, loader_settings, f"{where}.loader_settings")
        accounts.append(
            {
                "name": name,
                "connection": connection,
                "loader": loader,
                "loader_environment": loader_environment,
            }
        )
    return accounts


def tap_environment(connection_id: str) -> dict[str, str]:
    """The account's tap settings from its connection's extra, credentials masked in the logs."""
    settings = Connection.get(connection_id).extra_dejson
    where = f"connection {connection_id}"
    if not isinstance(settings.get("provider"), str):
        raise AirflowFailException(f"{where}: its extra must name the account's provider")
    for setting, value in settings.items():
        if isinstance(value, str) and setting not in PLAIN_SETTINGS:
            mask_secret(value)
    return plugin_environment(EXTRACTOR, settings, where)


class MeltanoRun(BaseOperator):
    """`meltano run tap-invoicing <loader>` for one account, under the account's own state id.

    Nothing here is templated: the settings travel in the subprocess's environment only, so they
    are neither rendered nor stored with the task instance.
    """

    def __init__(self, *, account: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account = account

    @cached_property
    def subprocess(self) -> SubprocessHook:
        return SubprocessHook()

    def execute(self, context: Context) -> None:
        project = os.environ.get("MELTANO_PROJECT_ROOT")
        if not project:
            raise AirflowFailException("MELTANO_PROJECT_ROOT: not set on this worker")
        name, loader = self.account["name"], self.account["loader"]
        others = ("AIRFLOW_CONN_", setting_variable(EXTRACTOR, ""))
        inherited = {key: value for key, value in os.environ.items() if not key.startswith(others)}
        environment = {
            **inherited,
            **tap_environment(self.account["connection"]),
            **self.account["loader_environment"],
        }
        command = ["meltano", "run", EXTRACTOR, loader, "--state-id-suffix", name]
        result = self.subprocess.run_command(command, env=environment, cwd=project)
        if result.exit_code != 0:
            raise AirflowException(f"account {name}: meltano run exited {result.exit_code}")

    def on_kill(self) -> None:
        """Stop Meltano (and with it the tap) when Airflow stops the task."""
        self.subprocess.send_sigterm()


@task
def accounts() -> list[dict[str, Any]]:
    """The account list, read when the DAG runs rather than when it is parsed, and checked before
    any extraction starts."""
    return checked_accounts(Variable.get(VARIABLE, deserialize_json=True))


@dag(
    dag_id="tap_invoicing_accounts",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": RETRY_DELAY},
    doc_md=__doc__,
    tags=["tap-invoicing", "meltano"],
)
def tap_invoicing_accounts() -> None:
    """One `extract` task instance per account, named after it in the UI."""
    MeltanoRun.partial(task_id="extract", map_index_template="{{ task.account['name'] }}").expand(
        account=accounts()
    )


tap_invoicing_accounts()
