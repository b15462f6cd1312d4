"""Conditions, pure: every op over every kind of field, and the save-time type checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from app.core.fields import FieldSpec
from app.routing.conditions import Condition, Conditions, check_conditions, conditions_hold, holds

CONDITION = TypeAdapter(Condition)


def facts(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1, "desk_id": 1, "subject": "Printer on FIRE", "description": "Smoke everywhere",
        "requester.email": "ana@acme.example", "requester.domain": "acme.example",
        "organization_id": 7, "source": "email", "form_id": None, "priority": "high",
        "status": "new", "type": None, "tags": ["vip", "hardware"],
        "custom_fields": {"plan": "gold", "seats": 12, "renewal": "2026-03-01", "trial": False,
                          "modules": ["crm", "voip"], "notes": "Call before noon",
                          "since": "2025-01-01T09:00:00+01:00"},
        "assignee_id": None, "team_id": None,
        # Wednesday 2026-01-07 23:30 UTC = Thursday 00:30 in Berlin
        "created_at": datetime(2026, 1, 7, 23, 30, tzinfo=UTC), "time_zone": "UTC",
    }
    base.update(changes)
    return base


def cond(field: str, op: str, value: Any = None) -> Any:
    return CONDITION.validate_python({"field": field, "op": op, "value": value})


CASES = [
    # text: case-insensitive everywhere
    ("subject", "eq", "printer on fire", {}, True),
    ("subject", "eq", "printer", {}, False),
    ("subject", "ne", "PRINTER ON FIRE", {}, False),
    ("subject", "ne", "other", {}, True),
    ("subject", "contains", "fire", {}, True),
    ("subject", "contains", "water", {}, False),
    ("subject", "not_contains", "FIRE", {}, False),
    ("subject", "not_contains", "water", {}, True),
    ("subject", "starts_with", "PRINTER", {}, True),
    ("subject", "starts_with", "fire", {}, False),
    ("subject", "ends_with", "Fire", {}, True),
    ("subject", "ends_with", "printer", {}, False),
    ("subject", "matches", r"^printer\s+on", {}, True),
    ("subject", "matches", r"^fire", {}, False),
    ("subject", "in", ["x", "PRINTER ON FIRE"], {}, True),
    ("subject", "in", ["x", "y"], {}, False),
    ("subject", "not_in", ["x", "printer on fire"], {}, False),
    ("subject", "not_in", ["x", "y"], {}, True),
    ("subject", "is_empty", None, {}, False),
    ("subject", "is_not_empty", None, {}, True),
    ("description", "is_empty", None, {"description": "   "}, True),
    ("description", "contains", "SMOKE", {}, True),
    ("requester.email", "eq", "ANA@acme.example", {}, True),
    ("requester.domain", "ends_with", ".EXAMPLE", {}, True),
    ("requester.domain", "is_empty", None, {"requester.domain": None}, True),
    ("requester.email", "contains", "ana", {"requester.email": None}, False),
    ("requester.email", "not_contains", "ana", {"requester.email": None}, True),
    ("requester.email", "matches", "ana", {"requester.email": None}, False),
    ("type", "eq", "incident", {}, False),
    ("type", "ne", "incident", {}, True),
    ("type", "is_empty", None, {}, True),
    ("type", "is_not_empty", None, {"type": "Incident"}, True),
    ("type", "eq", "INCIDENT", {"type": "incident"}, True),
    # choice
    ("status", "eq", "NEW", {}, True),
    ("status", "ne", "new", {}, False),
    ("status", "in", ["open", "new"], {}, True),
    ("status", "not_in", ["open", "pending"], {}, True),
    ("source", "eq", "email", {}, True),
    ("source", "in", ["api", "web_form"], {}, False),
    # priority: by rank
    ("priority", "eq", "high", {}, True),
    ("priority", "ne", "High", {}, False),
    ("priority", "gt", "normal", {}, True),
    ("priority", "gt", "high", {}, False),
    ("priority", "gte", "high", {}, True),
    ("priority", "lt", "urgent", {}, True),
    ("priority", "lt", "high", {}, False),
    ("priority", "lte", "low", {}, False),
    ("priority", "lte", "high", {}, True),
    ("priority", "in", ["low", "high"], {}, True),
    ("priority", "not_in", ["low", "high"], {}, False),
    # numbers (ids)
    ("organization_id", "eq", 7, {}, True),
    ("organization_id", "ne", 7, {}, False),
    ("organization_id", "in", [1, 7], {}, True),
    ("organization_id", "not_in", [1, 2], {}, True),
    ("organization_id", "gt", 6, {}, True),
    ("organization_id", "gte", 8, {}, False),
    ("organization_id", "lt", 8, {}, True),
    ("organization_id", "lte", 6, {}, False),
    ("organization_id", "is_not_empty", None, {}, True),
    ("form_id", "is_empty", None, {}, True),
    ("form_id", "eq", 3, {}, False),
    ("form_id", "ne", 3, {}, True),
    ("form_id", "gt", 0 + 1, {}, False),
    # tags: contains = has, in = any of, not_in = none of
    ("tags", "contains", "VIP", {}, True),
    ("tags", "contains", "vi", {}, False),
    ("tags", "not_contains", "vip", {}, False),
    ("tags", "not_contains", "billing", {}, True),
    ("tags", "in", ["billing", "hardware"], {}, True),
    ("tags", "in", ["billing"], {}, False),
    ("tags", "not_in", ["billing", "refund"], {}, True),
    ("tags", "not_in", ["billing", "vip"], {}, False),
    ("tags", "is_empty", None, {}, False),
    ("tags", "is_empty", None, {"tags": []}, True),
    ("tags", "is_not_empty", None, {}, True),
    # custom fields: text, number, date, datetime, checkbox, select, multiselect
    ("custom_fields.notes", "contains", "NOON", {}, True),
    ("custom_fields.notes", "matches", r"before \w+$", {}, True),
    ("custom_fields.plan", "eq", "Gold", {}, True),
    ("custom_fields.plan", "in", ["silver", "bronze"], {}, False),
    ("custom_fields.seats", "gt", 10, {}, True),
    ("custom_fields.seats", "lte", 11.5, {}, False),
    ("custom_fields.seats", "eq", 12, {}, True),
    ("custom_fields.renewal", "lt", "2026-04-01", {}, True),
    ("custom_fields.renewal", "gte", "2026-03-02", {}, False),
    ("custom_fields.renewal", "eq", "2026-03-01", {}, True),
    ("custom_fields.since", "eq", "2025-01-01T08:00:00Z", {}, True),
    ("custom_fields.since", "lt", "2025-01-01T08:30:00+00:00", {}, True),
    ("custom_fields.since", "gt", "2025-01-01T08:30:00+00:00", {}, False),
    ("custom_fields.trial", "eq", False, {}, True),
    ("custom_fields.trial", "ne", False, {}, False),
    ("custom_fields.modules", "contains", "CRM", {}, True),
    ("custom_fields.modules", "in", ["erp", "voip"], {}, True),
    ("custom_fields.modules", "not_in", ["erp"], {}, True),
    ("custom_fields.absent", "is_empty", None, {}, True),
    ("custom_fields.absent", "eq", "x", {}, False),
    ("custom_fields.absent", "ne", "x", {}, True),
    ("custom_fields.absent", "gt", 1, {}, False),
    ("custom_fields.absent", "not_in", ["x"], {}, True),
    # created weekday/hour, in the desk's time zone
    ("created.weekday", "eq", 2, {}, True),
    ("created.hour", "eq", 23, {}, True),
    ("created.weekday", "eq", 3, {"time_zone": "Europe/Berlin"}, True),
    ("created.hour", "eq", 0, {"time_zone": "Europe/Berlin"}, True),
    ("created.hour", "lt", 9, {"time_zone": "Europe/Berlin"}, True),
    ("created.hour", "gte", 9, {"time_zone": "Europe/Berlin"}, False),
    ("created.weekday", "in", [5, 6], {}, False),
    ("created.weekday", "not_in", [5, 6], {}, True),
    ("created.hour", "gt", 22, {"time_zone": "America/New_York"}, False),
    ("created.hour", "eq", 18, {"time_zone": "America/New_York"}, True),
]


@pytest.mark.parametrize(("field", "op", "value", "changes", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]!r}-{bool(c[3])}" for c in CASES])
def test_condition_evaluates_op_over_field(field: str, op: str, value: Any,
                                           changes: dict[str, Any], expected: bool) -> None:
    assert holds(cond(field, op, value), facts(**changes)) is expected


def test_every_op_is_covered_by_the_cases() -> None:
    ops = {c[1] for c in CASES}
    assert ops == {"eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with",
                   "ends_with", "matches", "gt", "gte", "lt", "lte", "is_empty", "is_not_empty"}


def test_matches_uses_linear_time_regex_on_catastrophic_pattern() -> None:
    # Backtracking engines take exponential time here; RE2 answers at once.
    condition = cond("description", "matches", r"^(a+)+$")
    assert holds(condition, facts(description="a" * 50_000 + "b")) is False
    assert holds(condition, facts(description="a" * 50_000)) is True


def test_wrong_typed_ticket_value_does_not_match_instead_of_raising() -> None:
    odd = facts(custom_fields={"seats": "many", "trial": "no"})
    assert holds(cond("custom_fields.seats", "gt", 1), odd) is False
    assert holds(cond("custom_fields.trial", "eq", False), odd) is False
    assert holds(cond("subject", "starts_with", "x"), facts(subject=None)) is False


def test_all_needs_every_condition_and_any_needs_one() -> None:
    rule = Conditions.model_validate({
        "all": [{"field": "status", "op": "eq", "value": "new"},
                {"field": "tags", "op": "contains", "value": "vip"}],
        "any": [{"field": "subject", "op": "contains", "value": "printer"},
                {"field": "subject", "op": "contains", "value": "scanner"}],
    })
    assert conditions_hold(rule, facts())
    assert not conditions_hold(rule, facts(tags=[]))
    assert not conditions_hold(rule, facts(subject="Mouse"))
    assert conditions_hold(rule, facts(subject="Scanner jammed"))


def test_empty_conditions_match_every_ticket() -> None:
    assert conditions_hold(Conditions(), facts())
    assert conditions_hold(Conditions.model_validate({"all": [], "any": []}), facts(tags=[]))


# --- shapes: refused by the model (422 at the request) --------------------------------------

@pytest.mark.parametrize(("body", "loc"), [
    ({"field": "subject", "op": "in", "value": "x"}, ("in", "value")),
    ({"field": "subject", "op": "in", "value": []}, ("in", "value")),
    ({"field": "subject", "op": "in", "value": ["a", None]}, ("in", "value", 1)),
    ({"field": "subject", "op": "eq"}, ("eq", "value")),
    ({"field": "subject", "op": "contains", "value": ""}, ("contains", "value")),
    ({"field": "subject", "op": "matches", "value": "(unclosed"}, ("matches", "value")),
    ({"field": "subject", "op": "matches", "value": "(?<=look)behind"}, ("matches", "value")),
    ({"field": "subject", "op": "like", "value": "x"}, ()),
    ({"field": "assignee", "op": "eq", "value": "x"}, ("eq", "field")),
    ({"field": "custom_fields.Bad-Key", "op": "eq", "value": "x"}, ("eq", "field")),
    ({"field": "subject", "op": "is_empty", "value": "x"}, ("is_empty", "value")),
    ({"field": "subject", "op": "eq", "value": {"a": 1}}, ("eq", "value")),
    ({"field": "subject", "op": "eq", "value": "nul\x00"}, ("eq", "value")),
    ({"field": "subject", "op": "eq", "value": "x" * 1001}, ("eq", "value")),
    ({"field": "subject", "op": "eq", "value": "x", "extra": 1}, ("eq", "extra")),
])
def test_malformed_condition_is_refused_at_its_part(body: dict[str, Any],
                                                    loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        CONDITION.validate_python(body)
    assert [e["loc"] for e in caught.value.errors()] == [loc]


def test_unknown_op_names_the_op_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        CONDITION.validate_python({"field": "subject", "op": "like", "value": "x"})
    assert caught.value.errors()[0]["type"] == "union_tag_invalid"


# --- save time: each value against its field's type ------------------------------------------

SPECS = {s.key: s for s in [
    FieldSpec(key="plan", label="Plan", type="select",
              options=[{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "S"}]),
    FieldSpec(key="seats", label="Seats", type="integer"),
    FieldSpec(key="ratio", label="Ratio", type="decimal"),
    FieldSpec(key="renewal", label="Renewal", type="date"),
    FieldSpec(key="since", label="Since", type="datetime"),
    FieldSpec(key="trial", label="Trial", type="checkbox"),
    FieldSpec(key="modules", label="Modules", type="multiselect",
              options=[{"value": "crm", "label": "CRM"}]),
    FieldSpec(key="notes", label="Notes", type="textarea"),
]}


def errors_of(*conditions: dict[str, Any], group: str = "all") -> list[dict[str, Any]]:
    parsed = Conditions.model_validate({group: list(conditions)})
    return check_conditions(parsed, SPECS, ["body", "conditions"])


@pytest.mark.parametrize(("condition", "loc_end", "type_"), [
    ({"field": "subject", "op": "gt", "value": "a"}, ["op"], "op_not_applicable"),
    ({"field": "status", "op": "contains", "value": "ne"}, ["op"], "op_not_applicable"),
    ({"field": "status", "op": "matches", "value": "ne"}, ["op"], "op_not_applicable"),
    ({"field": "tags", "op": "eq", "value": "vip"}, ["op"], "op_not_applicable"),
    ({"field": "tags", "op": "gt", "value": 1}, ["op"], "op_not_applicable"),
    ({"field": "custom_fields.trial", "op": "gt", "value": 1}, ["op"], "op_not_applicable"),
    ({"field": "custom_fields.plan", "op": "starts_with", "value": "g"}, ["op"],
     "op_not_applicable"),
    ({"field": "custom_fields.since", "op": "in", "value": ["2025-01-01T00:00:00Z"]}, ["op"],
     "op_not_applicable"),
    ({"field": "subject", "op": "eq", "value": 3}, ["value"], "value_type"),
    ({"field": "status", "op": "eq", "value": "shelved"}, ["value"], "value_type"),
    ({"field": "source", "op": "eq", "value": "fax"}, ["value"], "value_type"),
    ({"field": "priority", "op": "gt", "value": "medium"}, ["value"], "value_type"),
    ({"field": "priority", "op": "gt", "value": 2}, ["value"], "value_type"),
    ({"field": "priority", "op": "in", "value": ["low", "critical"]}, ["value", 1], "value_type"),
    ({"field": "organization_id", "op": "eq", "value": "7"}, ["value"], "value_type"),
    ({"field": "organization_id", "op": "eq", "value": 1.5}, ["value"], "value_type"),
    ({"field": "organization_id", "op": "eq", "value": True}, ["value"], "value_type"),
    ({"field": "created.weekday", "op": "eq", "value": 7}, ["value"], "value_type"),
    ({"field": "created.weekday", "op": "gte", "value": -1}, ["value"], "value_type"),
    ({"field": "created.hour", "op": "lt", "value": 24}, ["value"], "value_type"),
    ({"field": "created.hour", "op": "in", "value": [1, 25]}, ["value", 1], "value_type"),
    ({"field": "tags", "op": "contains", "value": 5}, None, None),  # shape: a string only
    ({"field": "custom_fields.nope", "op": "eq", "value": "x"}, ["field"], "unknown_field"),
    ({"field": "custom_fields.seats", "op": "gt", "value": "ten"}, ["value"], "value_type"),
    ({"field": "custom_fields.seats", "op": "eq", "value": 1.5}, ["value"], "value_type"),
    ({"field": "custom_fields.renewal", "op": "lt", "value": "March"}, ["value"], "value_type"),
    ({"field": "custom_fields.since", "op": "lt", "value": "2025-01-01T00:00:00"}, ["value"],
     "value_type"),
    ({"field": "custom_fields.trial", "op": "eq", "value": "yes"}, ["value"], "value_type"),
    ({"field": "custom_fields.plan", "op": "eq", "value": "platinum"}, ["value"], "value_type"),
    ({"field": "custom_fields.modules", "op": "contains", "value": "erp"}, ["value"],
     "value_type"),
    ({"field": "custom_fields.notes", "op": "gt", "value": "a"}, ["op"], "op_not_applicable"),
])
def test_condition_not_fitting_field_type_is_refused_with_its_loc(
        condition: dict[str, Any], loc_end: list[Any] | None, type_: str | None) -> None:
    if loc_end is None:
        with pytest.raises(ValidationError):
            errors_of(condition)
        return
    errors = errors_of({"field": "subject", "op": "contains", "value": "ok"}, condition)
    assert errors == [{"loc": ["body", "conditions", "all", 1, *loc_end], "msg": errors[0]["msg"],
                       "type": type_}]
    assert errors[0]["msg"]


@pytest.mark.parametrize("condition", [
    {"field": "subject", "op": "matches", "value": "^re:"},
    {"field": "subject", "op": "is_empty"},
    {"field": "priority", "op": "gte", "value": "HIGH"},
    {"field": "priority", "op": "in", "value": ["low", "urgent"]},
    {"field": "status", "op": "not_in", "value": ["solved", "closed"]},
    {"field": "source", "op": "eq", "value": "web_form"},
    {"field": "organization_id", "op": "eq", "value": 12},
    {"field": "form_id", "op": "is_not_empty"},
    {"field": "tags", "op": "in", "value": ["vip", "gold"]},
    {"field": "created.weekday", "op": "in", "value": [5, 6]},
    {"field": "created.hour", "op": "gte", "value": 18},
    {"field": "requester.domain", "op": "eq", "value": "acme.example"},
    {"field": "custom_fields.plan", "op": "eq", "value": "GOLD"},
    {"field": "custom_fields.seats", "op": "gt", "value": 10},
    {"field": "custom_fields.ratio", "op": "lte", "value": 0.5},
    {"field": "custom_fields.renewal", "op": "lt", "value": "2026-01-01"},
    {"field": "custom_fields.since", "op": "gt", "value": "2026-01-01T00:00:00+02:00"},
    {"field": "custom_fields.trial", "op": "eq", "value": True},
    {"field": "custom_fields.modules", "op": "not_contains", "value": "crm"},
    {"field": "custom_fields.notes", "op": "matches", "value": "urgent|asap"},
    {"field": "custom_fields.anything", "op": "is_empty"},
])
def test_condition_fitting_field_type_is_accepted(condition: dict[str, Any]) -> None:
    if condition["field"] == "custom_fields.anything":
        # presence tests still need the field to exist
        assert errors_of(condition)[0]["type"] == "unknown_field"
        return
    assert errors_of(condition, group="any") == []


def test_errors_name_the_any_group_and_every_bad_condition() -> None:
    errors = errors_of({"field": "subject", "op": "gt", "value": "a"},
                       {"field": "created.hour", "op": "eq", "value": 99}, group="any")
    assert [e["loc"] for e in errors] == [["body", "conditions", "any", 0, "op"],
                                          ["body", "conditions", "any", 1, "value"]]
