"""Typed custom fields (app.core.fields): definitions and value validation. Pure, no database."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.fields import (
    FieldError,
    FieldSpec,
    clean_value,
    merged,
    missing_required,
    validate_values,
)


def spec(type_: str, key: str = "f", **kw: Any) -> FieldSpec:
    return FieldSpec(key=key, label=key.title(), type=type_, **kw)


def options(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "label": v.title()} for v in values]


def rejects(field: FieldSpec, value: Any, type_: str, *, from_text: bool = False) -> str:
    """Assert `value` is refused with error type `type_`; return the message."""
    with pytest.raises(FieldError) as caught:
        clean_value(field, value, from_text=from_text)
    assert caught.value.type == type_, caught.value.msg
    return caught.value.msg


# --- definitions ------------------------------------------------------------------------------

def test_spec_with_every_constraint_of_its_type_is_accepted():
    assert spec("text", min_length=1, max_length=5, pattern="[a-z]+").pattern == "[a-z]+"
    assert spec("select", options=options("a", "b")).options[1].value == "b"
    assert spec("date", min="2024-01-01", max="2024-12-31").max == "2024-12-31"


@pytest.mark.parametrize("key", ["Plan", "1plan", "_plan", "plan-type", "", "p" * 65])
def test_spec_key_must_be_a_lower_case_identifier(key):
    with pytest.raises(ValidationError):
        spec("text", key=key)


@pytest.mark.parametrize(("type_", "kw", "message"), [
    ("select", {}, "needs options"),
    ("multiselect", {"options": []}, "needs options"),
    ("select", {"options": options("a", "a")}, "unique"),
    ("text", {"options": options("a")}, "takes no options"),
    ("text", {"min": 1}, "min/max apply"),
    ("checkbox", {"max": 1}, "min/max apply"),
    ("integer", {"min": 10, "max": 1}, "min is greater than max"),
    ("date", {"min": "2024-02-01", "max": "2024-01-01"}, "min is greater than max"),
    ("date", {"min": "someday"}, "min must be a date"),
    ("datetime", {"min": "2024-01-01T00:00:00"}, "min must be a datetime"),  # no offset
    ("integer", {"min": "five"}, "min must be a integer"),
    ("integer", {"min_length": 1}, "apply to text fields"),
    ("select", {"options": options("a"), "pattern": "a"}, "apply to text fields"),
    ("text", {"pattern": "(unclosed"}, "not a valid regular expression"),
    ("text", {"min_length": 5, "max_length": 2}, "min_length is greater than max_length"),
])
def test_inconsistent_spec_is_refused(type_, kw, message):
    with pytest.raises(ValidationError) as caught:
        spec(type_, **kw)
    assert message in str(caught.value)


def test_spec_refuses_unknown_types_and_keys():
    with pytest.raises(ValidationError):
        spec("colour")
    with pytest.raises(ValidationError):
        spec("text", colour="red")


def test_boolean_bounds_are_refused():
    with pytest.raises(ValidationError):
        spec("integer", min=True)


def test_integer_bounds_stay_integers():
    field = spec("integer", min=1, max=10)
    assert field.model_dump(mode="json", exclude_none=True)["min"] == 1
    assert rejects(field, 0, "greater_than_equal") == "must be at least 1"


def test_datetime_bounds_are_normalised_to_iso_strings():
    field = spec("datetime", min="2024-01-01T00:00:00Z")
    assert field.min == "2024-01-01T00:00:00+00:00"


# --- text types -------------------------------------------------------------------------------

def test_text_is_stripped_and_bounded_by_length_and_pattern():
    field = spec("text", min_length=2, max_length=4, pattern="[a-z]+")
    assert clean_value(field, "  abc ") == "abc"
    rejects(field, "a", "string_too_short")
    rejects(field, "abcde", "string_too_long")
    rejects(field, "ab1", "string_pattern_mismatch")


def test_pattern_must_match_the_whole_value():
    rejects(spec("text", pattern="[0-9]{3}"), "1234", "string_pattern_mismatch")


@pytest.mark.parametrize("value", [1, True, ["a"], {"a": 1}])
def test_text_refuses_non_strings(value):
    rejects(spec("textarea"), value, "string_type")


def test_email_field_is_validated_and_lowercased():
    assert clean_value(spec("email"), "Ana@ACME.example") == "ana@acme.example"
    rejects(spec("email"), "not-an-email", "email")


def test_url_field_accepts_http_urls_only():
    assert clean_value(spec("url"), "https://acme.example/x").startswith("https://acme.example")
    rejects(spec("url"), "ftp://acme.example", "url")
    rejects(spec("url"), "acme", "url")


def test_phone_field_accepts_digits_and_separators():
    assert clean_value(spec("phone"), "+49 (30) 123-456") == "+49 (30) 123-456"
    rejects(spec("phone"), "call me", "phone")


# --- checkbox ---------------------------------------------------------------------------------

def test_checkbox_takes_booleans_only_from_json():
    assert clean_value(spec("checkbox"), False) is False
    rejects(spec("checkbox"), "true", "bool_type")
    rejects(spec("checkbox"), 1, "bool_type")


@pytest.mark.parametrize(("cell", "expected"), [
    ("true", True), ("Yes", True), ("1", True), ("false", False), ("NO", False), ("0", False),
])
def test_checkbox_parses_csv_cells(cell, expected):
    assert clean_value(spec("checkbox"), cell, from_text=True) is expected


def test_checkbox_refuses_other_csv_cells():
    rejects(spec("checkbox"), "maybe", "bool_type", from_text=True)


# --- numbers ----------------------------------------------------------------------------------

def test_integer_accepts_integral_numbers_only():
    assert clean_value(spec("integer"), 3) == 3
    assert clean_value(spec("integer"), 3.0) == 3
    assert isinstance(clean_value(spec("integer"), 3.0), int)
    rejects(spec("integer"), 3.5, "int_type")
    rejects(spec("integer"), "3", "int_type")
    rejects(spec("integer"), True, "int_type")


def test_integer_parses_csv_cells():
    assert clean_value(spec("integer"), " 42 ", from_text=True) == 42
    assert clean_value(spec("integer"), "4.0", from_text=True) == 4
    rejects(spec("integer"), "forty", "int_type", from_text=True)
    rejects(spec("integer"), "4.5", "int_type", from_text=True)


def test_integer_outside_64_bits_is_refused():
    assert clean_value(spec("integer"), 2**63 - 1) == 2**63 - 1
    rejects(spec("integer"), 2**63, "int_type")
    rejects(spec("integer"), -(2**63) - 1, "int_type")
    rejects(spec("integer"), "1e400", "int_type", from_text=True)


def test_decimal_accepts_integers_and_floats():
    assert clean_value(spec("decimal"), 1.5) == 1.5
    assert clean_value(spec("decimal"), 2) == 2
    assert clean_value(spec("decimal"), 10**30) == 1e30
    assert clean_value(spec("decimal"), "1e30", from_text=True) == 1e30
    assert clean_value(spec("decimal"), "2.25", from_text=True) == 2.25
    rejects(spec("decimal"), "2.25", "decimal_type")
    rejects(spec("decimal"), False, "decimal_type")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400],
                         ids=["nan", "inf", "-inf", "1e400"])
def test_numbers_must_be_finite(value):
    rejects(spec("decimal"), value, "decimal_type")
    rejects(spec("integer"), value, "int_type")


@pytest.mark.parametrize("cell", ["NaN", "sNaN", "inf", "-Infinity", "1e400"])
def test_non_finite_csv_numbers_are_refused_not_crashed_on(cell):
    rejects(spec("decimal"), cell, "decimal_type", from_text=True)
    rejects(spec("integer"), cell, "int_type", from_text=True)


def test_numbers_respect_min_and_max():
    field = spec("decimal", min=0.5, max=2)
    assert clean_value(field, 0.5) == 0.5
    assert clean_value(field, 2) == 2
    rejects(field, 0.4, "greater_than_equal")
    rejects(field, 2.01, "less_than_equal")


# --- dates ------------------------------------------------------------------------------------

def test_date_is_an_iso_date_within_its_bounds():
    field = spec("date", min="2024-01-01", max="2024-12-31")
    assert clean_value(field, "2024-02-29") == "2024-02-29"
    rejects(field, "2024-02-30", "date_parsing")
    rejects(field, "29/02/2024", "date_parsing")
    rejects(field, "2023-12-31", "greater_than_equal")
    rejects(field, "2025-01-01", "less_than_equal")
    rejects(field, 20240229, "date_type")


def test_datetime_needs_an_offset_and_is_normalised():
    field = spec("datetime")
    assert clean_value(field, "2024-05-01T10:00:00Z") == "2024-05-01T10:00:00+00:00"
    assert clean_value(field, "2024-05-01T12:00:00+02:00") == "2024-05-01T12:00:00+02:00"
    rejects(field, "2024-05-01T10:00:00", "datetime_parsing")


def test_datetime_bounds_compare_instants():
    field = spec("datetime", min="2024-05-01T10:00:00+00:00")
    assert clean_value(field, "2024-05-01T12:00:00+02:00")  # the same instant
    rejects(field, "2024-05-01T11:59:59+02:00", "greater_than_equal")


# --- choices ----------------------------------------------------------------------------------

def test_select_takes_one_known_option_value():
    field = spec("select", options=options("gold", "silver"))
    assert clean_value(field, "gold") == "gold"
    assert "gold, silver" in rejects(field, "bronze", "enum")
    rejects(field, ["gold"], "enum")


def test_multiselect_takes_known_values_and_drops_repeats_in_order():
    field = spec("multiselect", options=options("a", "b", "c"))
    assert clean_value(field, ["c", "a", "c"]) == ["c", "a"]
    assert clean_value(field, []) == []
    assert "x" in rejects(field, ["a", "x"], "enum")
    rejects(field, "a", "list_type")
    rejects(field, [1], "list_type")


def test_multiselect_parses_pipe_separated_csv_cells():
    field = spec("multiselect", options=options("a", "b"))
    assert clean_value(field, " a | b |", from_text=True) == ["a", "b"]


# --- validate_values --------------------------------------------------------------------------

SPECS = [
    spec("select", key="tier", options=options("gold", "silver"), required=True),
    spec("integer", key="seats", min=1),
    spec("text", key="region"),
]


def test_valid_values_are_cleaned_without_errors():
    clean, errors = validate_values(SPECS, {"tier": "gold", "seats": 3.0, "region": " eu "},
                                    ["body", "custom_fields"])
    assert errors == []
    assert clean == {"tier": "gold", "seats": 3, "region": "eu"}


def test_every_bad_field_is_reported_at_once_under_the_location_prefix():
    _, errors = validate_values(SPECS, {"seats": 0, "colour": "red"}, ["body", "custom_fields"])
    assert sorted(map(tuple, (e["loc"] for e in errors))) == [
        ("body", "custom_fields", "colour"),
        ("body", "custom_fields", "seats"),
        ("body", "custom_fields", "tier"),
    ]
    by_key = {e["loc"][-1]: e for e in errors}
    assert by_key["colour"]["type"] == "unknown_field"
    assert by_key["seats"]["type"] == "greater_than_equal"
    assert by_key["tier"]["type"] == "missing"
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)


def test_null_is_a_missing_required_value_on_create():
    _, errors = validate_values(SPECS, {"tier": None}, ["body", "custom_fields"])
    assert errors == [{"loc": ["body", "custom_fields", "tier"], "msg": "is required",
                       "type": "missing"}]


def test_null_clears_an_optional_field():
    clean, errors = validate_values(SPECS, {"tier": "gold", "region": None}, ["x"])
    assert errors == []
    assert clean == {"tier": "gold", "region": None}


def test_partial_update_does_not_need_the_required_fields():
    clean, errors = validate_values(SPECS, {"seats": 2}, ["body", "custom_fields"], partial=True)
    assert (clean, errors) == ({"seats": 2}, [])


def test_partial_update_cannot_clear_a_required_field():
    _, errors = validate_values(SPECS, {"tier": None}, ["body", "custom_fields"], partial=True)
    assert errors == [{"loc": ["body", "custom_fields", "tier"], "msg": "is required",
                       "type": "missing"}]


def test_empty_csv_cell_is_no_value():
    clean, errors = validate_values(SPECS, {"tier": "gold", "seats": "", "region": ""},
                                    ["body", "row", 2], from_text=True)
    assert errors == []
    assert clean == {"tier": "gold", "seats": None, "region": None}
    _, errors = validate_values(SPECS, {"tier": ""}, ["body", "row", 7], from_text=True)
    assert errors == [{"loc": ["body", "row", 7, "tier"], "msg": "is required",
                       "type": "missing"}]


def test_no_definitions_means_no_custom_fields_allowed():
    assert validate_values([], {}, ["body"]) == ({}, [])
    _, errors = validate_values([], {"any": 1}, ["body", "custom_fields"])
    assert errors[0]["loc"] == ["body", "custom_fields", "any"]


# --- merged / missing_required ----------------------------------------------------------------

def test_merged_applies_changes_and_null_removes_keys_without_touching_the_input():
    current = {"tier": "gold", "seats": 3}
    assert merged(current, {"seats": None, "region": "eu", "absent": None}) == {
        "tier": "gold", "region": "eu"}
    assert current == {"tier": "gold", "seats": 3}


def test_missing_required_names_required_fields_without_a_value():
    assert missing_required(SPECS, {"tier": None, "seats": 1}, ["body", "custom_fields"]) == [
        {"loc": ["body", "custom_fields", "tier"], "msg": "is required", "type": "missing"}]
    assert missing_required(SPECS, {"tier": "gold"}, ["x"]) == []
