"""Where a form's answers go on a ticket, and the rules a definition must keep. Pure functions.

A field's `maps_to` names a ticket member (`subject`, `description`, `priority`,
`requester.email`, `requester.name`, `tags`) or a ticket custom field; a field whose type
cannot hold that member is refused when the form is defined. Unmapped answers are listed in the
ticket description ("Label: value").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import re2

from app.core.enums import Priority
from app.core.fields import FieldSpec, FieldType
from app.forms.schemas import FormField, FormKind
from app.tickets.schemas import normalize_tag

CUSTOM_PREFIX = "custom_fields."
# Ticket members a field may fill, and the field types that can hold each.
MEMBER_TYPES: dict[str, set[FieldType]] = {
    "subject": {FieldType.text, FieldType.select, FieldType.email, FieldType.phone,
                FieldType.url},
    "description": {FieldType.text, FieldType.textarea},
    "priority": {FieldType.select},
    "requester.email": {FieldType.email},
    "requester.name": {FieldType.text},
    "tags": {FieldType.select, FieldType.multiselect},
}
REPEATABLE = {"tags"}
# A custom field of the left type can take answers of these form field types.
COMPATIBLE: dict[FieldType, set[FieldType]] = {
    FieldType.text: {FieldType.text, FieldType.email, FieldType.phone, FieldType.url,
                     FieldType.select},
    FieldType.textarea: {FieldType.text, FieldType.textarea, FieldType.email, FieldType.phone,
                         FieldType.url},
}
SUBJECT_MAX, DESCRIPTION_MAX = 250, 65_536


def custom_key(target: str) -> str | None:
    """The custom field a mapping names, or None for a ticket member."""
    if target in MEMBER_TYPES:
        return None
    return target.removeprefix(CUSTOM_PREFIX)


def _error(loc: Sequence[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": type_}


def check_definition(kind: FormKind, fields: Sequence[FormField],
                     ticket_fields: Sequence[FieldSpec], *, published: bool,
                     honeypot: str) -> list[dict[str, Any]]:
    """Every problem of a form definition, located at `["body", "fields", i, member]`."""
    errors: list[dict[str, Any]] = []
    custom = {s.key: s for s in ticket_fields}
    used: dict[str, int] = {}
    for i, field in enumerate(fields):
        loc: list[str | int] = ["body", "fields", i]
        if field.key == honeypot:
            errors.append(_error([*loc, "key"], f"{honeypot!r} is the honeypot field's name"))
        if field.pattern is not None and not _linear(field.pattern):
            errors.append(_error([*loc, "pattern"], "a form pattern must be RE2 syntax (no "
                                 "lookarounds or backreferences): answers come from anyone"))
        target = field.maps_to
        if target is None:
            continue
        if kind is FormKind.survey:
            errors.append(_error([*loc, "maps_to"], "survey forms open no ticket; remove maps_to"))
            continue
        if target in used and target not in REPEATABLE:
            errors.append(_error([*loc, "maps_to"], f"field {used[target]} already maps to "
                                 f"{target}"))
        used.setdefault(target, i)
        problem = _mapping_problem(field, target, custom)
        if problem:
            errors.append(_error([*loc, "maps_to"], problem, "mapping"))
    if published and kind is FormKind.ticket:
        errors.extend(_publishable(fields, ticket_fields))
    return errors


def _linear(pattern: str) -> bool:
    try:
        re2.compile(pattern)
    except re2.error:
        return False
    return True


def _mapping_problem(field: FormField, target: str, custom: Mapping[str, FieldSpec]) -> str:
    key = custom_key(target)
    if key is None:
        allowed = MEMBER_TYPES[target]
        if field.type not in allowed:
            return (f"a {field.type} field cannot fill {target} (use "
                    f"{', '.join(sorted(allowed))})")
        values = [o.value for o in field.options or []]
        if target == "priority":
            bad = [v for v in values if v not in set(Priority)]
            if bad:
                return f"priority options must be {', '.join(Priority)}; not {', '.join(bad)}"
        if target == "tags":
            for value in values:
                try:
                    normalize_tag(value)
                except ValueError as exc:
                    return f"option {value!r} is not a valid tag: {exc}"
        return ""
    spec = custom.get(key)
    if spec is None:
        return f"the desk has no ticket field {key!r}"
    if field.type != spec.type and field.type not in COMPATIBLE.get(spec.type, set()):
        return f"ticket field {key!r} is a {spec.type} field; a {field.type} field cannot fill it"
    if field.options and spec.options:
        extra = {o.value for o in field.options} - {o.value for o in spec.options}
        if extra:
            return f"options not offered by ticket field {key!r}: {', '.join(sorted(extra))}"
    return ""


def _publishable(fields: Sequence[FormField],
                 ticket_fields: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    errors = []
    if not any(f.maps_to == "requester.email" and f.required for f in fields):
        errors.append(_error(["body", "fields"], "a published ticket form needs a required email "
                             "field mapped to requester.email", "requester_missing"))
    filled = {custom_key(f.maps_to) for f in fields if f.maps_to and f.required}
    for spec in ticket_fields:
        if spec.required and spec.key not in filled:
            errors.append(_error(["body", "fields"], f"ticket field {spec.key!r} is required: "
                                 "map a required form field to it", "required_field_unmapped"))
    return errors


# --- submission → ticket -----------------------------------------------------------------------

def _display(field: FormField, value: Any) -> str:
    labels = {o.value: o.label for o in field.options or []}
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(labels.get(v, str(v)) for v in value)
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)


def ticket_values(form_name: str, fields: Sequence[FormField],
                  answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    """The `TicketCreate` members a submission fills, and the form key behind each ticket
    location (`("body", "requester", "email") -> "email"`) to report ticket errors at."""
    values: dict[str, Any] = {"custom_fields": {}, "tags": []}
    requester: dict[str, Any] = {}
    locs: dict[tuple[Any, ...], str] = {}
    description = ""
    unmapped: list[str] = []
    for field in fields:
        value = answers.get(field.key)
        target = field.maps_to
        if target is None:
            if value is not None:
                unmapped.append(f"{field.label}: {_display(field, value)}")
            continue
        key = custom_key(target)
        if key is not None:
            locs[("body", "custom_fields", key)] = field.key
            if value is not None:
                values["custom_fields"][key] = value
            continue
        locs[("body", *target.split("."))] = field.key
        if value is None:
            continue
        if target == "subject":
            values["subject"] = " ".join(str(value).split())[:SUBJECT_MAX]
        elif target == "description":
            description = str(value)
        elif target == "priority":
            values["priority"] = value
        elif target == "tags":
            values["tags"].extend(value if isinstance(value, list) else [value])
        else:
            requester[target.removeprefix("requester.")] = value
    values["subject"] = values.get("subject") or form_name[:SUBJECT_MAX]
    if unmapped:
        description = "\n\n".join(p for p in (description, "\n".join(unmapped)) if p)
    values["description"] = description[:DESCRIPTION_MAX]
    values["tags"] = list(dict.fromkeys(values["tags"]))
    if requester:
        values["requester"] = {"email": requester.get("email"),
                               "name": requester.get("name", "")[:200]}
    return values, locs


def relocate(errors: Sequence[Mapping[str, Any]] | None,
             locs: Mapping[tuple[Any, ...], str]) -> list[dict[str, Any]]:
    """Ticket validation errors moved to the form fields behind them (others kept as they are)."""
    moved = []
    for error in errors or []:
        loc = tuple(error.get("loc", ()))
        key = next((k for prefix, k in locs.items() if loc[:len(prefix)] == prefix), None)
        moved.append({**error, "loc": ["body", key] if key else list(loc)})
    return moved
