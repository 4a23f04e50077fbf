"""The streams' JSON schemas: the files (inside the installed wheel, or the checkout's
``schemas/``), plus the fields the tap adds to every stream."""

from __future__ import annotations

import copy
import importlib.resources
import json
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_invoicing.core.conform import EXTRA_FIELDS

if TYPE_CHECKING:
    from tap_invoicing.core.provider import Provider

DELETED_AT = "_sdc_deleted_at"
"""Set on a tombstone: the record's row is gone from the API (the Singer convention for soft
deletes, kept as a column by SDK targets); absent, so null, on every live record."""

TAP_FIELDS: dict[str, dict[str, Any]] = {
    EXTRA_FIELDS: {
        "type": ["object", "null"],
        "additionalProperties": True,
        "description": (
            "Added by the tap: top-level fields the API sent that this schema does not declare, "
            "kept as sent, so nothing the API adds is lost."
        ),
    },
    DELETED_AT: {
        "type": ["string", "null"],
        "format": "date-time",
        "description": (
            "Added by the tap: when the tap found this row gone from the API (a tombstone); "
            "null on live rows."
        ),
    },
}
"""The fields the tap adds to every stream's schema."""


def _schemas_root() -> Traversable:
    packaged = importlib.resources.files("tap_invoicing") / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def _schema_text(provider_name: str, stream_name: str) -> str:
    return (_schemas_root() / provider_name / f"{stream_name}.json").read_text(encoding="utf-8")


def load_schema(provider: Provider, stream_name: str) -> dict[str, Any]:
    """The JSON schema of one provider's stream, ``schemas/<provider>/<stream>.json`` or the
    provider's own ``schemas_dir``, with ``TAP_FIELDS`` (a fresh copy each time: the SDK may
    change the one it is given)."""
    if provider.schemas_dir is None:
        text = _schema_text(provider.name, stream_name)
    else:
        text = (provider.schemas_dir / f"{stream_name}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema["properties"].update(copy.deepcopy(TAP_FIELDS))
    return schema
