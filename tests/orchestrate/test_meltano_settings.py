"""meltano.yml and meltano-plugin.yml say what the tap says of itself: the settings block is the
one scripts/meltano_settings.py writes from the tap's settings schema, and the capabilities are
those ``tap-invoicing --about`` lists."""

from __future__ import annotations

import importlib.util
import json
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


def test_a_changed_setting_makes_both_files_stale(generator, monkeypatch):
    schema = json.loads(json.dumps(TapInvoicing.config_jsonschema))
    schema["properties"]["page_size"]["description"] = "Something else."
    monkeypatch.setattr(TapInvoicing, "config_jsonschema", schema)
    assert generator.stale_files() == ["meltano.yml", "meltano-plugin.yml"]


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
