"""Where the JSON schema files are: inside the installed wheel, or the checkout's ``schemas/``."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from singer_sdk import SchemaDirectory


def provider_schemas(provider_name: str) -> SchemaDirectory:
    """The schema files of one provider, one ``<stream name>.json`` per stream."""
    packaged = importlib.resources.files("tap_invoicing") / "schemas"
    if packaged.is_dir():
        return SchemaDirectory(packaged / provider_name)
    return SchemaDirectory(Path(__file__).resolve().parent.parent / "schemas" / provider_name)
