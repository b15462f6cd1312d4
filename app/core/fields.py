"""Typed fields: the definitions desks give their tickets, customers, organizations and forms,
and the validation of values against them. Pure functions over plain data.

A definition (`FieldSpec`) names a key, a type and constraints; `validate_values()` checks a
`{key: value}` object against a list of them and returns the cleaned values or a list of
errors, each with its location, so an API can answer 422 naming every bad field at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any

import re2
from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from app.core.text import NUL, NUL_MESSAGE, Text

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class FieldType(StrEnum):
    text = "text"
    textarea = "textarea"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    datetime = "datetime"
    checkbox = "checkbox"
    select = "select"
    multiselect = "multiselect"
    email = "email"
    url = "url"
    phone = "phone"


TEXT_TYPES = {FieldType.text, FieldType.textarea, FieldType.email, FieldType.url, FieldType.phone}
NUMBER_TYPES = {FieldType.integer, FieldType.decimal}
TIME_TYPES = {FieldType.date, FieldType.datetime}
CHOICE_TYPES = {FieldType.select, FieldType.multiselect}


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Text = Field(min_length=1, max_length=200, examples=["gold"])
    label: Text = Field(min_length=1, max_length=200, examples=["Gold plan"])


class FieldSpec(BaseModel):
    """One typed field. `min`/`max` bound numbers, dates and datetimes (as ISO strings)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"key": "plan",
         "label": "Plan",
         "type": "select",
         "options": [{"value": "free", "label": "Free"}, {"value": "pro", "label": "Pro"}]},
    ]})

    key: str = Field(pattern=KEY_PATTERN, examples=["plan"])
    label: Text = Field(min_length=1, max_length=200, examples=["Plan"])
    type: FieldType
    help: Text = Field("", max_length=1000)
    required: bool = False
    options: list[Option] | None = Field(None, description="select and multiselect only.")
    min: int | float | str | None = None
    max: int | float | str | None = None
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=1)
    pattern: Text | None = Field(None, max_length=500, description="Regular expression (text types).")
    default: Any = Field(None, description="A value of the field's type: forms prefill it, and an "
                         "optional answer left out takes it.")

    @field_validator("min", "max", mode="before")
    @classmethod
    def _not_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number or an ISO 8601 string, not a boolean")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type in CHOICE_TYPES:
            if not self.options:
                raise ValueError(f"a {self.type} field needs options")
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
        elif self.options is not None:
            raise ValueError(f"a {self.type} field takes no options")
        if (self.min is not None or self.max is not None) and self.type not in (
                NUMBER_TYPES | TIME_TYPES):
            raise ValueError("min/max apply to integer, decimal, date and datetime fields")
        for bound in ("min", "max"):
            raw = getattr(self, bound)
            if raw is not None:
                setattr(self, bound, _parse_bound(self.type, raw, bound))
        if self.min is not None and self.max is not None and _bound_value(
                self.type, self.min) > _bound_value(self.type, self.max):
            raise ValueError("min is greater than max")
        if (self.min_length is not None or self.max_length is not None
                or self.pattern is not None) and self.type not in TEXT_TYPES:
            raise ValueError("min_length/max_length/pattern apply to text fields")
        if (self.min_length is not None and self.max_length is not None
                and self.min_length > self.max_length):
            raise ValueError("min_length is greater than max_length")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        if self.default is not None:
            try:
                self.default = clean_value(self, self.default)
            except FieldError as exc:
                raise ValueError(f"default {exc.msg}") from exc
        return self


def _parse_bound(type_: FieldType, raw: int | float | str, name: str) -> int | float | str:
    try:
        value = _bound_value(type_, raw)
    except (ValueError, TypeError, ValidationError) as exc:
        raise ValueError(f"{name} must be a {type_} value") from exc
    return value.isoformat() if isinstance(value, date | datetime) else raw


def _bound_value(type_: FieldType, raw: int | float | str) -> Any:
    if type_ in NUMBER_TYPES:
        if isinstance(raw, str):
            raise ValueError("not a number")
        return raw
    if type_ is FieldType.date:
        return date.fromisoformat(str(raw))
    return TypeAdapter(AwareDatetime).validate_python(raw)


class FieldError(ValueError):
    def __init__(self, msg: str, type_: str = "value_error") -> None:
        super().__init__(msg)
        self.msg, self.type = msg, type_


_EMAIL = TypeAdapter(EmailStr)
_URL = TypeAdapter(AnyHttpUrl)
_DATETIME = TypeAdapter(AwareDatetime)
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,32}$")


@lru_cache(maxsize=512)
def matcher(pattern: str) -> Any:
    """The compiled pattern: RE2 (linear time, so an answer cannot make a pattern backtrack for
    minutes) when it can express it, else Python's `re` (lookarounds, backreferences)."""
    try:
        return re2.compile(pattern)
    except re2.error:
        return re.compile(pattern)


def clean_value(spec: FieldSpec, value: Any, *, from_text: bool = False) -> Any:
    """The stored (JSON) form of one value, or FieldError. `from_text` parses CSV cells."""
    t = spec.type
    if t in TEXT_TYPES:
        if not isinstance(value, str):
            raise FieldError("must be a string", "string_type")
        if NUL in value:
            raise FieldError(NUL_MESSAGE, "string_nul")
        value = value.strip()
        if spec.min_length is not None and len(value) < spec.min_length:
            raise FieldError(f"must have at least {spec.min_length} characters", "string_too_short")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise FieldError(f"must have at most {spec.max_length} characters", "string_too_long")
        if spec.pattern is not None and not matcher(spec.pattern).fullmatch(value):
            raise FieldError(f"must match {spec.pattern}", "string_pattern_mismatch")
        if t is FieldType.email:
            try:
                return _EMAIL.validate_python(value).lower()
            except ValidationError as exc:
                raise FieldError("must be an email address", "email") from exc
        if t is FieldType.url:
            try:
                return str(_URL.validate_python(value))
            except ValidationError as exc:
                raise FieldError("must be an http(s) URL", "url") from exc
        if t is FieldType.phone and not _PHONE.match(value):
            raise FieldError("must be a phone number", "phone")
        return value
    if t is FieldType.checkbox:
        if from_text and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"true", "yes", "1"}:
                return True
            if lowered in {"false", "no", "0"}:
                return False
        if not isinstance(value, bool):
            raise FieldError("must be true or false", "bool_type")
        return value
    if t in NUMBER_TYPES:
        number = _number(t, value, from_text)
        _check_range(spec, number)
        return number
    if t in TIME_TYPES:
        return _time(spec, value)
    # select / multiselect
    allowed = {o.value for o in spec.options or []}
    if t is FieldType.select:
        if not isinstance(value, str) or value not in allowed:
            raise FieldError(f"must be one of: {', '.join(sorted(allowed))}", "enum")
        return value
    if from_text and isinstance(value, str):
        value = [v.strip() for v in value.split("|") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError("must be a list of option values", "list_type")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise FieldError(f"unknown options: {', '.join(unknown)}", "enum")
    return list(dict.fromkeys(value))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _number(t: FieldType, value: Any, from_text: bool) -> int | float:
    """A finite number (integers within 64 bits): JSON storage and comparisons stay sane."""
    integer = t is FieldType.integer
    error = FieldError("must be an integer" if integer else "must be a number",
                       "int_type" if integer else "decimal_type")
    if from_text and isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation as exc:
            raise error from exc
        if not parsed.is_finite():
            raise error
        integral = parsed == parsed.to_integral_value() and abs(parsed) <= INT64_MAX
        value = int(parsed) if integral else float(parsed)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error
    number: int | float = value
    if isinstance(number, float):
        if not math.isfinite(number):
            raise error
        if integer:
            if not number.is_integer():
                raise error
            number = int(number)
    if isinstance(number, int) and not INT64_MIN <= number <= INT64_MAX:
        if integer:
            raise FieldError("is out of range (64-bit integers)", error.type)
        try:
            return float(number)  # a decimal: as large as a float goes
        except OverflowError as exc:
            raise error from exc
    return number


def _check_range(spec: FieldSpec, value: Any) -> None:
    low = _bound_value(spec.type, spec.min) if spec.min is not None else None
    high = _bound_value(spec.type, spec.max) if spec.max is not None else None
    if low is not None and value < low:
        raise FieldError(f"must be at least {spec.min}", "greater_than_equal")
    if high is not None and value > high:
        raise FieldError(f"must be at most {spec.max}", "less_than_equal")


def _time(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"must be an ISO 8601 {spec.type} string", f"{spec.type}_type")
    try:
        parsed: date | datetime
        if spec.type is FieldType.date:
            parsed = date.fromisoformat(value.strip())
        else:
            parsed = _DATETIME.validate_python(value.strip())
    except (ValueError, ValidationError) as exc:
        hint = "YYYY-MM-DD" if spec.type is FieldType.date else "RFC 3339 with an offset"
        raise FieldError(f"must be a {spec.type} ({hint})", f"{spec.type}_parsing") from exc
    _check_range(spec, parsed)
    return parsed.isoformat()


def validate_values(
    specs: Sequence[FieldSpec],
    values: Mapping[str, Any],
    loc: Sequence[str | int],
    *,
    partial: bool = False,
    from_text: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Clean `values` against `specs`. `partial` (PATCH) does not ask for required fields that are
    absent; a null value clears a field, except a required one. Returns (clean values, errors
    with `loc` under the given prefix)."""
    by_key = {s.key: s for s in specs}
    clean: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, value in values.items():
        spec = by_key.get(key)
        if spec is None:
            errors.append({"loc": [*loc, key], "msg": "no such field is defined",
                           "type": "unknown_field"})
            continue
        if value is None or (from_text and value == ""):
            if spec.required:
                errors.append({"loc": [*loc, key], "msg": "is required", "type": "missing"})
            else:
                clean[key] = None
            continue
        try:
            clean[key] = clean_value(spec, value, from_text=from_text)
        except FieldError as exc:
            errors.append({"loc": [*loc, key], "msg": exc.msg, "type": exc.type})
    if not partial:
        for spec in specs:
            if spec.required and spec.key not in values:
                errors.append({"loc": [*loc, spec.key], "msg": "is required", "type": "missing"})
    return clean, errors


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply cleaned changes to stored values: null removes a key."""
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def missing_required(specs: Iterable[FieldSpec], values: Mapping[str, Any],
                     loc: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{"loc": [*loc, s.key], "msg": "is required", "type": "missing"}
            for s in specs if s.required and values.get(s.key) is None]
