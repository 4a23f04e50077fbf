"""Where the JSON schema files are: inside the installed wheel, or the checkout's ``schemas/``."""

from __future__ import annotations

import importlib.resources
import json
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


def _schemas_root() -> Traversable:
    packaged = importlib.resources.files("tap_invoicing") / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def _schema_text(provider_name: str, stream_name: str) -> str:
    return (_schemas_root() / provider_name / f"{stream_name}.json").read_text(encoding="utf-8")


def load_schema(provider_name: str, stream_name: str) -> dict[str, Any]:
    """The JSON schema of one provider's stream, ``schemas/<provider>/<stream>.json`` (a fresh
    copy each time: the SDK may change the one it is given)."""
    schema: dict[str, Any] = json.loads(_schema_text(provider_name, stream_name))
    return schema
