"""`GET /v1/forms/{id}/schema`: the submission as JSON Schema 2020-12. For every field type, a
payload valid under the schema is accepted by the public endpoint and one invalid under it is
refused at the field's location."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from app.core.fields import FieldSpec
from app.forms.jsonschema import DIALECT, submission_schema
from tests.customers.helpers import error_locs, ok
from tests.forms.conftest import contact_fields

EMAIL = {"key": "email", "label": "Email", "type": "email", "required": True,
         "maps_to": "requester.email"}
OPTIONS = [{"value": "a", "label": "Option A"}, {"value": "b", "label": "Option B"}]

# type: (field definition, answers valid under the schema, answers invalid under it)
CASES: dict[str, tuple[dict[str, Any], list[Any], list[Any]]] = {
    "text": ({"min_length": 2, "max_length": 5, "pattern": "[a-z]+"},
             ["ab", "abcde"], ["a", "abcdef", "ab1", 5]),
    "textarea": ({"max_length": 12}, ["two\nlines"], ["x" * 13, ["x"]]),
    "email": ({}, ["bo@example.com"], ["not-an-email", 3]),
    "phone": ({}, ["+1 (555) 010-0100", "020 7946 0958"], ["call me", "12", 5550100]),
    "url": ({}, ["https://example.com/x?y=1", "http://example.org"],
            ["ftp://example.com", "example.com", True]),
    "integer": ({"min": 1, "max": 10}, [1, 10, 7.0], [0, 11, 2.5, "3", True]),
    "decimal": ({"min": 0.5, "max": 9.5}, [0.5, 3, 9.5], [0.4, 10, "1.5", False]),
    "date": ({}, ["2024-06-01"], ["2024-13-01", "June", 20240601]),
    "datetime": ({}, ["2024-06-01T10:00:00+02:00", "2024-06-01T08:00:00Z"],
                 ["2024-06-01T10:00:00", "tomorrow", 1717228800]),
    "checkbox": ({}, [True, False], ["yes", 1]),
    "select": ({"options": OPTIONS}, ["a", "b"], ["z", ["a"], 1]),
    "multiselect": ({"options": OPTIONS}, [["a", "b"], ["b"], []], [["z"], "a", [1]]),
}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("type_", sorted(CASES))
async def test_every_field_type_round_trips_through_its_schema(client, admin_headers, desk,
                                                                new_form, submit, problem, type_):
    constraints, valid, invalid = CASES[type_]
    field = {"key": "answer", "label": "Answer", "type": type_, "required": True, **constraints}
    form = await new_form(desk.id, fields=[EMAIL, field])
    schema = ok(await client.get(f"/v1/forms/{form['id']}/schema", headers=admin_headers))
    check = validator(schema)
    for value in valid:
        payload = {"email": "bo@example.com", "answer": value}
        assert check.is_valid(payload), (value, list(check.iter_errors(payload)))
        created = ok(await submit(form["slug"], payload), 201)
        assert isinstance(created["number"], int)
    for value in invalid:
        payload = {"email": "bo@example.com", "answer": value}
        assert not check.is_valid(payload), value
        body = problem(await submit(form["slug"], payload), 422)
        assert error_locs(body) == [["body", "answer"]], value


async def test_required_unknown_and_null_answers_round_trip(client, admin_headers, desk, new_form,
                                                            submit, problem):
    form = await new_form(desk.id, fields=contact_fields())
    check = validator(ok(await client.get(f"/v1/forms/{form['id']}/schema",
                                          headers=admin_headers)))
    cases = [
        ({"email": "bo@example.com", "subject": "Hi"}, None),
        ({"email": "bo@example.com", "subject": "Hi", "name": None, "message": None}, None),
        ({"email": "bo@example.com"}, ["body", "subject"]),
        ({"email": "bo@example.com", "subject": None}, ["body", "subject"]),
        ({"email": "bo@example.com", "subject": "Hi", "colour": "red"}, ["body", "colour"]),
    ]
    for payload, loc in cases:
        assert check.is_valid(payload) is (loc is None), payload
        response = await submit(form["slug"], payload)
        if loc is None:
            ok(response, 201)
        else:
            assert error_locs(problem(response, 422)) == [loc]


async def test_schema_carries_titles_help_formats_bounds_options_and_defaults(client,
                                                                              admin_headers,
                                                                              desk, new_form):
    form = await new_form(desk.id, name="Contact us", description="We reply fast", fields=[
        EMAIL,
        {"key": "seats", "label": "Seats", "type": "integer", "help": "How many", "min": 1,
         "max": 500, "default": 5},
        {"key": "plan", "label": "Plan", "type": "select", "options": OPTIONS},
        {"key": "when", "label": "When", "type": "date", "min": "2024-01-01"},
    ])
    schema = ok(await client.get(f"/v1/forms/{form['id']}/schema", headers=admin_headers))
    assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert (schema["title"], schema["description"]) == ("Contact us", "We reply fast")
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["email"]
    props = schema["properties"]
    assert props["email"] == {"title": "Email", "type": "string", "format": "email",
                              "x-field-type": "email"}
    assert props["seats"]["description"] == "How many"
    assert (props["seats"]["minimum"], props["seats"]["maximum"]) == (1, 500)
    assert props["seats"]["default"] == 5 and props["seats"]["type"] == ["integer", "null"]
    assert props["plan"]["enum"] == ["a", "b", None]
    assert {"const": "a", "title": "Option A"} in props["plan"]["oneOf"]
    assert props["when"]["format"] == "date" and props["when"]["formatMinimum"] == "2024-01-01"


def test_pattern_is_anchored_like_the_api_matches_it():
    spec = FieldSpec(key="code", label="Code", type="text", pattern="[A-Z]{2}", required=True)
    check = validator(submission_schema("T", "", [spec]))
    assert check.is_valid({"code": "AB"})
    assert not check.is_valid({"code": "xABx"})  # JSON Schema patterns search; ours must match

