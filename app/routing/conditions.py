"""Rule conditions: their shapes (a Pydantic union discriminated by `op`), their save-time check
against each field's type, and their evaluation over ticket facts. Pure: no database, no I/O.

A condition is `{field, op, value}`. Fields, their kind, and the ops each kind takes:

- text: subject, description, type, requester.email, requester.domain; custom text fields.
  eq ne in not_in contains not_contains starts_with ends_with matches
- choice: status, source; custom select fields. eq ne in not_in
- priority (ordered by rank low < normal < high < urgent): eq ne in not_in gt gte lt lte
- number: organization_id, form_id, created.weekday (0 = Monday), created.hour (0-23, both in
  the desk's time zone); custom integer/decimal fields. eq ne in not_in gt gte lt lte
- list: tags; custom multiselect fields. contains/not_contains (has the value or not),
  in (any of), not_in (none of)
- boolean: custom checkbox fields. eq ne
- date / datetime: custom fields of those types. eq ne gt gte lt lte (date also in, not_in)

`is_empty` / `is_not_empty` apply to every field. String comparisons ignore case; `matches` is
an RE2 regular expression (linear time: no pattern can hang the worker), searched, ignoring case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from app.core.enums import Priority, TicketStatus
from app.core.fields import KEY_PATTERN, FieldSpec, FieldType
from app.core.text import Text, reject_nul

CUSTOM_PREFIX = "custom_fields."
STATIC_FIELDS = ("subject", "description", "requester.email", "requester.domain",
                 "organization_id", "source", "form_id", "priority", "status", "type", "tags",
                 "created.weekday", "created.hour")
FIELD_PATTERN = (r"^(" + "|".join(f.replace(".", r"\.") for f in STATIC_FIELDS)
                 + r"|custom_fields\.[a-z][a-z0-9_]{0,63})$")
assert KEY_PATTERN == r"^[a-z][a-z0-9_]{0,63}$"  # the custom key part above mirrors it

PRIORITY_RANK = {p.value: i for i, p in enumerate(Priority)}
SOURCES = ("api", "web_form", "email", "phone", "chat", "internal")  # tickets.schemas.TicketSource
MAX_PATTERN = 500
RE2_MAX_MEM = 8 << 20

_FIELD_RE = re2.compile(FIELD_PATTERN)
MAX_TEXT_VALUE = 1000


def _field_name(value: str) -> str:
    if not _FIELD_RE.fullmatch(value):
        raise ValueError("unknown field: use one of " + ", ".join(STATIC_FIELDS)
                         + " or custom_fields.KEY")
    return value


def _scalar(value: Any) -> Any:
    if not isinstance(value, str | int | float | bool):
        raise ValueError("must be a string, a number or a boolean")
    if isinstance(value, str):
        reject_nul(value)
        if len(value) > MAX_TEXT_VALUE:
            raise ValueError(f"must have at most {MAX_TEXT_VALUE} characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


FieldName = Annotated[str, AfterValidator(_field_name), WithJsonSchema({
    "type": "string", "pattern": FIELD_PATTERN,
    "examples": ["subject", "requester.domain", "custom_fields.plan"],
    "description": "One of " + ", ".join(STATIC_FIELDS) + ", or `custom_fields.KEY`."})]
Scalar = Annotated[Any, AfterValidator(_scalar), WithJsonSchema({
    "anyOf": [{"type": "string", "maxLength": MAX_TEXT_VALUE}, {"type": "number"},
              {"type": "boolean"}]})]


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: FieldName


class Equals(_Condition):
    """`eq` / `ne`: equal (strings ignoring case) or not."""

    op: Literal["eq", "ne"]
    value: Scalar


class Compare(_Condition):
    """`gt gte lt lte`: numbers, priorities (by rank), dates and datetimes (ISO 8601)."""

    op: Literal["gt", "gte", "lt", "lte"]
    value: Scalar


class TextMatch(_Condition):
    """`contains` / `not_contains` (a substring; for tags: has the tag), `starts_with`,
    `ends_with`; ignoring case."""

    op: Literal["contains", "not_contains", "starts_with", "ends_with"]
    value: Annotated[Text, Field(min_length=1, max_length=1000)]


class Matches(_Condition):
    """`matches`: an RE2 regular expression found anywhere in the text, ignoring case."""

    op: Literal["matches"]
    value: Annotated[Text, Field(min_length=1, max_length=MAX_PATTERN,
                                 examples=[r"^(re|fwd?):"])]

    @field_validator("value")
    @classmethod
    def _compiles(cls, value: str) -> str:
        error = pattern_error(value)
        if error is not None:
            raise ValueError(f"not a valid RE2 regular expression: {error}")
        return value


class InList(_Condition):
    """`in` / `not_in`: equal to one of the values (for tags: carries any of them) or none."""

    op: Literal["in", "not_in"]
    value: list[Scalar] = Field(min_length=1, max_length=100)


class Presence(_Condition):
    """`is_empty` / `is_not_empty`: no value (null, blank text, no tags) or some value."""

    op: Literal["is_empty", "is_not_empty"]
    value: None = Field(None, description="Not used.")


Condition = Annotated[Equals | Compare | TextMatch | Matches | InList | Presence,
                      Field(discriminator="op")]


class Conditions(BaseModel):
    """`all` must all hold and at least one of `any` (when given); none at all: every ticket."""

    model_config = ConfigDict(extra="forbid")

    all: list[Condition] = Field(default_factory=list, max_length=50)
    any: list[Condition] = Field(default_factory=list, max_length=50)


# --- save time: each condition against its field's type --------------------------------------

class Kind(StrEnum):
    text = "text"
    choice = "choice"
    priority = "priority"
    number = "number"
    list = "list"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"


OPS: dict[Kind, frozenset[str]] = {
    Kind.text: frozenset({"eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with",
                          "ends_with", "matches"}),
    Kind.choice: frozenset({"eq", "ne", "in", "not_in"}),
    Kind.priority: frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"}),
    Kind.number: frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"}),
    Kind.list: frozenset({"contains", "not_contains", "in", "not_in"}),
    Kind.boolean: frozenset({"eq", "ne"}),
    Kind.date: frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"}),
    Kind.datetime: frozenset({"eq", "ne", "gt", "gte", "lt", "lte"}),
}
PRESENCE = frozenset({"is_empty", "is_not_empty"})


class FieldInfo(BaseModel):
    kind: Kind
    choices: tuple[str, ...] | None = None  # allowed values (choice, priority, list options)
    minimum: int | None = None
    maximum: int | None = None
    integer: bool = False


STATIC: dict[str, FieldInfo] = {
    **{f: FieldInfo(kind=Kind.text) for f in ("subject", "description", "type",
                                              "requester.email", "requester.domain")},
    "status": FieldInfo(kind=Kind.choice, choices=tuple(s.value for s in TicketStatus)),
    "source": FieldInfo(kind=Kind.choice, choices=SOURCES),
    "priority": FieldInfo(kind=Kind.priority, choices=tuple(PRIORITY_RANK)),
    "organization_id": FieldInfo(kind=Kind.number, integer=True, minimum=1),
    "form_id": FieldInfo(kind=Kind.number, integer=True, minimum=1),
    "tags": FieldInfo(kind=Kind.list),
    "created.weekday": FieldInfo(kind=Kind.number, integer=True, minimum=0, maximum=6),
    "created.hour": FieldInfo(kind=Kind.number, integer=True, minimum=0, maximum=23),
}


def custom_info(spec: FieldSpec) -> FieldInfo:
    t = spec.type
    options = tuple(o.value for o in spec.options or ())
    if t is FieldType.select:
        return FieldInfo(kind=Kind.choice, choices=options)
    if t is FieldType.multiselect:
        return FieldInfo(kind=Kind.list, choices=options)
    if t in (FieldType.integer, FieldType.decimal):
        return FieldInfo(kind=Kind.number, integer=t is FieldType.integer)
    if t is FieldType.checkbox:
        return FieldInfo(kind=Kind.boolean)
    if t is FieldType.date:
        return FieldInfo(kind=Kind.date)
    if t is FieldType.datetime:
        return FieldInfo(kind=Kind.datetime)
    return FieldInfo(kind=Kind.text)


def field_info(name: str, specs: Mapping[str, FieldSpec]) -> FieldInfo | None:
    if name.startswith(CUSTOM_PREFIX):
        spec = specs.get(name.removeprefix(CUSTOM_PREFIX))
        return custom_info(spec) if spec is not None else None
    return STATIC.get(name)


def check_conditions(conditions: Conditions, specs: Mapping[str, FieldSpec],
                     loc: Sequence[str | int]) -> list[dict[str, Any]]:
    """Errors (with their `loc`) of conditions whose op or value does not fit the field's type;
    `specs` are the desk's ticket fields by key."""
    errors: list[dict[str, Any]] = []
    for group in ("all", "any"):
        for i, condition in enumerate(getattr(conditions, group)):
            where = [*loc, group, i]
            info = field_info(condition.field, specs)
            if info is None:
                errors.append(_error([*where, "field"], "no such ticket field is defined "
                                     "in this desk", "unknown_field"))
                continue
            if condition.op in PRESENCE:
                continue
            if condition.op not in OPS[info.kind]:
                allowed = " ".join(sorted(OPS[info.kind] | PRESENCE))
                errors.append(_error([*where, "op"], f"`{condition.op}` does not apply to "
                                     f"{condition.field} ({info.kind}); use one of: {allowed}",
                                     "op_not_applicable"))
                continue
            values = condition.value if isinstance(condition.value, list) else [condition.value]
            for j, value in enumerate(values):
                problem = value_error(info, condition.op, value)
                if problem is not None:
                    at = [*where, "value", j] if isinstance(condition.value, list) else [
                        *where, "value"]
                    errors.append(_error(at, problem, "value_type"))
    return errors


def _error(loc: list[str | int], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def value_error(info: FieldInfo, op: str, value: Any) -> str | None:
    """Why `value` cannot be compared with a field of this kind by `op`, or None."""
    kind = info.kind
    if kind in (Kind.text, Kind.list) and info.choices is None:
        return None if isinstance(value, str) else "must be a string"
    if kind in (Kind.choice, Kind.priority, Kind.list):
        folded = {c.casefold() for c in info.choices or ()}
        if not isinstance(value, str) or value.casefold() not in folded:
            return f"must be one of: {', '.join(info.choices or ())}"
        return None
    if kind is Kind.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if info.integer and not (isinstance(value, int) or value.is_integer()):
            return "must be an integer"
        if info.minimum is not None and value < info.minimum:
            return f"must be at least {info.minimum}"
        if info.maximum is not None and value > info.maximum:
            return f"must be at most {info.maximum}"
        return None
    if kind is Kind.boolean:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is Kind.date:
        return None if isinstance(value, str) and _date(value) is not None else (
            "must be a date (YYYY-MM-DD)")
    # datetime
    parsed = _datetime(value) if isinstance(value, str) else None
    return None if parsed is not None else "must be a datetime (RFC 3339 with an offset)"


# --- evaluation ----------------------------------------------------------------------------

def local_time(facts: Mapping[str, Any]) -> datetime:
    created: datetime = facts["created_at"]
    try:
        zone = ZoneInfo(facts.get("time_zone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(zone)


def actual(field: str, facts: Mapping[str, Any]) -> Any:
    """The ticket's value of a condition field."""
    if field == "created.weekday":
        return local_time(facts).weekday()
    if field == "created.hour":
        return local_time(facts).hour
    if field.startswith(CUSTOM_PREFIX):
        return (facts.get("custom_fields") or {}).get(field.removeprefix(CUSTOM_PREFIX))
    return facts.get(field)


def conditions_hold(conditions: Conditions, facts: Mapping[str, Any]) -> bool:
    if not all(holds(c, facts) for c in conditions.all):
        return False
    return not conditions.any or any(holds(c, facts) for c in conditions.any)


def holds(condition: Any, facts: Mapping[str, Any]) -> bool:
    """Whether one condition holds for the facts. Never raises on odd data: a value of the
    wrong type simply does not match."""
    value = actual(condition.field, facts)
    op, expected = condition.op, condition.value
    if condition.field == "priority":
        value = PRIORITY_RANK.get(str(value).lower()) if value is not None else None
        expected = ([PRIORITY_RANK.get(str(v).lower()) for v in expected]
                    if isinstance(expected, list) else PRIORITY_RANK.get(str(expected).lower()))
    if op == "is_empty":
        return is_empty(value)
    if op == "is_not_empty":
        return not is_empty(value)
    if op == "eq":
        return equal(value, expected)
    if op == "ne":
        return not equal(value, expected)
    if op in ("in", "not_in"):
        found = any(equal(value, v) for v in expected)
        return found if op == "in" else not found
    if op in ("contains", "not_contains"):
        found = contains(value, expected)
        return found if op == "contains" else not found
    if op == "starts_with":
        return isinstance(value, str) and value.casefold().startswith(expected.casefold())
    if op == "ends_with":
        return isinstance(value, str) and value.casefold().endswith(expected.casefold())
    if op == "matches":
        return isinstance(value, str) and compiled(expected).search(value) is not None
    pair = ordered(value, expected)
    if pair is None:
        return False
    a, b = pair
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op])


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def equal(value: Any, expected: Any) -> bool:
    """Equality ignoring case; a list (tags, multiselect) equals a value it contains."""
    if value is None or expected is None:
        return False
    if isinstance(value, list):
        return any(equal(v, expected) for v in value)
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if isinstance(value, str) and isinstance(expected, str):
        if value.casefold() == expected.casefold():
            return True
        pair = ordered(value, expected)  # the same instant written with another offset
        return pair is not None and pair[0] == pair[1]
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return value == expected
    return False


def contains(value: Any, expected: Any) -> bool:
    if isinstance(value, list):
        return any(equal(v, expected) for v in value)
    if isinstance(value, str) and isinstance(expected, str):
        return expected.casefold() in value.casefold()
    return False


def ordered(value: Any, expected: Any) -> tuple[Any, Any] | None:
    """Two comparable values (numbers, dates, datetimes), or None when they are not."""
    if value is None or expected is None or isinstance(value, bool) or isinstance(expected, bool):
        return None
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return value, expected
    if isinstance(value, str) and isinstance(expected, str):
        d1, d2 = _date(value), _date(expected)
        if d1 is not None and d2 is not None:
            return d1, d2
        t1, t2 = _datetime(value), _datetime(expected)
        if t1 is not None and t2 is not None:
            return t1, t2
    return None


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> Any:
    """The RE2 program of a pattern, case-insensitive; RE2 runs in time linear in the text."""
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = RE2_MAX_MEM
    options.log_errors = False
    return re2.compile(pattern, options)


def pattern_error(pattern: str) -> str | None:
    try:
        compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return reason or "invalid pattern"
    return None
