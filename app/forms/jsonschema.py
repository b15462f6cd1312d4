"""A form's submission as JSON Schema (2020-12): what a frontend renders and pre-validates.

The schema says what the API accepts: a payload valid under it passes the field validation of
`app.core.fields` (and one invalid under it is refused), for every field type. Optional fields
also take `null` (no answer). A pure function of the definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.fields import FieldSpec, FieldType

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# `app.core.fields` checks phone numbers (after trimming spaces) with this expression.
PHONE_PATTERN = r"^\+?[0-9 ()./-]{3,32}$"
HTTP_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_JSON_TYPE = {
    FieldType.text: "string", FieldType.textarea: "string", FieldType.email: "string",
    FieldType.url: "string", FieldType.phone: "string", FieldType.date: "string",
    FieldType.datetime: "string", FieldType.select: "string", FieldType.integer: "integer",
    FieldType.decimal: "number", FieldType.checkbox: "boolean", FieldType.multiselect: "array",
}
_FORMAT = {FieldType.email: "email", FieldType.url: "uri", FieldType.date: "date",
           FieldType.datetime: "date-time"}


def submission_schema(title: str, description: str, fields: Sequence[FieldSpec]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": title,
        "type": "object",
        "properties": {f.key: field_schema(f) for f in fields},
        "required": [f.key for f in fields if f.required],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def field_schema(field: FieldSpec) -> dict[str, Any]:
    t = field.type
    json_type = _JSON_TYPE[t]
    schema: dict[str, Any] = {
        "title": field.label,
        "type": json_type if field.required else [json_type, "null"],
        "x-field-type": t.value,  # the widget: textarea, phone, select, …
    }
    if field.help:
        schema["description"] = field.help
    if t in _FORMAT:
        schema["format"] = _FORMAT[t]
    patterns = [f"^(?:{field.pattern})$"] if field.pattern is not None else []
    if t is FieldType.phone:
        patterns.append(PHONE_PATTERN)
    elif t is FieldType.url:
        patterns.append(HTTP_PATTERN)
    if patterns:
        schema["pattern"] = patterns[0]
        if len(patterns) > 1:
            schema["allOf"] = [{"pattern": p} for p in patterns[1:]]
    if field.min_length is not None:
        schema["minLength"] = field.min_length
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    if t in (FieldType.integer, FieldType.decimal):
        _bounds(schema, field)
    elif t in (FieldType.date, FieldType.datetime):
        # No standard keyword bounds a date; these annotations name the bounds for renderers.
        if field.min is not None:
            schema["formatMinimum"] = field.min
        if field.max is not None:
            schema["formatMaximum"] = field.max
    if t is FieldType.select:
        _choices(schema, field, nullable=not field.required)
    elif t is FieldType.multiselect:
        items: dict[str, Any] = {"type": "string"}
        _choices(items, field, nullable=False)
        schema["items"] = items
    if field.default is not None:
        schema["default"] = field.default
    return schema


def _bounds(schema: dict[str, Any], field: FieldSpec) -> None:
    low, high = field.min, field.max
    if field.type is FieldType.integer:  # stored as 64-bit integers
        low = INT64_MIN if low is None else max(low, INT64_MIN)  # type: ignore[call-overload]
        high = INT64_MAX if high is None else min(high, INT64_MAX)  # type: ignore[call-overload]
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high


def _choices(schema: dict[str, Any], field: FieldSpec, *, nullable: bool) -> None:
    options = field.options or []
    schema["enum"] = [o.value for o in options] + ([None] if nullable else [])
    schema["oneOf"] = [{"const": o.value, "title": o.label} for o in options] + (
        [{"type": "null"}] if nullable else [])
