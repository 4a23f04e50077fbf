"""Records as their schemas describe them: exact numbers, declared fields, encodable text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnloadableError(ValueError):
    """A value that its schema cannot hold (a number field holding text, say)."""


def conform_to_schema(
    value: Any, schema: Mapping[str, Any], unmapped: list[str], path: str = ""
) -> Any:
    """The value as its schema describes it, as the SDK's type conformance would leave it, in one
    walk: numeric strings become Decimal wherever the schema says number, with the same digits
    (the API may send an amount as "12.050", "+12.050" or 12.050; the warehouse gets one exact
    numeric column), an empty string there becomes null, and properties the schema does not
    declare are dropped, their paths added to ``unmapped``. A number or a JSON value where only
    text fits becomes its text. Text where only a number fits raises UnloadableError: a target
    would reject the record, or worse, coerce it."""
    if isinstance(value, str):
        return _conform_text(value, schema.get("type", ()), path)
    if _is_text_only(schema) and value is not None and not isinstance(value, bool):
        return _as_text(value)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None:
            return value
        conformed = {}
        for key, item in value.items():
            if key in properties:
                conformed[key] = conform_to_schema(item, properties[key], unmapped, f"{path}{key}.")
            elif schema.get("additionalProperties"):
                conformed[key] = item
            else:
                unmapped.append(f"{path}{key}")
        return conformed
    if isinstance(value, list):
        items = schema.get("items", {})
        return [conform_to_schema(item, items, unmapped, path) for item in value]
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
    record: Mapping[str, Any], schema: Mapping[str, Any], extra_field: str
) -> dict[str, Any]:
    """The record with the top-level fields its schema does not declare moved, as sent, into
    ``extra_field`` (None when there are none): a field the API adds is kept, not dropped."""
    declared = schema.get("properties", {})
    kept = {key: value for key, value in record.items() if key in declared}
    extra = {key: value for key, value in record.items() if key not in declared}
    return {**kept, extra_field: extra or None}
