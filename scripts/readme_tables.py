"""README.md's tables of settings, capabilities and streams, generated from the code so that they
cannot drift from it.

    .venv/bin/python scripts/readme_tables.py --write   # rewrite the tables in README.md
    .venv/bin/python scripts/readme_tables.py --check   # exit 1, showing the diff, if they differ

Each table sits between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``; the prose
around them is the README's own. The settings and capabilities are those
``tap-invoicing --about --format markdown`` prints; the streams, each provider's discovered catalog.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from functools import cache, partial
from pathlib import Path

from tap_invoicing.core.provider import Provider
from tap_invoicing.providers import PROVIDERS
from tap_invoicing.settings import config_schema
from tap_invoicing.tap import TapInvoicing

README = Path(__file__).resolve().parents[1] / "README.md"
REGION = re.compile(
    r"(?P<start><!-- generated: (?P<name>[\w-]+) -->\n).*?(?P<end><!-- end generated -->)",
    re.DOTALL,
)
WRITE_COMMAND = ".venv/bin/python scripts/readme_tables.py --write"

CAPABILITIES = {
    "catalog": "`--catalog FILE` selects the streams (and properties) to write.",
    "state": "`--state FILE` continues from the previous run's last STATE message: incremental "
    "runs, see [How incremental sync works](#how-incremental-sync-works).",
    "discover": "`--discover` prints the configured provider's streams and schemas, without a "
    "request to the API.",
    "about": "`--about` (`--format json` or `markdown`) prints the capabilities and every "
    "setting with its title, default and description.",
    "stream-maps": "`stream_maps` and `stream_map_config` rename, filter, hash or drop streams "
    "and properties inside the tap (the SDK's stream maps).",
    "schema-flattening": "`flattening_enabled` and `flattening_max_depth` turn nested objects "
    "into properties of their own (`orderInformation__amountDetails__totalAmount`).",
    "structured-logging": "A logging config named in `SINGER_SDK_LOG_CONFIG` can switch to the "
    "SDK's `StructuredFormatter`: one JSON object per log line.",
}
"""What each capability ``--about`` lists means for this tap."""


@cache
def about_markdown() -> str:
    """What ``tap-invoicing --about --format markdown`` prints."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        TapInvoicing.print_about("markdown")
    return printed.getvalue()


def about_section(title: str) -> list[str]:
    """The lines of one ``## title`` section of the ``--about`` markdown, blank lines dropped."""
    section = about_markdown().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line]


def settings_table() -> str:
    """The tap's own rows of ``--about``'s settings table (not the SDK's standard settings),
    and which of them are secrets."""
    own = config_schema(list(PROVIDERS.values()))["properties"]
    header, rule, *rows = [line for line in about_section("Settings") if line.startswith("|")]
    kept = [row for row in rows if row.split("|")[1].strip() in own]
    secrets = ", ".join(f"`{name}`" for name, schema in own.items() if schema.get("writeOnly"))
    return "\n".join([header, rule, *kept, "", f"Secrets (`writeOnly`, never printed): {secrets}."])


def capabilities_table() -> str:
    """The capabilities ``--about`` lists, each with what it means here."""
    declared = [line.removeprefix("- ").strip("`") for line in about_section("Capabilities")]
    undescribed = [name for name in declared if name not in CAPABILITIES]
    stale = [name for name in CAPABILITIES if name not in declared]
    if undescribed or stale:
        sys.exit(
            f"scripts/readme_tables.py: CAPABILITIES must describe exactly what --about lists "
            f"(undescribed: {', '.join(undescribed) or 'none'}; "
            f"not declared: {', '.join(stale) or 'none'})"
        )
    rows = [f"| `{name}` | {CAPABILITIES[name]} |" for name in declared]
    return "\n".join(["| capability | what it does here |", "|---|---|", *rows])


def streams_table(provider: Provider) -> str:
    """The provider's streams as its discovered catalog declares them, invoices first."""
    tap = TapInvoicing(config={"provider": provider.name}, validate_config=False)
    catalog = {entry["tap_stream_id"]: entry for entry in tap.catalog_dict["streams"]}
    order = ["invoices", *(child.name for child in provider.children)]
    if sorted(order) != sorted(catalog):
        sys.exit(f"scripts/readme_tables.py: {provider.name}'s catalog holds {sorted(catalog)}")
    rows = []
    for name in order:
        entry = catalog[name]
        keys = ", ".join(f"`{key}`" for key in entry["key_properties"])
        replication = (
            f"{entry['replication_method']} on `{entry['replication_key']}`"
            if entry.get("replication_key")
            else "with its invoice"
        )
        rows.append(f"| `{name}` | {keys} | {replication} | {entry['schema']['description']} |")
    return "\n".join(["| stream | key | replication | one record is |", "|---|---|---|---|", *rows])


def tables() -> dict[str, Callable[[], str]]:
    """Every generated region of the README, by name."""
    streams = {
        f"streams-{name}": partial(streams_table, provider) for name, provider in PROVIDERS.items()
    }
    return {"settings": settings_table, "capabilities": capabilities_table, **streams}


def rewrite(text: str) -> str:
    """The README with every generated region made anew; each must be there exactly once."""
    generators = tables()
    found = [match["name"] for match in REGION.finditer(text)]
    if sorted(found) != sorted(generators):
        sys.exit(
            f"README.md: its generated regions are {sorted(found)}, "
            f"the code makes {sorted(generators)}"
        )
    return REGION.sub(
        lambda match: f"{match['start']}{generators[match['name']]()}\n{match['end']}", text
    )


def main() -> None:
    """Check or rewrite README.md's generated tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite them in README.md")
    action.add_argument("--check", action="store_true", help="exit 1 if README.md differs")
    arguments = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    wanted = rewrite(current)
    if arguments.write:
        if wanted != current:
            README.write_text(wanted, encoding="utf-8")
        sys.stdout.write(f"{README.name}: {'rewritten' if wanted != current else 'up to date'}\n")
    elif wanted != current:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), wanted.splitlines(keepends=True), "README.md", "code"
        )
        sys.stderr.writelines(diff)
        sys.exit(f"README.md: its generated tables differ from the code; run {WRITE_COMMAND}")


if __name__ == "__main__":
    main()
