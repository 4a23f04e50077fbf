"""README.md's generated tables: what ``scripts/readme_tables.py`` makes from the code, and what
the installed ``tap-invoicing --about`` and ``--discover`` print."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tap_invoicing.providers import PROVIDERS
from tap_invoicing.sandbox import Sandbox
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCRIPT = "scripts/readme_tables.py"


def region(text: str, name: str) -> str:
    """The body of one generated region."""
    pattern = rf"<!-- generated: {re.escape(name)} -->\n(.*?)<!-- end generated -->"
    match = re.search(pattern, text, re.DOTALL)
    assert match, f"README.md has no region {name}"
    return match[1]


def table_rows(text: str) -> list[list[str]]:
    """The cells of a markdown table's body rows."""
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def run_script(checkout: Path, option: str) -> subprocess.CompletedProcess:
    """``.venv/bin/python scripts/readme_tables.py OPTION`` in a checkout, as the README says."""
    return subprocess.run(
        [sys.executable, SCRIPT, option],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_readme_tables_are_what_the_code_makes():
    result = run_script(ROOT, "--check")
    assert result.returncode == 0, result.stderr[-5000:]


def test_write_makes_stale_tables_anew_and_check_reports_them(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / SCRIPT, tmp_path / "scripts")
    settings = region(README, "settings")
    stale = README.replace(settings, settings.replace("| request_timeout | False | 60 |", "| x |"))
    assert stale != README
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")

    check = run_script(tmp_path, "--check")
    assert check.returncode == 1
    assert "+| request_timeout | False | 60 |" in check.stderr
    assert check.stderr.rstrip().endswith(
        "README.md: its generated tables differ from the code; "
        "run .venv/bin/python scripts/readme_tables.py --write"
    )
    assert run_script(tmp_path, "--write").returncode == 0
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == README


def test_a_missing_region_is_named():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / SCRIPT)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    without = README.replace("<!-- generated: streams-paypal -->", "")
    with pytest.raises(
        SystemExit, match=r"README.md: its generated regions are \[.*'streams-paypal'"
    ):
        script.rewrite(without)


def test_the_settings_rows_are_those_the_installed_command_prints():
    printed = run_cli("--about", "--format", "markdown")
    assert printed.returncode == 0, printed.stderr[-2000:]
    rows = [line for line in region(README, "settings").splitlines() if line.startswith("| ")]
    assert len(rows) > 15
    assert set(rows) <= set(printed.stdout.splitlines())


def test_the_capabilities_are_those_the_installed_command_declares():
    about = json.loads(run_cli("--about", "--format", "json").stdout)
    listed = [row[0].strip("`") for row in table_rows(region(README, "capabilities"))]
    assert listed == about["capabilities"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_streams_are_those_the_installed_command_discovers(provider, tmp_path):
    with Sandbox(provider=provider, invoices=1, seed=1) as sandbox:
        config = tmp_path / "config.json"
        config.write_text(json.dumps(sandbox.tap_config()))
        result = run_cli("--config", str(config), "--discover")
    assert result.returncode == 0, result.stderr[-2000:]
    discovered = {
        entry["tap_stream_id"]: (entry["key_properties"], entry.get("replication_key"))
        for entry in json.loads(result.stdout)["streams"]
    }
    documented = {}
    for name, keys, replication, _ in table_rows(region(README, f"streams-{provider}")):
        key = re.fullmatch(r"INCREMENTAL on `(\w+)`", replication)
        documented[name.strip("`")] = (
            [part.strip(" `") for part in keys.split(",")],
            key[1] if key else None,
        )
    assert documented == discovered
