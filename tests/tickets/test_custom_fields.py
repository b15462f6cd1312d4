"""Custom ticket fields: `POST/GET /v1/desks/{id}/ticket-fields` and the validation of
`custom_fields` on ticket create and PATCH, one error per bad field at
["body", "custom_fields", KEY]."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.helpers import define_field, error_locs, ok, token_headers
from tests.tickets.conftest import ticket_body

# (spec, a good value, how it is stored, bad values)
CASES: list[tuple[dict[str, Any], Any, Any, list[Any]]] = [
    ({"type": "text", "min_length": 2, "max_length": 5, "pattern": "[A-Z]+"},
     " ABC ", "ABC", ["A", "ABCDEF", "abc", 12, ["AB"], "A\x00B"]),
    ({"type": "textarea", "max_length": 10}, "two\nlines", "two\nlines", ["x" * 11, False]),
    ({"type": "integer", "min": 1, "max": 10}, 10, 10, [0, 11, 5.5, "5", True]),
    ({"type": "integer"}, 4.0, 4, [2**63, "4", []]),
    ({"type": "decimal", "min": 0.5, "max": 2}, 1.25, 1.25, [0.25, 3, "1.5", False]),
    ({"type": "date", "min": "2024-01-01", "max": "2024-12-31"}, "2024-02-29", "2024-02-29",
     ["2024-02-30", "2023-12-31", "2025-01-01", "29/02/2024", 20240229]),
    ({"type": "datetime"}, "2024-03-01T10:00:00+02:00", "2024-03-01T10:00:00+02:00",
     ["2024-03-01T10:00:00", "yesterday", 1700000000]),
    ({"type": "checkbox"}, False, False, ["yes", 1, "true"]),
    ({"type": "select", "options": [{"value": "gold", "label": "Gold"},
                                    {"value": "silver", "label": "Silver"}]},
     "gold", "gold", ["Gold", "platinum", ["gold"]]),
    ({"type": "multiselect", "options": [{"value": "a", "label": "A"},
                                         {"value": "b", "label": "B"}]},
     ["b", "a", "b"], ["b", "a"], ["a", ["c"], [1], {"a": True}]),
    ({"type": "email"}, "Ana@ACME.example", "ana@acme.example", ["not-an-email", 3]),
    ({"type": "url"}, "https://acme.example/x", "https://acme.example/x",
     ["ftp://acme.example", "acme", 3]),
    ({"type": "phone"}, "+49 (30) 123-456", "+49 (30) 123-456", ["call me", "12", 49]),
]
IDS = [f"{spec['type']}-{i}" for i, (spec, *_) in enumerate(CASES)]


async def _field(client, headers, desk_id: int, key: str = "extra", **spec: Any) -> dict:
    return await define_field(client, headers, desk_id, "ticket", key=key, **spec)


# --- definitions -------------------------------------------------------------------------------


async def test_a_ticket_field_is_defined_and_listed(client, factory, admin_headers):
    desk = await factory.desk()
    response = await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers,
                                 json={"key": "plan", "label": "Plan", "type": "select",
                                       "required": True,
                                       "options": [{"value": "gold", "label": "Gold"}]})
    created = ok(response, 201)
    assert response.headers["Location"] == f"/v1/desks/{desk.id}/ticket-fields/plan"
    assert {k: created[k] for k in ("key", "label", "type", "required", "desk_id")} == {
        "key": "plan", "label": "Plan", "type": "select", "required": True, "desk_id": desk.id}
    listed = ok(await client.get(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers))
    assert [f["key"] for f in listed["items"]] == ["plan"]


async def test_a_key_defined_twice_is_409(client, factory, admin_headers, problem):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, type="text")
    problem(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers,
                              json={"key": "extra", "label": "Again", "type": "integer"}), 409)


@pytest.mark.parametrize(("spec", "loc"), [
    ({"key": "Bad Key", "label": "x", "type": "text"}, ["body", "key"]),
    ({"key": "k", "label": "x", "type": "colour"}, ["body", "type"]),
    ({"key": "k", "label": "x", "type": "select"}, ["body"]),
    ({"key": "k", "label": "x", "type": "text", "min": 1}, ["body"]),
    ({"key": "k", "label": "x", "type": "text", "pattern": "("}, ["body"]),
])
async def test_an_invalid_definition_is_422(client, factory, admin_headers, problem, spec, loc):
    desk = await factory.desk()
    body = problem(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers,
                                     json=spec), 422)
    assert error_locs(body) == [loc]


async def test_defining_ticket_fields_needs_desks_write(client, factory, problem):
    desk = await factory.desk()
    headers = await token_headers(factory, ["tickets:write"], [desk.id])
    problem(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=headers,
                              json={"key": "k", "label": "K", "type": "text"}), 403)


# --- values on create and PATCH ----------------------------------------------------------------


@pytest.mark.parametrize(("spec", "good", "stored", "bad"), CASES, ids=IDS)
async def test_each_field_type_is_cleaned_on_create(client, factory, admin_headers, new_ticket,
                                                    get_ticket, spec, good, stored, bad):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, **spec)
    ticket = await new_ticket(desk.id, custom_fields={"extra": good})
    assert ticket["custom_fields"] == {"extra": stored}
    assert (await get_ticket(ticket["id"]))["custom_fields"] == {"extra": stored}


@pytest.mark.parametrize(("spec", "good", "stored", "bad"), CASES, ids=IDS)
async def test_each_field_type_refuses_bad_values_on_create_at_its_key(
        client, factory, admin_headers, problem, spec, good, stored, bad):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, **spec)
    for value in bad:
        body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
            desk.id, custom_fields={"extra": value})), 422)
        assert error_locs(body) == [["body", "custom_fields", "extra"]], value


@pytest.mark.parametrize(("spec", "good", "stored", "bad"), CASES, ids=IDS)
async def test_each_field_type_is_validated_on_patch_at_its_key(client, factory, admin_headers,
                                                                new_ticket, patch_ticket,
                                                                get_ticket, problem, spec, good,
                                                                stored, bad):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, **spec)
    ticket = await new_ticket(desk.id)
    for value in bad:
        body = problem(await patch_ticket(ticket["id"], custom_fields={"extra": value}), 422)
        assert error_locs(body) == [["body", "custom_fields", "extra"]], value
    assert await get_ticket(ticket["id"]) == ticket
    changed = ok(await patch_ticket(ticket["id"], custom_fields={"extra": good}))
    assert changed["custom_fields"] == {"extra": stored}


async def test_every_bad_field_is_named_at_once(client, factory, admin_headers, problem):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, "size", type="integer")
    await _field(client, admin_headers, desk.id, "vip", type="checkbox")
    body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
        desk.id, custom_fields={"size": "big", "vip": "no", "colour": "red"})), 422)
    assert sorted(error_locs(body)) == [["body", "custom_fields", "colour"],
                                        ["body", "custom_fields", "size"],
                                        ["body", "custom_fields", "vip"]]


async def test_a_required_field_is_needed_on_create(client, factory, admin_headers, problem,
                                                    new_ticket):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, "plan", type="text", required=True)
    for custom in ({}, {"plan": None}):
        body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
            desk.id, custom_fields=custom)), 422)
        assert error_locs(body) == [["body", "custom_fields", "plan"]]
        assert body["errors"][0]["type"] == "missing"
    assert (await new_ticket(desk.id, custom_fields={"plan": "gold"}))["custom_fields"] == {
        "plan": "gold"}


async def test_a_required_field_is_not_asked_for_by_a_partial_patch(client, factory,
                                                                    admin_headers, new_ticket,
                                                                    patch_ticket, problem):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, "note", type="text")
    ticket = await new_ticket(desk.id, custom_fields={"note": "x"})
    await _field(client, admin_headers, desk.id, "plan", type="text", required=True)
    assert ok(await patch_ticket(ticket["id"], status="open"))["status"] == "open"
    changed = ok(await patch_ticket(ticket["id"], custom_fields={"note": "y"}))
    assert changed["custom_fields"] == {"note": "y"}
    body = problem(await patch_ticket(ticket["id"], custom_fields={"plan": None}), 422)
    assert error_locs(body) == [["body", "custom_fields", "plan"]]


async def test_an_unknown_key_is_422_on_create_and_patch(client, factory, admin_headers,
                                                         new_ticket, patch_ticket, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
        desk.id, custom_fields={"nope": 1})), 422)
    assert error_locs(body) == [["body", "custom_fields", "nope"]]
    assert body["errors"][0]["type"] == "unknown_field"
    ticket = await new_ticket(desk.id)
    body = problem(await patch_ticket(ticket["id"], custom_fields={"nope": 1}), 422)
    assert error_locs(body) == [["body", "custom_fields", "nope"]]


async def test_fields_of_another_desk_or_of_customers_do_not_apply(client, factory,
                                                                   admin_headers, problem):
    desk, other = await factory.desk("A"), await factory.desk("B")
    await _field(client, admin_headers, other.id, "plan", type="text")
    await define_field(client, admin_headers, desk.id, "customer", key="tier", type="text")
    body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
        desk.id, custom_fields={"plan": "gold", "tier": "1"})), 422)
    assert sorted(error_locs(body)) == [["body", "custom_fields", "plan"],
                                        ["body", "custom_fields", "tier"]]


async def test_patch_merges_custom_fields_and_null_clears_one(client, factory, admin_headers,
                                                              new_ticket, patch_ticket,
                                                              get_ticket):
    desk = await factory.desk()
    for key in ("a", "b", "c"):
        await _field(client, admin_headers, desk.id, key, type="integer")
    ticket = await new_ticket(desk.id, custom_fields={"a": 1, "b": 2})
    merged = ok(await patch_ticket(ticket["id"], custom_fields={"b": 20, "c": 30}))
    assert merged["custom_fields"] == {"a": 1, "b": 20, "c": 30}
    cleared = ok(await patch_ticket(ticket["id"], custom_fields={"a": None}))
    assert cleared["custom_fields"] == {"b": 20, "c": 30}
    untouched = ok(await patch_ticket(ticket["id"], custom_fields={}))
    assert untouched["custom_fields"] == {"b": 20, "c": 30}
    assert (await get_ticket(ticket["id"]))["custom_fields"] == {"b": 20, "c": 30}


async def test_an_optional_null_on_create_is_not_stored(client, factory, admin_headers,
                                                        new_ticket):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, "a", type="integer")
    assert (await new_ticket(desk.id, custom_fields={"a": None}))["custom_fields"] == {}


async def test_a_deleted_definition_no_longer_accepts_values(client, factory, admin_headers,
                                                             new_ticket, patch_ticket, problem):
    desk = await factory.desk()
    await _field(client, admin_headers, desk.id, "a", type="integer")
    ticket = await new_ticket(desk.id, custom_fields={"a": 1})
    response = await client.delete(f"/v1/desks/{desk.id}/ticket-fields/a", headers=admin_headers)
    assert response.status_code == 204, response.text
    body = problem(await patch_ticket(ticket["id"], custom_fields={"a": 2}), 422)
    assert error_locs(body) == [["body", "custom_fields", "a"]]
