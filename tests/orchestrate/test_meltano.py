"""The README's "Using it with Meltano", command by command, with the real Meltano (in its own
virtualenv) in a copy of the project: ``meltano install`` once, then for each provider its
sandbox, ``meltano config set``, two ``meltano run``s (the second incremental, from the state
Meltano stored) and ``meltano state get``; then a second account of one provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tap_invoicing.providers import PROVIDERS
from tests.orchestrate.conftest import (
    Followed,
    Terminal,
    block_running,
    command_blocks,
    copy_project,
    follow,
    readme_section,
    settings_set,
    tap_records,
    written_config,
)

SECTION = readme_section("Using it with Meltano")
LOADER = "target-jsonl"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the project with its plugins installed, as the README's first block does."""
    root = copy_project(tmp_path_factory.mktemp("meltano") / "tap-invoicing")
    [setup] = [block for block in command_blocks(SECTION) if block[0] == "meltano install"]
    with Terminal(root) as terminal:
        for command in setup:
            terminal.type(command)
    return root


def extractor_definition(project: Path, name: str) -> dict:
    """One extractor of the project's meltano.yml."""
    plugins = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]["extractors"]
    [plugin] = [plugin for plugin in plugins if plugin["name"] == name]
    return plugin


def lineage(project: Path, name: str) -> list[dict]:
    """The extractor, then each one it inherits from."""
    plugins = [extractor_definition(project, name)]
    while "inherit_from" in plugins[-1]:
        plugins.append(extractor_definition(project, plugins[-1]["inherit_from"]))
    return plugins


def inherited(project: Path, name: str, key: str) -> object:
    """An extractor's ``select`` or ``metadata``, its own or the one it inherits."""
    return next((plugin[key] for plugin in lineage(project, name) if key in plugin), None)


def configured(project: Path, name: str, setting: str) -> object:
    """A setting's value in meltano.yml, the extractor's own or the one it inherits."""
    configs = [plugin.get("config", {}) for plugin in lineage(project, name)]
    return next((config[setting] for config in configs if setting in config), None)


def deselected(project: Path, name: str) -> set[tuple[str, tuple[str, ...]]]:
    """(stream, property path) left out by the extractor's ``select`` and ``metadata``."""
    rules = inherited(project, name, "select") or []
    left_out = {
        (stream, tuple(path.split(".")))
        for stream, _, path in (rule[1:].partition(".") for rule in rules if rule[0] == "!")
    }
    metadata = inherited(project, name, "metadata") or {}
    return left_out | {
        (stream, tuple(path.split(".")))
        for stream, entries in metadata.items()
        for path, entry in entries.items()
        if isinstance(entry, dict) and entry.get("selected") is False
    }


def has_path(record: object, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return False
        record = record[key]
    return True


def invoice_ids(records: dict[str, list[dict]], provider: str) -> list[str]:
    key = PROVIDERS[provider].invoice_key
    return [invoice[key] for invoice in records.get("invoices", [])]


def check_settings_are_the_sandboxs(project: Path, extractor: str, commands: list[str]) -> None:
    """The values the block sets are those its sandbox wrote, all of them but the provider,
    which the extractor's meltano.yml entry sets."""
    sandbox_settings = json.loads((project / written_config(commands)).read_text())
    assert settings_set(commands, extractor) == {
        name: value for name, value in sandbox_settings.items() if name != "provider"
    }
    assert configured(project, extractor, "provider") == sandbox_settings["provider"]


def check_selection(project: Path, extractor: str, loaded: dict, extracted: dict) -> None:
    """What the extractor's select and metadata leave out is in the tap's records, not in
    Meltano's."""
    for stream, path in deselected(project, extractor):
        assert any(has_path(record, path) for record in extracted[stream]), (stream, path)
        assert not any(has_path(record, path) for record in loaded[stream]), (stream, path)


def check_config_list(project: Path, followed: Followed, extractor: str) -> None:
    """``meltano config list --all`` describes every setting, and shows the values set."""
    listed = followed.printed_by("meltano", "config", "list", "--all", extractor)
    for setting in lineage(project, extractor)[-1]["settings"]:
        assert setting["description"] in listed, setting["name"]
    assert f"current value: '{configured(project, extractor, 'base_url')}'" in listed


def follow_block(project: Path, extractor: str) -> tuple[list[str], Followed, dict]:
    """Type the README block that runs this extractor (its records land in its own folder),
    then run the tap itself with the settings its sandbox wrote: what Meltano should load."""
    commands = block_running(SECTION, extractor)
    with Terminal(project) as terminal:
        followed = follow(terminal, commands, project / "output" / extractor)
        return commands, followed, tap_records(project / written_config(commands))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_provider_extracts_everything_then_only_what_may_have_changed(project, provider):
    extractor = f"tap-invoicing--{provider}"
    commands, followed, extracted = follow_block(project, extractor)
    check_settings_are_the_sandboxs(project, extractor, commands)

    first, second = followed.runs
    assert sorted(invoice_ids(first, provider)) == sorted(invoice_ids(extracted, provider))
    assert {stream for stream, records in first.items() if records} == set(extracted)
    assert set(invoice_ids(second, provider)) < set(invoice_ids(first, provider))
    assert len(invoice_ids(second, provider)) == len(set(invoice_ids(second, provider)))

    state_id = f"dev:{extractor}-to-{LOADER}"
    state = json.loads(
        followed.printed_by("meltano", "--environment=dev", "state", "get", state_id)
    )
    bookmark = state["singer_state"]["bookmarks"]["invoices"]
    assert bookmark["replication_key"] == PROVIDERS[provider].replication_key
    assert bookmark["replication_key_value"]

    check_selection(project, extractor, first, extracted)
    if any(line.startswith("meltano config list") for line in commands):
        check_config_list(project, followed, extractor)


def test_a_second_account_has_its_own_settings_state_and_records(project):
    extractor = "tap-invoicing--cybersource-2"
    assert extractor_definition(project, extractor)["inherit_from"] == "tap-invoicing--cybersource"
    commands, followed, extracted = follow_block(project, extractor)
    check_settings_are_the_sandboxs(project, extractor, commands)

    [run] = followed.runs
    assert sorted(invoice_ids(run, "cybersource")) == sorted(invoice_ids(extracted, "cybersource"))
    check_selection(project, extractor, run, extracted)
    state_ids = followed.printed_by("meltano", "--environment=dev", "state", "list").split()
    assert f"dev:{extractor}-to-{LOADER}" in state_ids
    assert all(state_id.endswith(f"-to-{LOADER}") for state_id in state_ids)


def test_the_readme_shows_a_block_for_every_provider_and_installs_first():
    blocks = command_blocks(SECTION)
    assert blocks[0] == ["meltano install"]
    for provider in PROVIDERS:
        block_running(SECTION, f"tap-invoicing--{provider}")
