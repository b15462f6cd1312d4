"""`/v1/organizations`: domains, custom fields, routing actions, lists, PATCH, DELETE, claiming
customers, transfers, events and desk isolation."""

from __future__ import annotations

import pytest

from tests.customers.helpers import (
    agent_headers,
    create_customer,
    create_org,
    customers_in,
    define_field,
    domains_in,
    error_locs,
    events,
    ok,
    organizations_in,
    token_headers,
)

# --- create -----------------------------------------------------------------------------------


async def test_created_organization_answers_201_with_location_etag_and_body(
        client, factory, admin_headers):
    desk = await factory.desk()
    response = await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme Inc.", "domains": ["acme.example"],
        "shared_tickets": True, "notes": "Key account"})
    body = ok(response, 201)
    assert response.headers["Location"] == f"/v1/organizations/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert {k: body[k] for k in ("desk_id", "name", "domains", "shared_tickets", "custom_fields",
                                 "routing_actions", "notes", "version")} == {
        "desk_id": desk.id, "name": "Acme Inc.", "domains": ["acme.example"],
        "shared_tickets": True, "custom_fields": {}, "routing_actions": [],
        "notes": "Key account", "version": 1}
    assert body["created_at"] and body["updated_at"]
    fetched = await client.get(f"/v1/organizations/{body['id']}", headers=admin_headers)
    assert ok(fetched) == body
    assert fetched.headers["ETag"] == '"1"'


async def test_organization_defaults_to_no_domains_unshared_and_empty(client, factory,
                                                                      admin_headers):
    desk = await factory.desk()
    body = await create_org(client, admin_headers, desk.id)
    assert (body["domains"], body["shared_tickets"], body["custom_fields"],
            body["routing_actions"], body["notes"]) == ([], False, {}, [], "")


async def test_domains_are_normalised_deduplicated_and_sorted(client, factory, admin_headers):
    desk = await factory.desk()
    body = await create_org(client, admin_headers, desk.id, domains=[
        "@ACME.Example", "Bücher.example.", "acme.example", "support.acme.example"])
    assert body["domains"] == ["acme.example", "support.acme.example", "xn--bcher-kva.example"]
    assert await domains_in(factory.session, desk.id) == {
        "acme.example": body["id"], "support.acme.example": body["id"],
        "xn--bcher-kva.example": body["id"]}


@pytest.mark.parametrize("bad", ["localhost", "ana@acme.example", "-acme.example", "1.2.3.4",
                                 "acme example.com", ""])
async def test_an_invalid_domain_is_422_at_its_index(client, factory, admin_headers, problem,
                                                     bad):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme", "domains": ["acme.example", bad]}), 422)
    assert error_locs(body) == [["body", "domains", 1]]
    assert await organizations_in(factory.session, desk.id) == []


async def test_a_domain_held_by_another_organization_of_the_desk_is_409_naming_the_holder(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    holder = await create_org(client, admin_headers, desk.id, "Acme", domains=["acme.example"])
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme again", "domains": ["other.example", "ACME.example"]}),
        409)
    assert body["organization_id"] == holder["id"]
    assert body["domain"] == "acme.example"
    assert "acme.example" in body["detail"]
    assert [o.id for o in await organizations_in(factory.session, desk.id)] == [holder["id"]]
    assert await domains_in(factory.session, desk.id) == {"acme.example": holder["id"]}


async def test_the_same_domain_may_belong_to_organizations_of_two_desks(client, factory,
                                                                        admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    first = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    second = await create_org(client, admin_headers, other.id, domains=["acme.example"])
    assert first["id"] != second["id"]
    assert await domains_in(factory.session, other.id) == {"acme.example": second["id"]}


async def test_organization_needs_a_name(client, factory, admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers,
                                     json={"desk_id": desk.id, "name": ""}), 422)
    assert error_locs(body) == [["body", "name"]]
    body = problem(await client.post("/v1/organizations", headers=admin_headers,
                                     json={"desk_id": desk.id}), 422)
    assert error_locs(body) == [["body", "name"]]


async def test_unknown_organization_fields_are_422(client, factory, admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers,
                                     json={"desk_id": desk.id, "name": "A", "colour": "red"}),
                   422)
    assert error_locs(body) == [["body", "colour"]]


async def test_organization_in_a_missing_desk_is_404(client, admin_headers, problem):
    problem(await client.post("/v1/organizations", headers=admin_headers,
                              json={"desk_id": 2147483000, "name": "A"}), 404)


@pytest.mark.parametrize("desk_id", [0, -1, 2**31, 10**12])
async def test_an_impossible_desk_id_is_422_not_a_crash(client, admin_headers, problem,
                                                        desk_id):
    body = problem(await client.post("/v1/organizations", headers=admin_headers,
                                     json={"desk_id": desk_id, "name": "A"}), 422)
    assert error_locs(body) == [["body", "desk_id"]]


async def test_organization_in_an_archived_desk_is_409(client, factory, admin_headers, problem):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await client.post("/v1/organizations", headers=admin_headers,
                              json={"desk_id": desk.id, "name": "A"}), 409)


# --- custom fields ----------------------------------------------------------------------------

async def _org_fields(client, headers, desk_id):
    await define_field(client, headers, desk_id, "organization", key="tier", type="select",
                       required=True, options=[{"value": "gold", "label": "Gold"},
                                               {"value": "silver", "label": "Silver"}])
    await define_field(client, headers, desk_id, "organization", key="seats", type="integer",
                       min=1)
    await define_field(client, headers, desk_id, "organization", key="region", type="text")


async def test_custom_fields_are_validated_and_stored(client, factory, admin_headers):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    body = await create_org(client, admin_headers, desk.id,
                            custom_fields={"tier": "gold", "seats": 5.0, "region": " eu "})
    assert body["custom_fields"] == {"tier": "gold", "seats": 5, "region": "eu"}


async def test_invalid_custom_fields_are_422_naming_each_field(client, factory, admin_headers,
                                                               problem):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A",
        "custom_fields": {"tier": "bronze", "seats": 0, "colour": "red"}}), 422)
    assert sorted(error_locs(body)) == [["body", "custom_fields", "colour"],
                                        ["body", "custom_fields", "seats"],
                                        ["body", "custom_fields", "tier"]]
    assert await organizations_in(factory.session, desk.id) == []


async def test_a_required_custom_field_must_be_given(client, factory, admin_headers, problem):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A", "custom_fields": {"seats": 2}}), 422)
    assert body["errors"] == [{"loc": ["body", "custom_fields", "tier"], "msg": "is required",
                               "type": "missing"}]


@pytest.mark.parametrize(("spec", "good", "bad", "error_type"), [
    ({"type": "text", "min_length": 2, "max_length": 4}, "abc", "abcde", "string_too_long"),
    ({"type": "text", "min_length": 2}, "ab", "a", "string_too_short"),
    ({"type": "text", "pattern": "[A-Z]{3}"}, "ACM", "acm", "string_pattern_mismatch"),
    ({"type": "integer", "min": 1, "max": 10}, 10, 11, "less_than_equal"),
    ({"type": "decimal", "min": 0.5}, 0.5, 0.4, "greater_than_equal"),
    ({"type": "date", "min": "2024-01-01", "max": "2024-12-31"}, "2024-06-01", "2025-01-01",
     "less_than_equal"),
    ({"type": "checkbox"}, True, "yes", "bool_type"),
    ({"type": "multiselect", "options": [{"value": "a", "label": "A"}]}, ["a"], ["b"], "enum"),
    ({"type": "email"}, "ops@acme.example", "ops", "email"),
    ({"type": "url"}, "https://acme.example/", "acme", "url"),
])
async def test_each_field_constraint_is_enforced_on_organizations(
        client, factory, admin_headers, problem, spec, good, bad, error_type):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "organization", key="value", **spec)
    org = await create_org(client, admin_headers, desk.id, custom_fields={"value": good})
    assert org["custom_fields"] == {"value": good}
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "B", "custom_fields": {"value": bad}}), 422)
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [
        (["body", "custom_fields", "value"], error_type)]


async def test_customer_fields_do_not_apply_to_organizations(client, factory, admin_headers,
                                                             problem):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="text")
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A", "custom_fields": {"plan": "x"}}), 422)
    assert error_locs(body) == [["body", "custom_fields", "plan"]]


async def test_fields_of_another_desk_do_not_apply(client, factory, admin_headers, problem):
    desk, other = await factory.desk(), await factory.desk()
    await define_field(client, admin_headers, other.id, "organization", key="region",
                       type="text")
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A", "custom_fields": {"region": "eu"}}), 422)
    assert error_locs(body) == [["body", "custom_fields", "region"]]


# --- routing actions --------------------------------------------------------------------------

async def actions_for(client, factory, admin_headers):
    """A desk with a team and a `tier` ticket field, and actions naming them."""
    desk = await factory.desk()
    team = ok(await client.post("/v1/teams", headers=admin_headers, json={"name": "Tier 1"}),
              201)
    ok(await client.put(f"/v1/desks/{desk.id}/teams/{team['id']}", headers=admin_headers,
                        json={"role": "agent"}), 201)
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers, json={
        "key": "tier", "label": "Tier", "type": "text"}), 201)
    return desk, [
        {"type": "set_priority", "value": "high"},
        {"type": "assign_team", "value": team["id"]},
        {"type": "add_tags", "value": ["vip", "acme"]},
        {"type": "set_field", "value": {"key": "tier", "value": "gold"}},
        {"type": "reply", "value": {"subject": "Hi", "body": "Hello {{ requester.name }}"}},
    ]


ACTIONS = [{"type": "set_priority", "value": "high"}]


async def test_routing_actions_are_stored_in_order(client, factory, admin_headers):
    desk, actions = await actions_for(client, factory, admin_headers)
    body = await create_org(client, admin_headers, desk.id, routing_actions=actions)
    assert body["routing_actions"] == actions
    fetched = ok(await client.get(f"/v1/organizations/{body['id']}", headers=admin_headers))
    assert fetched["routing_actions"] == actions


async def test_an_unknown_routing_action_type_is_422_at_its_index(client, factory,
                                                                  admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A",
        "routing_actions": [ACTIONS[0], {"type": "launch_rocket", "value": 1}]}), 422)
    assert error_locs(body) == [["body", "routing_actions", 1]]
    assert body["errors"][0]["type"] == "union_tag_invalid"
    assert await organizations_in(factory.session, desk.id) == []


@pytest.mark.parametrize(("action", "loc_tail"), [
    ({"type": "set_priority", "value": "asap"}, ["set_priority", "value"]),
    ({"type": "set_status", "value": "done"}, ["set_status", "value"]),
    ({"type": "assign_agent", "value": "bob"}, ["assign_agent", "value"]),
    ({"type": "add_tags", "value": []}, ["add_tags", "value"]),
    ({"type": "set_priority"}, ["set_priority", "value"]),
    ({"type": "set_priority", "value": "high", "extra": 1}, ["set_priority", "extra"]),
])
async def test_a_routing_action_with_a_bad_value_is_422_at_that_value(
        client, factory, admin_headers, problem, action, loc_tail):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A", "routing_actions": [action]}), 422)
    assert error_locs(body) == [["body", "routing_actions", 0, *loc_tail]]


async def test_a_routing_action_without_a_type_is_422(client, factory, admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "A", "routing_actions": [{"value": "high"}]}), 422)
    assert error_locs(body) == [["body", "routing_actions", 0]]
    assert body["errors"][0]["type"] == "union_tag_not_found"


# --- list -------------------------------------------------------------------------------------

async def _names(client, headers, **params) -> list[str]:
    return [o["name"] for o in ok(await client.get("/v1/organizations", headers=headers,
                                                   params=params))["items"]]


async def test_list_filters_by_name_prefix_in_any_case(client, factory, admin_headers):
    desk = await factory.desk()
    for name in ("Acme Inc.", "acme labs", "Globex", "The Acme"):
        await create_org(client, admin_headers, desk.id, name)
    assert await _names(client, admin_headers, desk_id=desk.id, name="ACME") == [
        "Acme Inc.", "acme labs"]
    assert await _names(client, admin_headers, desk_id=desk.id, name="glob") == ["Globex"]
    assert await _names(client, admin_headers, desk_id=desk.id, name="x") == []


async def test_name_prefix_treats_wildcards_literally(client, factory, admin_headers):
    desk = await factory.desk()
    for name in ("100% Cotton", "100 Percent", "A_B", "AxB"):
        await create_org(client, admin_headers, desk.id, name)
    assert await _names(client, admin_headers, desk_id=desk.id, name="100%") == ["100% Cotton"]
    assert await _names(client, admin_headers, desk_id=desk.id, name="a_") == ["A_B"]


async def test_list_filters_by_domain_normalised(client, factory, admin_headers):
    desk = await factory.desk()
    acme = await create_org(client, admin_headers, desk.id, "Acme",
                            domains=["acme.example", "xn--bcher-kva.example"])
    await create_org(client, admin_headers, desk.id, "Globex", domains=["globex.example"])
    assert await _names(client, admin_headers, desk_id=desk.id, domain="@ACME.example") == [
        "Acme"]
    assert await _names(client, admin_headers, desk_id=desk.id, domain="bücher.example") == [
        acme["name"]]
    assert await _names(client, admin_headers, desk_id=desk.id, domain="none.example") == []


async def test_list_by_domain_and_name_combine(client, factory, admin_headers):
    desk = await factory.desk()
    await create_org(client, admin_headers, desk.id, "Acme", domains=["acme.example"])
    assert await _names(client, admin_headers, desk_id=desk.id, domain="acme.example",
                        name="glo") == []


async def test_list_with_an_invalid_domain_is_422_at_query_domain(client, admin_headers,
                                                                  problem):
    body = problem(await client.get("/v1/organizations", headers=admin_headers,
                                    params={"domain": "not a domain"}), 422)
    assert error_locs(body) == [["query", "domain"]]


async def test_list_filters_by_desk(client, factory, admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    await create_org(client, admin_headers, desk.id, "In desk")
    await create_org(client, admin_headers, other.id, "In other")
    assert await _names(client, admin_headers, desk_id=desk.id) == ["In desk"]
    assert await _names(client, admin_headers, desk_id=other.id) == ["In other"]


async def test_list_with_a_desk_filter_outside_the_scope_is_404(client, factory, problem):
    desk, other = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["organizations:read"], desk_ids=[desk.id])
    problem(await client.get("/v1/organizations", headers=headers,
                             params={"desk_id": other.id}), 404)
    assert ok(await client.get("/v1/organizations", headers=headers,
                               params={"desk_id": desk.id}))["items"] == []


async def test_list_pages_through_every_organization_once(client, factory, admin_headers):
    desk = await factory.desk()
    created = [(await create_org(client, admin_headers, desk.id, f"Org {i}"))["id"]
               for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"desk_id": desk.id, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = ok(await client.get("/v1/organizations", headers=admin_headers, params=params))
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created
    assert pages == 3


async def test_a_page_is_stable_when_organizations_are_added_meanwhile(client, factory,
                                                                       admin_headers):
    desk = await factory.desk()
    first = [(await create_org(client, admin_headers, desk.id, f"Org {i}"))["id"]
             for i in range(3)]
    page = ok(await client.get("/v1/organizations", headers=admin_headers,
                               params={"desk_id": desk.id, "limit": 2}))
    late = await create_org(client, admin_headers, desk.id, "Late")
    rest = ok(await client.get("/v1/organizations", headers=admin_headers,
                               params={"desk_id": desk.id, "limit": 2,
                                       "cursor": page["next_cursor"]}))
    assert [o["id"] for o in page["items"] + rest["items"]] == [*first[:2], first[2], late["id"]]


async def test_list_rejects_bad_limits_and_unreadable_cursors(client, admin_headers, problem):
    body = problem(await client.get("/v1/organizations", headers=admin_headers,
                                    params={"limit": 0}), 422)
    assert error_locs(body) == [["query", "limit"]]
    problem(await client.get("/v1/organizations", headers=admin_headers,
                             params={"limit": 201}), 422)
    problem(await client.get("/v1/organizations", headers=admin_headers,
                             params={"cursor": "garbage!"}), 400)


# --- get / patch ------------------------------------------------------------------------------

async def test_missing_organization_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/organizations/2147483000", headers=admin_headers), 404)


@pytest.mark.parametrize("org_id", ["0", "99999999999", "abc"])
async def test_an_impossible_organization_id_is_422(client, admin_headers, problem, org_id):
    body = problem(await client.get(f"/v1/organizations/{org_id}", headers=admin_headers), 422)
    assert error_locs(body) == [["path", "organization_id"]]


async def test_patch_changes_the_fields_sent_and_bumps_the_etag(client, factory, admin_headers):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, "Acme", notes="old")
    response = await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                  json={"name": "Acme Corp", "shared_tickets": True})
    body = ok(response)
    assert (body["name"], body["shared_tickets"], body["notes"], body["version"]) == (
        "Acme Corp", True, "old", 2)
    assert response.headers["ETag"] == '"2"'


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(client, factory,
                                                                      admin_headers, problem):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, "Acme")
    url = f"/v1/organizations/{org['id']}"
    ok(await client.patch(url, headers={**admin_headers, "If-Match": '"1"'},
                          json={"name": "Second"}))
    body = problem(await client.patch(url, headers={**admin_headers, "If-Match": '"1"'},
                                      json={"name": "Lost update"}), 412)
    assert body["current_etag"] == '"2"'
    assert ok(await client.get(url, headers=admin_headers))["name"] == "Second"


async def test_patch_custom_fields_merges_and_null_clears(client, factory, admin_headers):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    org = await create_org(client, admin_headers, desk.id,
                           custom_fields={"tier": "gold", "seats": 5})
    body = ok(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                 json={"custom_fields": {"seats": None, "region": "eu"}}))
    assert body["custom_fields"] == {"tier": "gold", "region": "eu"}


async def test_patch_cannot_clear_a_required_custom_field(client, factory, admin_headers,
                                                          problem):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    org = await create_org(client, admin_headers, desk.id, custom_fields={"tier": "gold"})
    body = problem(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                      json={"custom_fields": {"tier": None}}), 422)
    assert error_locs(body) == [["body", "custom_fields", "tier"]]


async def test_patch_with_a_bad_custom_field_is_422_and_changes_nothing(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    await _org_fields(client, admin_headers, desk.id)
    org = await create_org(client, admin_headers, desk.id, custom_fields={"tier": "gold"})
    url = f"/v1/organizations/{org['id']}"
    body = problem(await client.patch(url, headers=admin_headers, json={
        "name": "Renamed", "custom_fields": {"seats": "many"}}), 422)
    assert error_locs(body) == [["body", "custom_fields", "seats"]]
    assert ok(await client.get(url, headers=admin_headers)) == org
    assert await events(factory.session, "organization.updated", subject_id=org["id"]) == []


async def test_patch_domains_replaces_the_list_and_frees_the_old_ones(client, factory,
                                                                      admin_headers):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["a.example", "b.example"])
    response = await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                  json={"domains": ["C.example", "b.example"]})
    body = ok(response)
    assert body["domains"] == ["b.example", "c.example"]
    assert body["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert await domains_in(factory.session, desk.id) == {"b.example": org["id"],
                                                          "c.example": org["id"]}
    other = await create_org(client, admin_headers, desk.id, "Other", domains=["a.example"])
    assert other["domains"] == ["a.example"]


async def test_patch_domains_to_an_empty_list_clears_them(client, factory, admin_headers):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["a.example"])
    body = ok(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                 json={"domains": []}))
    assert body["domains"] == []
    assert await domains_in(factory.session, desk.id) == {}


async def test_patch_to_a_domain_another_organization_holds_is_409_and_changes_nothing(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    holder = await create_org(client, admin_headers, desk.id, "Holder", domains=["x.example"])
    org = await create_org(client, admin_headers, desk.id, "Org", domains=["a.example"])
    url = f"/v1/organizations/{org['id']}"
    body = problem(await client.patch(url, headers=admin_headers, json={
        "name": "Renamed", "domains": ["a.example", "x.example"]}), 409)
    assert body["organization_id"] == holder["id"]
    assert ok(await client.get(url, headers=admin_headers)) == org
    assert await domains_in(factory.session, desk.id) == {"x.example": holder["id"],
                                                          "a.example": org["id"]}


async def test_patch_keeping_its_own_domains_is_no_conflict(client, factory, admin_headers):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["a.example"])
    body = ok(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                 json={"domains": ["A.example"]}))
    assert body["domains"] == ["a.example"]


async def test_patch_routing_actions_replaces_them_and_validates(client, factory,
                                                                 admin_headers, problem):
    desk, actions = await actions_for(client, factory, admin_headers)
    org = await create_org(client, admin_headers, desk.id, routing_actions=actions)
    url = f"/v1/organizations/{org['id']}"
    body = ok(await client.patch(url, headers=admin_headers, json={
        "routing_actions": [{"type": "set_status", "value": "open"}]}))
    assert body["routing_actions"] == [{"type": "set_status", "value": "open"}]
    bad = problem(await client.patch(url, headers=admin_headers, json={
        "routing_actions": [{"type": "teleport", "value": 1}]}), 422)
    assert error_locs(bad) == [["body", "routing_actions", 0]]


async def test_patch_of_a_missing_organization_is_404(client, admin_headers, problem):
    problem(await client.patch("/v1/organizations/2147483000", headers=admin_headers,
                               json={"name": "x"}), 404)


# --- delete -----------------------------------------------------------------------------------

async def test_delete_is_204_and_its_customers_stay_without_organization(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    assert customer["organization_id"] == org["id"]
    response = await client.delete(f"/v1/organizations/{org['id']}", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    problem(await client.get(f"/v1/organizations/{org['id']}", headers=admin_headers), 404)
    kept = await client.get(f"/v1/customers/{customer['id']}", headers=admin_headers)
    assert ok(kept)["organization_id"] is None
    assert kept.headers["ETag"] == '"2"'  # its representation changed
    assert await domains_in(factory.session, desk.id) == {}
    again = await create_org(client, admin_headers, desk.id, "New", domains=["acme.example"])
    assert again["domains"] == ["acme.example"]


async def test_delete_of_a_missing_organization_is_404(client, admin_headers, problem):
    problem(await client.delete("/v1/organizations/2147483000", headers=admin_headers), 404)


# --- claim customers --------------------------------------------------------------------------

async def test_claim_customers_pulls_in_customers_of_its_domains_without_organization(
        client, factory, admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    ana = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    bob = await create_customer(client, admin_headers, desk.id, "bob@eu.acme.example")
    elsewhere = await create_customer(client, admin_headers, desk.id, "eve@globex.example")
    other_desk = await create_customer(client, admin_headers, other.id, "ana@acme.example")
    partner = await create_org(client, admin_headers, desk.id, "Partner")
    taken = await create_customer(client, admin_headers, desk.id, "carl@acme.example",
                                  organization_id=partner["id"])
    org = await create_org(client, admin_headers, desk.id, "Acme",
                           domains=["acme.example", "eu.acme.example"])

    response = await client.post(f"/v1/organizations/{org['id']}/claim-customers",
                                 headers=admin_headers)
    body = ok(response)
    assert body == {"organization_id": org["id"], "claimed": 2,
                    "customer_ids": sorted([ana["id"], bob["id"]])}

    def org_of(customer):
        return client.get(f"/v1/customers/{customer['id']}", headers=admin_headers)

    assert ok(await org_of(ana))["organization_id"] == org["id"]
    assert ok(await org_of(ana))["version"] == 2
    assert ok(await org_of(elsewhere))["organization_id"] is None
    assert ok(await org_of(taken))["organization_id"] == partner["id"]
    assert ok(await org_of(other_desk))["organization_id"] is None
    again = ok(await client.post(f"/v1/organizations/{org['id']}/claim-customers",
                                 headers=admin_headers))
    assert again == {"organization_id": org["id"], "claimed": 0, "customer_ids": []}


async def test_claim_of_an_organization_without_domains_claims_nobody(client, factory,
                                                                      admin_headers):
    desk = await factory.desk()
    await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    org = await create_org(client, admin_headers, desk.id)
    body = ok(await client.post(f"/v1/organizations/{org['id']}/claim-customers",
                                headers=admin_headers))
    assert body["claimed"] == 0


# --- transfer ---------------------------------------------------------------------------------

async def test_transfer_moves_the_organization_its_domains_and_its_customers(
        client, factory, admin_headers, session):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    ana = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    bob = await create_customer(client, admin_headers, source.id, "bob@gmail.com",
                                organization_id=org["id"])
    stranger = await create_customer(client, admin_headers, source.id, "eve@globex.example")

    response = await client.post(f"/v1/organizations/{org['id']}/transfer",
                                 headers=admin_headers, json={"desk_id": target.id})
    body = ok(response)
    assert (body["id"], body["desk_id"], body["domains"]) == (org["id"], target.id,
                                                             ["acme.example"])
    assert await domains_in(session, target.id) == {"acme.example": org["id"]}
    assert await domains_in(session, source.id) == {}
    moved = {c.id: c for c in await customers_in(session, target.id)}
    assert set(moved) == {ana["id"], bob["id"]}
    assert {c.organization_id for c in moved.values()} == {org["id"]}
    assert [c.id for c in await customers_in(session, source.id)] == [stranger["id"]]
    found = ok(await client.get("/v1/organizations", headers=admin_headers,
                                params={"desk_id": target.id, "domain": "acme.example"}))
    assert [o["id"] for o in found["items"]] == [org["id"]]
    # The source desk may give the domain to a new organization now.
    await create_org(client, admin_headers, source.id, "New Acme", domains=["acme.example"])


async def test_transfer_writes_organization_and_customer_transferred_events(
        client, factory, admin_headers, session):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    ana = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    ok(await client.post(f"/v1/organizations/{org['id']}/transfer", headers=admin_headers,
                         json={"desk_id": target.id}))
    [org_event] = await events(session, "organization.transferred", subject_id=org["id"])
    assert org_event.changes == {"desk_id": [source.id, target.id]}
    assert org_event.desk_id == target.id
    assert org_event.data["desk_id"] == target.id
    [customer_event] = await events(session, "customer.transferred", subject_id=ana["id"])
    assert customer_event.changes == {"desk_id": [source.id, target.id]}
    assert customer_event.data["organization_id"] == org["id"]


async def _snapshot(session, *desk_ids):
    return {d: ([(c.id, c.email, c.organization_id) for c in await customers_in(session, d)],
                [(o.id, o.version) for o in await organizations_in(session, d)],
                await domains_in(session, d))
            for d in desk_ids}


async def test_transfer_into_a_desk_holding_one_of_its_domains_is_409_and_moves_nothing(
        client, factory, admin_headers, session, problem):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id,
                           domains=["acme.example", "acme-labs.example"])
    await create_customer(client, admin_headers, source.id, "ana@acme.example")
    holder = await create_org(client, admin_headers, target.id, "Labs",
                              domains=["acme-labs.example"])
    before = await _snapshot(session, source.id, target.id)
    body = problem(await client.post(f"/v1/organizations/{org['id']}/transfer",
                                     headers=admin_headers, json={"desk_id": target.id}), 409)
    assert body["organization_id"] == holder["id"]
    assert body["domain"] == "acme-labs.example"
    assert await _snapshot(session, source.id, target.id) == before
    assert await events(session, "organization.transferred", subject_id=org["id"]) == []


async def test_transfer_into_a_desk_holding_a_member_email_is_409_and_moves_nothing(
        client, factory, admin_headers, session, problem):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    await create_customer(client, admin_headers, source.id, "ana@acme.example")
    await create_customer(client, admin_headers, source.id, "bob@acme.example")
    await create_customer(client, admin_headers, target.id, "bob@acme.example")
    before = await _snapshot(session, source.id, target.id)
    body = problem(await client.post(f"/v1/organizations/{org['id']}/transfer",
                                     headers=admin_headers, json={"desk_id": target.id}), 409)
    assert body["emails"] == ["bob@acme.example"]
    assert await _snapshot(session, source.id, target.id) == before
    assert await events(session, "customer.transferred") == []


async def test_transfer_to_a_desk_outside_the_scope_is_404_and_moves_nothing(
        client, factory, session, problem):
    source, target = await factory.desk(), await factory.desk()
    headers = await agent_headers(client, factory, source.id)
    org = await create_org(client, headers, source.id, domains=["acme.example"])
    before = await _snapshot(session, source.id, target.id)
    problem(await client.post(f"/v1/organizations/{org['id']}/transfer", headers=headers,
                              json={"desk_id": target.id}), 404)
    assert await _snapshot(session, source.id, target.id) == before


async def test_transfer_into_an_archived_desk_is_409(client, factory, admin_headers, session,
                                                     problem):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id)
    ok(await client.post(f"/v1/desks/{target.id}/archive", headers=admin_headers))
    problem(await client.post(f"/v1/organizations/{org['id']}/transfer", headers=admin_headers,
                              json={"desk_id": target.id}), 409)
    assert [o.desk_id for o in await organizations_in(session, source.id)] == [source.id]


async def test_transfer_into_its_own_desk_is_422(client, factory, admin_headers, problem):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id)
    body = problem(await client.post(f"/v1/organizations/{org['id']}/transfer",
                                     headers=admin_headers, json={"desk_id": desk.id}), 422)
    assert error_locs(body) == [["body", "desk_id"]]


async def test_transfer_into_a_missing_desk_is_404(client, factory, admin_headers, problem):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id)
    problem(await client.post(f"/v1/organizations/{org['id']}/transfer", headers=admin_headers,
                              json={"desk_id": 2147483000}), 404)


# --- events -----------------------------------------------------------------------------------

async def test_creation_writes_organization_created_with_the_resource(client, factory,
                                                                      admin_headers, session):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    [event] = await events(session, "organization.created", subject_id=org["id"])
    assert event.desk_id == desk.id
    assert event.subject_type == "organization"
    assert event.data == org
    assert event.changes is None
    assert event.actor["kind"] == "api_token"


async def test_update_writes_organization_updated_with_the_changes(client, factory,
                                                                   admin_headers, session):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, "Acme", domains=["a.example"])
    body = ok(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                 json={"name": "Acme Corp", "domains": ["b.example"],
                                       "notes": ""}))
    [event] = await events(session, "organization.updated", subject_id=org["id"])
    assert event.changes == {"name": ["Acme", "Acme Corp"],
                             "domains": [["a.example"], ["b.example"]]}
    assert event.data == body


async def test_a_patch_that_changes_nothing_writes_no_event(client, factory, admin_headers,
                                                            session):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, "Acme")
    body = ok(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                 json={"name": "Acme"}))
    assert body["version"] == 1
    assert await events(session, "organization.updated", subject_id=org["id"]) == []


async def test_a_failed_create_leaves_no_organization_and_no_event(client, factory,
                                                                   admin_headers, session,
                                                                   problem):
    desk = await factory.desk()
    await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    before = len(await events(session, desk_id=desk.id))
    problem(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Dup", "domains": ["acme.example"]}), 409)
    assert len(await events(session, desk_id=desk.id)) == before
    assert len(await organizations_in(session, desk.id)) == 1


# --- isolation and scopes ---------------------------------------------------------------------

@pytest.fixture(params=["agent", "desk_token"])
def caller_kind(request) -> str:
    return request.param


async def _caller(kind, client, factory, desk_id):
    if kind == "agent":
        return await agent_headers(client, factory, desk_id)
    return await token_headers(factory, ["organizations:write", "customers:write"],
                               desk_ids=[desk_id])


async def test_a_caller_of_desk_a_gets_404_for_organizations_of_desk_b(
        client, factory, admin_headers, session, problem, caller_kind):
    a, b = await factory.desk("A"), await factory.desk("B")
    headers = await _caller(caller_kind, client, factory, a.id)
    theirs = await create_org(client, admin_headers, b.id, "Theirs", domains=["b.example"])
    mine = await create_org(client, headers, a.id, "Mine")
    url = f"/v1/organizations/{theirs['id']}"
    problem(await client.get(url, headers=headers), 404)
    problem(await client.patch(url, headers=headers, json={"name": "Hijacked"}), 404)
    problem(await client.delete(url, headers=headers), 404)
    problem(await client.post(f"{url}/claim-customers", headers=headers), 404)
    problem(await client.post(f"{url}/transfer", headers=headers, json={"desk_id": a.id}), 404)
    problem(await client.post(f"/v1/organizations/{mine['id']}/transfer", headers=headers,
                              json={"desk_id": b.id}), 404)
    problem(await client.post("/v1/organizations", headers=headers,
                              json={"desk_id": b.id, "name": "Sneaky"}), 404)
    listed = ok(await client.get("/v1/organizations", headers=headers))
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    assert ok(await client.get("/v1/organizations", headers=headers,
                               params={"domain": "b.example"}))["items"] == []
    still = ok(await client.get(url, headers=admin_headers))
    assert still == theirs
    assert [o.id for o in await organizations_in(session, b.id)] == [theirs["id"]]


async def test_a_sandbox_token_sees_only_sandbox_organizations(client, factory, admin_headers,
                                                               problem):
    sandbox = await factory.desk("Sandbox", "sandbox")
    other_sandbox = await factory.desk("Other sandbox", "sandbox")
    standard = await factory.desk("Prod")
    headers = await token_headers(factory, ["organizations:write"], desk_ids=[sandbox.id],
                                  sandbox=True)
    play = await create_org(client, headers, sandbox.id, "Play")
    real = await create_org(client, admin_headers, standard.id, "Real")
    theirs = await create_org(client, admin_headers, other_sandbox.id, "Theirs")
    for hidden in (real, theirs):
        problem(await client.get(f"/v1/organizations/{hidden['id']}", headers=headers), 404)
    problem(await client.post("/v1/organizations", headers=headers,
                              json={"desk_id": standard.id, "name": "x"}), 404)
    problem(await client.get("/v1/organizations", headers=headers,
                             params={"desk_id": standard.id}), 404)
    listed = ok(await client.get("/v1/organizations", headers=headers))
    assert [o["id"] for o in listed["items"]] == [play["id"]]


async def test_organizations_need_the_organizations_scopes(client, factory, problem):
    desk = await factory.desk()
    reader = await token_headers(factory, ["organizations:read"], desk_ids=[desk.id])
    customers_only = await token_headers(factory, ["customers:write"], desk_ids=[desk.id])
    body = problem(await client.post("/v1/organizations", headers=reader,
                                     json={"desk_id": desk.id, "name": "A"}), 403)
    assert body["required_scope"] == "organizations:write"
    assert ok(await client.get("/v1/organizations", headers=reader))["items"] == []
    problem(await client.get("/v1/organizations", headers=customers_only), 403)
    problem(await client.get("/v1/organizations"), 401)


# --- input the database cannot store ----------------------------------------------------------

@pytest.mark.parametrize(("payload", "loc"), [
    ({"name": "Acme\u0000"}, ["body", "name"]),
    ({"notes": "\u0000"}, ["body", "notes"]),
    ({"routing_actions": [{"type": "set_type", "value": "a\u0000"}]},
     ["body", "routing_actions", 0, "set_type", "value"]),
    ({"routing_actions": [{"type": "add_tags", "value": ["ok", "b\u0000d"]}]},
     ["body", "routing_actions", 0, "add_tags", "value", 1]),
    ({"routing_actions": [{"type": "set_field", "value": {"key": "k", "value": ["\u0000"]}}]},
     ["body", "routing_actions", 0, "set_field", "value", "value"]),
    ({"routing_actions": [{"type": "reply", "value": {"body": "hi\u0000"}}]},
     ["body", "routing_actions", 0, "reply", "value", "body"]),
])
async def test_a_nul_character_is_422_at_its_field_not_a_crash(client, factory, admin_headers,
                                                               problem, payload, loc):
    desk = await factory.desk()
    body = problem(await client.post("/v1/organizations", headers=admin_headers,
                                     json={"desk_id": desk.id, "name": "Acme", **payload}), 422)
    assert error_locs(body) == [loc]
    assert await organizations_in(factory.session, desk.id) == []


async def test_a_nul_character_in_a_patch_or_a_filter_is_422(client, factory, admin_headers,
                                                             problem):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id)
    body = problem(await client.patch(f"/v1/organizations/{org['id']}", headers=admin_headers,
                                      json={"name": "x\u0000"}), 422)
    assert error_locs(body) == [["body", "name"]]
    body = problem(await client.get("/v1/organizations", headers=admin_headers,
                                    params={"name": "\u0000"}), 422)
    assert error_locs(body) == [["query", "name"]]
