"""meltano.yml and meltano-plugin.yml say what the tap says of itself: the settings block is the
one scripts/meltano_settings.py writes from the tap's settings schema, and the capabilities are
those ``tap-invoicing --about`` lists."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tap_invoicing.tap import TapInvoicing
from tests.conftest import run_cli
from tests.orchestrate.conftest import ROOT


@pytest.fixture
def generator() -> ModuleType:
    """scripts/meltano_settings.py, imported."""
    spec = importlib.util.spec_from_file_location(
        "meltano_settings", ROOT / "scripts/meltano_settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_files_are_what_the_generator_writes(generator):
    assert generator.stale_files() == [], "run .venv/bin/python scripts/meltano_settings.py --write"


def test_the_generator_command_rewrites_what_is_stale(generator, tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts/meltano_settings.py", tmp_path / "scripts")
    text = (ROOT / "meltano.yml").read_text()
    start = text.index(generator.BEGIN) + len(generator.BEGIN)
    (tmp_path / "meltano.yml").write_text(text[:start] + text[text.index(generator.END) :])
    command = [sys.executable, "scripts/meltano_settings.py"]

    check = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert check.returncode == 1
    assert "meltano.yml, meltano-plugin.yml: differ from the settings schema" in check.stdout
    write = subprocess.run([*command, "--write"], cwd=tmp_path, capture_output=True, check=False)
    assert write.returncode == 0, write.stderr
    for name in ("meltano.yml", "meltano-plugin.yml"):
        assert as_data(tmp_path / name) == as_data(ROOT / name), name
    assert subprocess.run(command, cwd=tmp_path, capture_output=True, check=False).returncode == 0


def as_data(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def test_a_changed_setting_makes_both_files_stale(generator, monkeypatch):
    schema = json.loads(json.dumps(TapInvoicing.config_jsonschema))
    schema["properties"]["page_size"]["description"] = "Something else."
    monkeypatch.setattr(TapInvoicing, "config_jsonschema", schema)
    assert generator.stale_files() == ["meltano.yml", "meltano-plugin.yml"]


def test_each_providers_extractor_keeps_what_the_project_gave_it(generator):
    text = (ROOT / "meltano.yml").read_text()
    given = text.replace(
        "      provider: revolv3\n",
        "      provider: revolv3\n      base_url: http://127.0.0.1:8124\n",
    )
    assert given != text
    rewritten = yaml.safe_load(generator.with_generated_block(given))
    revolv3 = generator.extractor(rewritten, "tap-invoicing--revolv3")
    assert revolv3["config"] == {"provider": "revolv3", "base_url": "http://127.0.0.1:8124"}
    project = yaml.safe_load(text)
    for name in ("tap-invoicing--cybersource", "tap-invoicing--cybersource-2"):
        assert generator.extractor(rewritten, name) == generator.extractor(project, name)


def test_meltano_is_told_the_capabilities_and_settings_the_tap_reports():
    about = run_cli("--about", "--format", "json")
    assert about.returncode == 0, about.stderr[-2000:]
    reported = json.loads(about.stdout)
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    [extractor] = [e for e in project["plugins"]["extractors"] if e["name"] == "tap-invoicing"]
    assert extractor["capabilities"] == reported["capabilities"]
    declared = {setting["name"]: setting for setting in extractor["settings"]}
    assert list(declared) == list(reported["settings"]["properties"])
    for name, definition in reported["settings"]["properties"].items():
        assert declared[name].get("description") == definition.get("description"), name
        assert declared[name].get("sensitive", False) == definition.get("secret", False), name
        assert declared[name].get("value") == definition.get("default"), name
