"""Writes the tap's Meltano settings from its own settings schema, so that ``meltano config list``
says what ``tap-invoicing --about`` says: meltano.yml's generated block (the ``tap-invoicing``
extractor's ``settings`` and ``settings_group_validation``) and meltano-plugin.yml, the plugin
definition another Meltano project adds with ``meltano add extractor tap-invoicing --from-ref``.

    .venv/bin/python scripts/meltano_settings.py --write   # rewrite both files
    .venv/bin/python scripts/meltano_settings.py           # exit 1 naming those that differ

tests/orchestrate/test_meltano_settings.py fails when the files differ from what this writes.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tap_invoicing.providers import PROVIDERS
from tap_invoicing.tap import TapInvoicing

ROOT = Path(__file__).resolve().parents[1]
MELTANO_YML = ROOT / "meltano.yml"
PLUGIN_DEFINITION = ROOT / "meltano-plugin.yml"
EXTRACTOR = "tap-invoicing"
BEGIN = "    # Generated from the tap's settings schema by scripts/meltano_settings.py --write:\n"
END = "    # End of the generated settings.\n"
INDENT = "    "
"""The generated keys sit in the extractor's mapping, four spaces in (Meltano's own layout)."""

PROJECT_ONLY = ("config", "select", "metadata")
"""Keys of this project's extractor that belong to this project, not to the plugin definition."""

KINDS = {
    "boolean": "boolean",
    "integer": "integer",
    "number": "integer",
    "object": "object",
    "array": "array",
}
"""Meltano's kind for a JSON schema type other than string. A ``number`` is offered as an
``integer``: Meltano 4.4 reads a ``decimal`` from the environment as a Decimal, which it then
cannot write into the tap's config file (not JSON serializable); fractions go through a
``--config`` file."""


def settings_schema() -> dict[str, Any]:
    """The settings schema ``--about`` prints: the tap's own and the SDK's built-in ones."""
    schema = copy.deepcopy(TapInvoicing.config_jsonschema)
    TapInvoicing.append_builtin_config(schema)
    return schema


def option_labels() -> dict[str, dict[str, str]]:
    """Labels of the choices of the settings that have them: each provider's name, and each
    environment's hosts."""
    environments: dict[str, list[str]] = {}
    for provider in PROVIDERS.values():
        for environment, url in provider.environments.items():
            host = url.removeprefix("https://")
            environments.setdefault(environment, []).append(f"{provider.label} {host}")
    return {
        "provider": {provider.name: provider.label for provider in PROVIDERS.values()},
        "environment": {
            name: f"{name}: {', '.join(hosts)}" for name, hosts in environments.items()
        },
    }


def kind(definition: Mapping[str, Any]) -> str:
    """Meltano's kind for one setting's JSON schema."""
    if "enum" in definition:
        return "options"
    types = definition["type"]
    types = [types] if isinstance(types, str) else [name for name in types if name != "null"]
    if "string" in types:
        return "date_iso8601" if definition.get("format") == "date-time" else "string"
    return KINDS[types[0]]


def meltano_setting(
    name: str, definition: Mapping[str, Any], labels: Mapping[str, dict[str, str]]
) -> dict[str, Any]:
    """One entry of Meltano's ``settings``: label (the schema's title), description, kind,
    default value, whether it is secret, and its options."""
    setting: dict[str, Any] = {"name": name}
    if "title" in definition:
        setting["label"] = definition["title"]
    if "description" in definition:
        setting["description"] = definition["description"]
    setting["kind"] = kind(definition)
    if "default" in definition:
        setting["value"] = definition["default"]
    if definition.get("secret"):
        setting["sensitive"] = True
    if "enum" in definition:
        named = labels.get(name, {})
        setting["options"] = [
            {"label": named.get(value, value), "value": value} for value in definition["enum"]
        ]
    return setting


def generated_settings() -> dict[str, Any]:
    """The generated part of the extractor's definition."""
    labels = option_labels()
    properties = settings_schema()["properties"]
    return {
        "settings_group_validation": [
            ["provider", *provider.credential_settings] for provider in PROVIDERS.values()
        ],
        "settings": [meltano_setting(name, spec, labels) for name, spec in properties.items()],
    }


def dump(data: Any) -> str:
    """YAML in Meltano's own layout (lists not indented under their key), as it rewrites it."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def with_generated_block(meltano_yml: str) -> str:
    """meltano.yml with the text between the markers replaced by the generated settings."""
    head, begin, rest = meltano_yml.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not (begin and end):
        msg = f"meltano.yml: the generated settings' markers are missing ({BEGIN.strip()!r})"
        raise SystemExit(msg)
    block = "".join(f"{INDENT}{line}\n" for line in dump(generated_settings()).splitlines())
    return head + BEGIN + block + END + tail


def extractor(project: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One extractor of a parsed meltano.yml."""
    return next(plugin for plugin in project["plugins"]["extractors"] if plugin["name"] == name)


def plugin_definition(meltano_yml: str) -> dict[str, Any]:
    """The extractor's definition for another project: as in meltano.yml, installed from the
    repository instead of this checkout."""
    definition = {
        key: value
        for key, value in extractor(yaml.safe_load(meltano_yml), EXTRACTOR).items()
        if key not in PROJECT_ONLY
    }
    definition["pip_url"] = f"git+{definition['repo']}.git"
    return definition


def plugin_definition_file(meltano_yml: str) -> str:
    """meltano-plugin.yml's text."""
    return (
        "# Written by scripts/meltano_settings.py --write from meltano.yml's tap-invoicing,\n"
        "# for `meltano add extractor tap-invoicing --from-ref` (README: Using it with Meltano).\n"
        + dump(plugin_definition(meltano_yml))
    )


def expected_files() -> dict[Path, str]:
    """Each generated file's text, as this script writes it."""
    meltano_yml = with_generated_block(MELTANO_YML.read_text(encoding="utf-8"))
    return {MELTANO_YML: meltano_yml, PLUGIN_DEFINITION: plugin_definition_file(meltano_yml)}


def stale_files() -> list[str]:
    """The generated files whose content differs from what --write would write. Compared as
    YAML data: Meltano rewrites meltano.yml in its own layout on ``meltano config set``."""
    return [
        path.name
        for path, text in expected_files().items()
        if not path.exists()
        or yaml.safe_load(path.read_text(encoding="utf-8")) != yaml.safe_load(text)
    ]


def main() -> int:
    """Write the files with --write; otherwise exit 1 naming those that differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the generated files")
    if parser.parse_args().write:
        for path, text in expected_files().items():
            path.write_text(text, encoding="utf-8")
        return 0
    stale = stale_files()
    if stale:
        print(f"{', '.join(stale)}: differ from the settings schema; run {sys.argv[0]} --write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
