"""Writes the tap's Meltano settings from its own settings schema, so that ``meltano config list``
says what ``tap-invoicing --about`` says: meltano.yml's generated blocks (the ``tap-invoicing``
extractor's ``settings`` and ``settings_group_validation``; its label, description and keywords,
which name the providers; one extractor per provider) and meltano-plugin.yml, the plugin
definition another Meltano project adds with ``meltano add extractor tap-invoicing --from-ref``.
Everything that names a provider comes from the provider registry, so a new provider is added to
both files by running this again.

    .venv/bin/python scripts/meltano_settings.py --write   # rewrite both files
    .venv/bin/python scripts/meltano_settings.py           # exit 1 naming those that differ

tests/orchestrate/test_meltano_settings.py fails when the files differ from what this writes.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

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
KEYWORDS = ("meltano_sdk", "invoicing", "payments")
"""The extractor's keywords before the providers' names."""

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


def and_list(names: list[str]) -> str:
    """``A, B and C``."""
    *others, last = names
    return f"{', '.join(others)} and {last}" if others else last


def generated_about() -> dict[str, Any]:
    """The extractor's label, description and keywords, naming each provider."""
    labels = [provider.label for provider in PROVIDERS.values()]
    return {
        "label": f"Invoicing ({', '.join(labels)})",
        "description": (
            "Invoices with their line items, history, payment attempts, payments and refunds "
            f"from the {and_list(labels)} invoicing APIs; exact amounts, incremental runs."
        ),
        "keywords": [*KEYWORDS, *PROVIDERS],
    }


def generated_extractors(current: object) -> list[dict[str, Any]]:
    """One extractor per provider, inheriting the tap's, with what the project gave each in the
    ``current`` block (its other settings, select, metadata); extractors of providers no longer
    registered are left out."""
    given = {entry["name"]: entry for entry in current} if isinstance(current, list) else {}
    extractors: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        name = f"{EXTRACTOR}--{provider}"
        own = given.get(name, {})
        extractor = {
            "name": name,
            "inherit_from": EXTRACTOR,
            "config": {**own.get("config", {}), "provider": provider},
        }
        extractors.append(
            extractor | {key: value for key, value in own.items() if key not in extractor}
        )
    return extractors


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


class Block(NamedTuple):
    """A generated part of meltano.yml: the lines between two marker lines (each a whole line,
    indented as the block is), made anew from ``data``. (A NamedTuple: a dataclass needs its
    module in ``sys.modules``, and the tests load this script without putting it there.)"""

    begin: str
    end: str
    indent: str
    data: Callable[[object], Any]
    """The block's data, from what the block holds now (parsed)."""

    def rewrite(self, meltano_yml: str) -> str:
        """meltano.yml with this block made anew."""
        start = _line_at(meltano_yml, self.begin)
        stop = _line_at(meltano_yml, self.end, after=max(start, 0))
        if start < 0 or stop < 0:
            msg = f"meltano.yml: a generated block's markers are missing ({self.begin.strip()!r})"
            raise SystemExit(msg)
        start += len(self.begin)
        data = self.data(yaml.safe_load(meltano_yml[start:stop]))
        lines = "".join(f"{self.indent}{line}\n" for line in dump(data).splitlines())
        return meltano_yml[:start] + lines + meltano_yml[stop:]


def _line_at(text: str, line: str, after: int = 0) -> int:
    """Where ``line`` stands as a whole line of ``text`` (from ``after``), or -1."""
    if text.startswith(line, after):
        return after
    found = text.find("\n" + line, after)
    return found + 1 if found >= 0 else -1


BLOCKS = (
    Block(
        f"{INDENT}# Generated from the provider registry by scripts/meltano_settings.py --write:\n",
        f"{INDENT}# End of the generated description.\n",
        INDENT,
        lambda current: generated_about(),
    ),
    Block(BEGIN, END, INDENT, lambda current: generated_settings()),
    Block(
        "  # Generated from the provider registry by scripts/meltano_settings.py --write:\n",
        "  # End of the generated extractors.\n",
        "  ",
        generated_extractors,
    ),
)
"""meltano.yml's generated blocks: the extractor's description, its settings (in its mapping),
and one extractor per provider (in the list of extractors)."""


def with_generated_block(meltano_yml: str) -> str:
    """meltano.yml with the text between each block's markers made anew."""
    for block in BLOCKS:
        meltano_yml = block.rewrite(meltano_yml)
    return meltano_yml


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
