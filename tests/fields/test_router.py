"""Custom field definitions: `/v1/desks/{id}/organization-fields` and `/customer-fields`."""

from __future__ import annotations

import pytest

from tests.customers.helpers import define_field, error_locs, ok, token_headers

ENTITIES = ["organization", "customer"]


@pytest.mark.parametrize("entity", ENTITIES)
async def test_defining_a_field_answers_201_with_location_and_the_definition(
        client, factory, admin_headers, entity):
    desk = await factory.desk()
    response = await client.post(f"/v1/desks/{desk.id}/{entity}-fields", headers=admin_headers,
                                 json={"key": "tier", "label": "Tier", "type": "select",
                                       "required": True,
                                       "options": [{"value": "gold", "label": "Gold"},
                                                   {"value": "silver", "label": "Silver"}]})
    body = ok(response, 201)
    assert response.headers["Location"] == f"/v1/desks/{desk.id}/{entity}-fields/tier"
    assert body["desk_id"] == desk.id
    assert isinstance(body["id"], int)
    assert body["created_at"]
    assert (body["key"], body["label"], body["type"], body["required"]) == (
        "tier", "Tier", "select", True)
    assert body["options"] == [{"value": "gold", "label": "Gold"},
                               {"value": "silver", "label": "Silver"}]


async def test_every_constraint_of_a_field_spec_is_kept(client, factory, admin_headers):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "organization", key="seats",
                       type="integer", min=1, max=500)
    await define_field(client, admin_headers, desk.id, "organization", key="code", type="text",
                       min_length=2, max_length=8, pattern="[A-Z]+", help="Internal code")
    listed = ok(await client.get(f"/v1/desks/{desk.id}/organization-fields",
                                 headers=admin_headers))["items"]
    by_key = {f["key"]: f for f in listed}
    assert (by_key["seats"]["min"], by_key["seats"]["max"]) == (1, 500)
    assert (by_key["code"]["min_length"], by_key["code"]["max_length"],
            by_key["code"]["pattern"], by_key["code"]["help"]) == (2, 8, "[A-Z]+",
                                                                   "Internal code")


async def test_fields_are_listed_per_desk_and_per_kind_of_record(client, factory, admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    await define_field(client, admin_headers, desk.id, "organization", key="tier", type="text")
    await define_field(client, admin_headers, desk.id, "organization", key="seats",
                       type="integer")
    await define_field(client, admin_headers, desk.id, "customer", key="tier", type="text")
    await define_field(client, admin_headers, other.id, "organization", key="region",
                       type="text")

    def keys(response):
        return [f["key"] for f in ok(response)["items"]]

    assert keys(await client.get(f"/v1/desks/{desk.id}/organization-fields",
                                 headers=admin_headers)) == ["tier", "seats"]
    assert keys(await client.get(f"/v1/desks/{desk.id}/customer-fields",
                                 headers=admin_headers)) == ["tier"]
    assert keys(await client.get(f"/v1/desks/{other.id}/organization-fields",
                                 headers=admin_headers)) == ["region"]


async def test_a_key_defined_twice_for_the_same_kind_is_409(client, factory, admin_headers,
                                                            problem):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "organization", key="tier", type="text")
    body = problem(await client.post(f"/v1/desks/{desk.id}/organization-fields",
                                     headers=admin_headers,
                                     json={"key": "tier", "label": "Again", "type": "integer"}),
                   409)
    assert "tier" in body["detail"]


@pytest.mark.parametrize(("spec", "loc"), [
    ({"key": "Tier", "label": "Tier", "type": "text"}, ["body", "key"]),
    ({"key": "tier", "label": "", "type": "text"}, ["body", "label"]),
    ({"key": "tier", "label": "Tier", "type": "colour"}, ["body", "type"]),
    ({"key": "tier", "label": "Tier", "type": "text", "colour": "red"}, ["body", "colour"]),
    ({"label": "Tier", "type": "text"}, ["body", "key"]),
    ({"key": "tier", "label": "Tier", "type": "select"}, ["body"]),
    ({"key": "tier", "label": "Tier", "type": "integer", "min": 5, "max": 1}, ["body"]),
    ({"key": "tier", "label": "Tier", "type": "text", "pattern": "("}, ["body"]),
])
async def test_an_invalid_field_spec_is_422_at_its_location(client, factory, admin_headers,
                                                            problem, spec, loc):
    desk = await factory.desk()
    body = problem(await client.post(f"/v1/desks/{desk.id}/customer-fields",
                                     headers=admin_headers, json=spec), 422)
    assert loc in error_locs(body)
    assert ok(await client.get(f"/v1/desks/{desk.id}/customer-fields",
                               headers=admin_headers))["items"] == []


async def test_deleting_a_field_is_204_then_it_is_gone_and_may_be_defined_again(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="text")
    response = await client.delete(f"/v1/desks/{desk.id}/customer-fields/plan",
                                   headers=admin_headers)
    assert response.status_code == 204, response.text
    assert ok(await client.get(f"/v1/desks/{desk.id}/customer-fields",
                               headers=admin_headers))["items"] == []
    problem(await client.delete(f"/v1/desks/{desk.id}/customer-fields/plan",
                                headers=admin_headers), 404)
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="integer")


async def test_deleting_the_customer_field_leaves_the_organization_field_of_that_key(
        client, factory, admin_headers):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="text")
    await define_field(client, admin_headers, desk.id, "organization", key="plan", type="text")
    response = await client.delete(f"/v1/desks/{desk.id}/customer-fields/plan",
                                   headers=admin_headers)
    assert response.status_code == 204
    assert [f["key"] for f in ok(await client.get(f"/v1/desks/{desk.id}/organization-fields",
                                                  headers=admin_headers))["items"]] == ["plan"]


async def test_fields_of_a_desk_outside_the_scope_are_404(client, factory, problem):
    mine, other = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["desks:write"], desk_ids=[mine.id])
    spec = {"key": "tier", "label": "Tier", "type": "text"}
    problem(await client.post(f"/v1/desks/{other.id}/organization-fields", headers=headers,
                              json=spec), 404)
    problem(await client.get(f"/v1/desks/{other.id}/organization-fields", headers=headers), 404)
    problem(await client.delete(f"/v1/desks/{other.id}/organization-fields/tier",
                                headers=headers), 404)
    ok(await client.post(f"/v1/desks/{mine.id}/organization-fields", headers=headers,
                         json=spec), 201)


async def test_defining_fields_needs_desks_write(client, factory, problem):
    desk = await factory.desk()
    reader = await token_headers(factory, ["desks:read"], desk_ids=[desk.id])
    body = problem(await client.post(f"/v1/desks/{desk.id}/customer-fields", headers=reader,
                                     json={"key": "tier", "label": "Tier", "type": "text"}), 403)
    assert body["required_scope"] == "desks:write"
    listed = ok(await client.get(f"/v1/desks/{desk.id}/customer-fields", headers=reader))
    assert listed["items"] == []
    problem(await client.delete(f"/v1/desks/{desk.id}/customer-fields/tier", headers=reader),
            403)


async def test_fields_cannot_be_defined_on_an_archived_desk(client, factory, admin_headers,
                                                            problem):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await client.post(f"/v1/desks/{desk.id}/customer-fields", headers=admin_headers,
                              json={"key": "tier", "label": "Tier", "type": "text"}), 409)


async def test_fields_of_a_missing_desk_are_404(client, admin_headers, problem):
    problem(await client.get("/v1/desks/2147483000/customer-fields", headers=admin_headers), 404)
    problem(await client.post("/v1/desks/2147483000/customer-fields", headers=admin_headers,
                              json={"key": "tier", "label": "Tier", "type": "text"}), 404)


@pytest.mark.parametrize("desk_id", ["0", "9999999999", "x"])
async def test_an_impossible_desk_id_in_the_path_is_422(client, admin_headers, problem, desk_id):
    body = problem(await client.get(f"/v1/desks/{desk_id}/customer-fields",
                                    headers=admin_headers), 422)
    assert ["path", "desk_id"] in error_locs(body)


@pytest.mark.parametrize(("spec", "loc"), [
    ({"key": "tier", "label": "Ti\u0000er", "type": "text"}, ["body", "label"]),
    ({"key": "tier", "label": "Tier", "type": "text", "help": "\u0000"}, ["body", "help"]),
    ({"key": "tier", "label": "Tier", "type": "select",
      "options": [{"value": "g\u0000", "label": "Gold"}]}, ["body", "options", 0, "value"]),
])
async def test_a_nul_character_in_a_spec_is_422_not_a_crash(client, factory, admin_headers,
                                                             problem, spec, loc):
    desk = await factory.desk()
    body = problem(await client.post(f"/v1/desks/{desk.id}/customer-fields",
                                     headers=admin_headers, json=spec), 422)
    assert error_locs(body) == [loc]


async def test_deleting_a_field_by_a_key_that_cannot_exist_is_422(client, factory,
                                                                  admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.delete(f"/v1/desks/{desk.id}/customer-fields/Bad%00Key",
                                       headers=admin_headers), 422)
    assert error_locs(body) == [["path", "key"]]


async def test_fields_are_listed_in_pages_like_every_list(client, factory, admin_headers):
    desk = await factory.desk()
    for key in ("a", "b", "c"):
        await define_field(client, admin_headers, desk.id, "customer", key=key, type="text")
    url = f"/v1/desks/{desk.id}/customer-fields"
    first = ok(await client.get(url, params={"limit": 2}, headers=admin_headers))
    assert [f["key"] for f in first["items"]] == ["a", "b"] and first["next_cursor"]
    rest = ok(await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=admin_headers))
    assert rest == {"items": [rest["items"][0]], "next_cursor": None}
    assert rest["items"][0]["key"] == "c"
