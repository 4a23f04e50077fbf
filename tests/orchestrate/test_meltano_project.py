"""The README's recipe for another Meltano project, followed in a new project outside the
repository: ``meltano add --from-ref`` the plugin definition, the sandbox, the settings and two
runs, the second incremental. CI has no internet, so the two GitHub addresses the README shows
become local ones: the definition's URL a copy of meltano-plugin.yml, and its ``pip_url`` a
``git+file://`` URL of a git repository of this checkout's files."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import yaml

from tap_invoicing.providers import PROVIDERS
from tests.orchestrate.conftest import (
    ROOT,
    Terminal,
    command_blocks,
    copy_project,
    follow,
    readme_section,
    settings_set,
    tap_records,
    written_config,
)

SUBSECTION = readme_section("Using it with Meltano").partition("### In another Meltano project")[2]
DEFINITION = "meltano-plugin.yml"


def git_repository(tmp_path: Path) -> Path:
    """A git repository of the project's files, committed, as pip clones one."""
    source = copy_project(tmp_path / "tap-invoicing")
    for command in (
        ["git", "init", "--quiet"],
        ["git", "add", "--all"],
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-qm", "src"],
    ):
        subprocess.run(command, cwd=source, check=True, capture_output=True, timeout=60)
    return source


def definition_from(source: Path, tmp_path: Path) -> tuple[str, Path]:
    """The address the README gives for meltano-plugin.yml, and a copy of that file that
    installs from ``source``: its ``pip_url`` is the only difference."""
    definition = yaml.safe_load((ROOT / DEFINITION).read_text())
    repo = definition["repo"]
    assert definition["pip_url"] == f"git+{repo}.git"
    assert f"`pip_url: {definition['pip_url']}`" in SUBSECTION
    address = repo.replace("https://github.com/", "https://raw.githubusercontent.com/")
    local = tmp_path / DEFINITION
    local.write_text(yaml.safe_dump({**definition, "pip_url": f"git+file://{source}"}))
    return f"{address}/main/{DEFINITION}", local


def loader_definition(tmp_path: Path) -> Path:
    """This repository's target-jsonl, for the new project (which would have its own loader)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    [loader] = [
        plugin for plugin in project["plugins"]["loaders"] if plugin["name"] == "target-jsonl"
    ]
    path = tmp_path / "loader.yml"
    path.write_text(
        yaml.safe_dump({key: value for key, value in loader.items() if key != "config"})
    )
    return path


def test_another_project_adds_the_tap_and_runs_it_incrementally(tmp_path):
    address, local_definition = definition_from(git_repository(tmp_path), tmp_path)
    [commands] = [block for block in command_blocks(SUBSECTION) if "--from-ref" in block[0]]
    assert shlex.split(commands[0])[-1] == address
    commands = [commands[0].replace(address, str(local_definition)), *commands[1:]]

    with Terminal(tmp_path) as terminal:
        terminal.type("meltano init --no-usage-stats my-project")
    project = tmp_path / "my-project"
    with Terminal(project) as terminal:
        loader = loader_definition(tmp_path)
        terminal.type(f"meltano add --plugin-type loader target-jsonl --from-ref {loader}")
        terminal.type("meltano config set target-jsonl destination_path output")
        terminal.type("meltano config set target-jsonl do_timestamp_file false")
        followed = follow(terminal, commands, project / "output")
        extracted = tap_records(project / written_config(commands))
        state = json.loads(
            terminal.type(
                "meltano --environment=dev state get dev:tap-invoicing-to-target-jsonl"
            ).stdout
        )

    sandbox_settings = json.loads((project / written_config(commands)).read_text())
    assert settings_set(commands, "tap-invoicing") == sandbox_settings
    provider = sandbox_settings["provider"]
    key = PROVIDERS[provider].invoice_key
    first, second = ([invoice[key] for invoice in run["invoices"]] for run in followed.runs)
    assert sorted(first) == sorted(invoice[key] for invoice in extracted["invoices"])
    assert set(second) < set(first)
    bookmark = state["singer_state"]["bookmarks"]["invoices"]
    assert bookmark["replication_key"] == PROVIDERS[provider].replication_key
    installed = project / ".meltano/extractors/tap-invoicing/venv"
    assert list(installed.glob("lib/python*/site-packages/tap_invoicing/schemas/*/invoices.json"))
