"""Records as their schemas describe them: exact numbers, every field the API sent, encodable
text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_SURROGATE = re.compile("[\ud800-\udfff]")

EXTRA_FIELDS = "extraFields"
"""The field of every record that keeps, as sent, the top-level fields its schema does not
declare (a field the API adds is kept, not dropped)."""


class UnloadableError(ValueError):
    """A value that its schema cannot hold (a number field holding text, say)."""


@dataclass
class FieldNotes:
    """What conforming records found, for the run's last lines: the paths of fields the schemas
    do not declare (kept as sent), and of values sent as a number or JSON where the schema says
    text (written as their text, which a schema that also says number would have spared)."""

    undeclared: list[str] = field(default_factory=list)
    as_text: list[str] = field(default_factory=list)


def conform_to_schema(
    value: Any, schema: Mapping[str, Any], notes: FieldNotes, path: str = ""
) -> Any:
    """The value as its schema describes it, as the SDK's type conformance would leave it, in one
    walk: numeric strings become Decimal wherever the schema says number, with the same digits
    (the API may send an amount as "12.050", "+12.050" or 12.050; the warehouse gets one exact
    numeric column), an empty string there becomes null, and properties the schema does not
    declare are kept as sent (exact digits; in the warehouse they sit inside their object's JSON
    column), their paths noted unless the object takes any property. A number or a JSON value
    where only text fits becomes its text, its path noted (the SCHEMA message is out: a target
    would reject the number). Text where only a number fits raises UnloadableError: a target
    would reject the record, or worse, coerce it."""
    if isinstance(value, str):
        return _conform_text(value, schema.get("type", ()), path)
    if _is_text_only(schema) and value is not None and not isinstance(value, bool):
        notes.as_text.append(path.rstrip("."))
        return _as_text(value)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None:
            return value
        conformed = {}
        for key, item in value.items():
            if key in properties:
                conformed[key] = conform_to_schema(item, properties[key], notes, f"{path}{key}.")
                continue
            conformed[key] = item
            if not schema.get("additionalProperties"):
                notes.undeclared.append(f"{path}{key}")
        return conformed
    if isinstance(value, list):
        items = schema.get("items", {})
        return [conform_to_schema(item, items, notes, path) for item in value]
    return value


def _is_text_only(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type", ())
    types = [types] if isinstance(types, str) else types
    return "string" in types and not {"number", "integer", "object", "array"} & set(types)


def _as_text(value: object) -> str:
    """A number or a JSON value sent where the schema says text, as text (an API whose docs
    leave a field's type open may send a code as 51 one day and "051" the next)."""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _conform_text(value: str, types: Iterable[str], path: str) -> Any:
    if "number" not in types:
        return value
    if _NUMERIC.fullmatch(value):
        return Decimal(value)
    if "string" in types:
        return value
    if not value.strip() and "null" in types:
        return None
    raise UnloadableError(f"{path.rstrip('.')} is not a number")


def without_surrogates(value: Any) -> Any:
    """The value with every lone UTF-16 surrogate replaced by U+FFFD: no writer can encode one."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(key): without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    return value


def with_extra_fields(
    record: Mapping[str, Any], schema: Mapping[str, Any], notes: FieldNotes
) -> dict[str, Any]:
    """The record with the top-level fields its schema does not declare moved, as sent, into
    ``EXTRA_FIELDS`` (None when there are none), their names noted."""
    declared = schema.get("properties", {})
    kept = {key: value for key, value in record.items() if key in declared}
    extra = {key: value for key, value in record.items() if key not in declared}
    notes.undeclared += extra
    return {**kept, EXTRA_FIELDS: extra or None}
