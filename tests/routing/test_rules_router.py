"""`/v1/routing-rules` over HTTP: CRUD, order, ETags, isolation, scopes, save-time checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.models import DeskMember
from tests.customers.helpers import agent_headers, ok, token_headers

URL = "/v1/routing-rules"
ASSIGN = [{"type": "set_priority", "value": "high"}]


async def new_rule(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                   **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"desk_id": desk_id, "name": "Rule", "actions": ASSIGN}
    payload.update(body)
    return ok(await client.post(URL, headers=headers, json=payload), 201)


async def new_team(client: httpx.AsyncClient, headers: dict[str, str], *desk_ids: int) -> int:
    team = ok(await client.post("/v1/teams", headers=headers, json={"name": "Tier 1"}), 201)
    for desk_id in desk_ids:
        ok(await client.put(f"/v1/desks/{desk_id}/teams/{team['id']}", headers=headers,
                            json={"role": "agent"}), 201)
    return team["id"]


async def listed(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int) -> list[int]:
    page = ok(await client.get(URL, headers=headers, params={"desk_id": desk_id}))
    return [r["id"] for r in page["items"]]


async def test_rule_is_created_with_location_and_etag_and_read_back(client, factory,
                                                                     admin_headers):
    desk = await factory.desk()
    body = {"desk_id": desk.id, "name": "VIP first", "position": 3, "enabled": True,
            "stop_processing": True,
            "conditions": {"all": [{"field": "tags", "op": "contains", "value": "vip"}],
                           "any": [{"field": "priority", "op": "gte", "value": "high"},
                                   {"field": "subject", "op": "matches", "value": "^urgent"}]},
            "actions": [{"type": "set_priority", "value": "urgent"},
                        {"type": "add_tags", "value": ["escalated"]},
                        {"type": "reply", "value": {"body": "Hi {{ requester.name }}"}}]}
    response = await client.post(URL, headers=admin_headers, json=body)
    created = ok(response, 201)
    assert response.headers["Location"] == f"{URL}/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    for key in ("desk_id", "name", "position", "enabled", "stop_processing", "actions"):
        assert created[key] == body[key] if key != "actions" else created[key] == [
            body["actions"][0], body["actions"][1],
            {"type": "reply", "value": {"subject": None, "body": "Hi {{ requester.name }}"}}]
    assert created["conditions"]["all"] == [{"field": "tags", "op": "contains", "value": "vip"}]
    fetched = await client.get(f"{URL}/{created['id']}", headers=admin_headers)
    assert ok(fetched) == created
    assert fetched.headers["ETag"] == '"1"'


async def test_new_rule_goes_after_the_desks_last_rule(client, factory, admin_headers):
    desk = await factory.desk()
    first = await new_rule(client, admin_headers, desk.id, position=10)
    second = await new_rule(client, admin_headers, desk.id)
    assert (first["position"], second["position"]) == (10, 11)


async def test_list_is_ordered_by_position_then_id_and_paginates(client, factory, admin_headers):
    desk = await factory.desk()
    c = await new_rule(client, admin_headers, desk.id, name="c", position=2)
    a = await new_rule(client, admin_headers, desk.id, name="a", position=1)
    b = await new_rule(client, admin_headers, desk.id, name="b", position=1)
    other = await factory.desk()
    await new_rule(client, admin_headers, other.id)
    assert await listed(client, admin_headers, desk.id) == [a["id"], b["id"], c["id"]]
    page = ok(await client.get(URL, headers=admin_headers, params={"desk_id": desk.id,
                                                                   "limit": 2}))
    assert [r["id"] for r in page["items"]] == [a["id"], b["id"]]
    rest = ok(await client.get(URL, headers=admin_headers, params={
        "desk_id": desk.id, "limit": 2, "cursor": page["next_cursor"]}))
    assert [r["id"] for r in rest["items"]] == [c["id"]] and rest["next_cursor"] is None


async def test_list_needs_a_desk_id(client, admin_headers, problem):
    body = problem(await client.get(URL, headers=admin_headers), 422)
    assert body["errors"][0]["loc"] == ["query", "desk_id"]


async def test_patch_changes_sent_fields_and_bumps_the_etag(client, factory, admin_headers):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id, name="old")
    response = await client.patch(f"{URL}/{rule['id']}", headers=admin_headers,
                                  json={"name": "new", "enabled": False,
                                        "conditions": {"all": [{"field": "status", "op": "eq",
                                                                "value": "new"}]}})
    changed = ok(response)
    assert response.headers["ETag"] == '"2"'
    assert (changed["name"], changed["enabled"], changed["actions"]) == ("new", False, ASSIGN)
    assert changed["conditions"]["all"][0]["field"] == "status"


async def test_patch_with_stale_if_match_is_412(client, factory, admin_headers, problem):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    ok(await client.patch(f"{URL}/{rule['id']}", headers={**admin_headers, "If-Match": '"1"'},
                          json={"name": "v2"}))
    problem(await client.patch(f"{URL}/{rule['id']}", headers={**admin_headers, "If-Match": '"1"'},
                               json={"name": "v3"}), 412)
    problem(await client.delete(f"{URL}/{rule['id']}", headers={**admin_headers,
                                                                "If-Match": '"1"'}), 412)


async def test_patch_refuses_null_for_a_required_field(client, factory, admin_headers, problem):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    problem(await client.patch(f"{URL}/{rule['id']}", headers=admin_headers,
                               json={"name": None}), 422)


async def test_patch_position_reorders_the_list(client, factory, admin_headers):
    desk = await factory.desk()
    a = await new_rule(client, admin_headers, desk.id)
    b = await new_rule(client, admin_headers, desk.id)
    ok(await client.patch(f"{URL}/{b['id']}", headers=admin_headers, json={"position": 0}))
    ok(await client.patch(f"{URL}/{a['id']}", headers=admin_headers, json={"position": 5}))
    assert await listed(client, admin_headers, desk.id) == [b["id"], a["id"]]


async def test_reorder_sets_positions_in_the_given_order_and_keeps_the_rest_after(
        client, factory, admin_headers):
    desk = await factory.desk()
    a, b, c = [await new_rule(client, admin_headers, desk.id) for _ in range(3)]
    ordered = ok(await client.post(f"{URL}/reorder", headers=admin_headers,
                                   json={"desk_id": desk.id, "rule_ids": [c["id"], a["id"]]}))
    assert [(r["id"], r["position"]) for r in ordered] == [(c["id"], 0), (a["id"], 1),
                                                           (b["id"], 2)]
    assert await listed(client, admin_headers, desk.id) == [c["id"], a["id"], b["id"]]


async def test_reorder_refuses_foreign_and_repeated_rule_ids(client, factory, admin_headers,
                                                             problem):
    desk, other = await factory.desk(), await factory.desk()
    mine = await new_rule(client, admin_headers, desk.id)
    theirs = await new_rule(client, admin_headers, other.id)
    body = problem(await client.post(f"{URL}/reorder", headers=admin_headers, json={
        "desk_id": desk.id, "rule_ids": [mine["id"], theirs["id"], mine["id"]]}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "rule_ids", 1], ["body", "rule_ids", 2]]


async def test_delete_removes_the_rule(client, factory, admin_headers, problem):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    response = await client.delete(f"{URL}/{rule['id']}", headers=admin_headers)
    assert response.status_code == 204
    problem(await client.get(f"{URL}/{rule['id']}", headers=admin_headers), 404)
    assert await listed(client, admin_headers, desk.id) == []


async def test_rules_of_another_desk_are_404(client, factory, admin_headers, problem):
    mine, theirs = await factory.desk(), await factory.desk()
    rule = await new_rule(client, admin_headers, theirs.id)
    headers = await token_headers(factory, ["rules:write"], desk_ids=[mine.id])
    problem(await client.get(f"{URL}/{rule['id']}", headers=headers), 404)
    problem(await client.patch(f"{URL}/{rule['id']}", headers=headers, json={"name": "x"}), 404)
    problem(await client.delete(f"{URL}/{rule['id']}", headers=headers), 404)
    problem(await client.get(URL, headers=headers, params={"desk_id": theirs.id}), 404)
    problem(await client.post(URL, headers=headers, json={"desk_id": theirs.id, "name": "x"}),
            404)
    problem(await client.post(f"{URL}/reorder", headers=headers,
                              json={"desk_id": theirs.id, "rule_ids": [rule["id"]]}), 404)
    assert (await client.get(f"{URL}/{rule['id']}", headers=admin_headers)).status_code == 200


async def test_rules_read_scope_reads_but_cannot_write(client, factory, admin_headers, problem):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    reader = await token_headers(factory, ["rules:read"], desk_ids=[desk.id])
    assert await listed(client, reader, desk.id) == [rule["id"]]
    ok(await client.get(f"{URL}/{rule['id']}", headers=reader))
    body = problem(await client.post(URL, headers=reader, json={"desk_id": desk.id,
                                                                "name": "x"}), 403)
    assert body["required_scope"] == "rules:write"
    problem(await client.patch(f"{URL}/{rule['id']}", headers=reader, json={"name": "y"}), 403)
    problem(await client.delete(f"{URL}/{rule['id']}", headers=reader), 403)


async def test_other_scopes_cannot_read_rules(client, factory, problem):
    desk = await factory.desk()
    headers = await token_headers(factory, ["tickets:write"], desk_ids=[desk.id])
    body = problem(await client.get(URL, headers=headers, params={"desk_id": desk.id}), 403)
    assert body["required_scope"] == "rules:read"


async def test_rules_need_authentication(client, problem):
    problem(await client.get(URL, params={"desk_id": 1}), 401)


# --- save-time checks -------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "loc"), [
    ({"field": "subject", "op": "gt", "value": "a"}, ["op"]),
    ({"field": "subject", "op": "in", "value": "a"}, ["in", "value"]),
    ({"field": "subject", "op": "matches", "value": "(a"}, ["matches", "value"]),
    ({"field": "priority", "op": "gt", "value": "severe"}, ["value"]),
    ({"field": "created.hour", "op": "eq", "value": 24}, ["value"]),
    ({"field": "created.weekday", "op": "lte", "value": 7}, ["value"]),
    ({"field": "custom_fields.plan", "op": "eq", "value": "gold"}, ["field"]),
    ({"field": "nonsense", "op": "eq", "value": "x"}, ["eq", "field"]),
])
async def test_condition_that_does_not_fit_its_field_is_422_at_its_loc(
        client, factory, admin_headers, problem, condition, loc):
    desk = await factory.desk()
    body = problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "bad", "conditions": {"any": [condition]}}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "conditions", "any", 0, *loc]]


async def test_custom_field_condition_is_checked_against_the_desks_field(client, factory,
                                                                         admin_headers, problem):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers, json={
        "key": "seats", "label": "Seats", "type": "integer"}), 201)
    good = {"field": "custom_fields.seats", "op": "gte", "value": 10}
    await new_rule(client, admin_headers, desk.id, conditions={"all": [good]})
    body = problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "bad", "conditions": {"all": [
            {**good, "value": "ten"}]}}), 422)
    assert body["errors"][0]["loc"] == ["body", "conditions", "all", 0, "value"]


async def test_actions_naming_what_the_desk_lacks_are_422_at_their_loc(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    other = await factory.desk()
    outsider = await factory.user()
    foreign_team = await new_team(client, admin_headers, other.id)
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers, json={
        "key": "seats", "label": "Seats", "type": "integer"}), 201)
    body = problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "bad", "actions": [
            {"type": "assign_agent", "value": outsider.id},
            {"type": "assign_team", "value": foreign_team},
            {"type": "assign_round_robin", "value": foreign_team},
            {"type": "assign_least_loaded", "value": 999_999},
            {"type": "move_to_desk", "value": desk.id},
            {"type": "set_field", "value": {"key": "plan", "value": "gold"}},
            {"type": "set_field", "value": {"key": "seats", "value": "many"}},
            {"type": "set_priority", "value": "low"},
        ]}), 422)
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "actions", 0, "value"], ["body", "actions", 1, "value"],
        ["body", "actions", 2, "value"], ["body", "actions", 3, "value"],
        ["body", "actions", 4, "value"], ["body", "actions", 5, "value", "key"],
        ["body", "actions", 6, "value", "value"]]


async def test_actions_naming_the_desks_agent_team_and_field_are_accepted(client, factory,
                                                                          admin_headers):
    desk, target = await factory.desk(), await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    team = await new_team(client, admin_headers, desk.id)
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers, json={
        "key": "seats", "label": "Seats", "type": "integer"}), 201)
    actions = [{"type": "assign_agent", "value": agent.id},
               {"type": "assign_team", "value": team},
               {"type": "assign_round_robin", "value": team},
               {"type": "assign_least_loaded", "value": team},
               {"type": "set_field", "value": {"key": "seats", "value": 3}},
               {"type": "move_to_desk", "value": target.id}]
    rule = await new_rule(client, admin_headers, desk.id, actions=actions)
    assert [x["type"] for x in rule["actions"]] == [x["type"] for x in actions]


async def test_move_target_outside_the_callers_desks_is_422(client, factory, admin_headers,
                                                            problem):
    desk, hidden = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["rules:write"], desk_ids=[desk.id])
    body = problem(await client.post(URL, headers=headers, json={
        "desk_id": desk.id, "name": "x", "actions": [{"type": "move_to_desk",
                                                      "value": hidden.id}]}), 422)
    assert body["errors"] == [{"loc": ["body", "actions", 0, "value"],
                               "msg": f"desk {hidden.id} does not exist", "type": "value_error"}]


async def test_sandbox_desk_rule_cannot_move_tickets_to_a_standard_desk(client, factory,
                                                                        admin_headers, problem):
    sandbox, other_sandbox = await factory.desk(kind="sandbox"), await factory.desk(kind="sandbox")
    standard = await factory.desk()
    move = {"desk_id": sandbox.id, "name": "x"}
    body = problem(await client.post(URL, headers=admin_headers, json={
        **move, "actions": [{"type": "move_to_desk", "value": standard.id}]}), 422)
    assert "sandbox" in body["errors"][0]["msg"]
    await new_rule(client, admin_headers, sandbox.id,
                   actions=[{"type": "move_to_desk", "value": other_sandbox.id}])


async def test_reply_with_bad_template_is_422_at_the_template(client, factory, admin_headers,
                                                              problem):
    desk = await factory.desk()
    body = problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "x",
        "actions": [{"type": "reply", "value": {"body": "Hi {{ requester.name"}}]}), 422)
    assert body["errors"][0]["loc"] == ["body", "actions", 0, "reply", "value", "body"]


async def test_patch_checks_new_actions_against_the_desk(client, factory, admin_headers,
                                                         problem):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    body = problem(await client.patch(f"{URL}/{rule['id']}", headers=admin_headers, json={
        "actions": [{"type": "move_to_desk", "value": desk.id}]}), 422)
    assert body["errors"][0]["loc"] == ["body", "actions", 0, "value"]
    assert ok(await client.get(f"{URL}/{rule['id']}", headers=admin_headers))["actions"] == ASSIGN


async def test_huge_position_or_id_is_422_not_500(client, factory, admin_headers, problem):
    desk = await factory.desk()
    problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "x", "position": 2**40}), 422)
    problem(await client.post(URL, headers=admin_headers, json={
        "desk_id": desk.id, "name": "x", "actions": [{"type": "assign_agent",
                                                      "value": 2**40}]}), 422)
    problem(await client.get(f"{URL}/{2**40}", headers=admin_headers), 422)


async def test_staff_agent_reads_rules_but_only_a_desk_manager_changes_them(
        client, factory, admin_headers, problem, session):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id)
    agent = await agent_headers(client, factory, desk.id)
    assert await listed(client, agent, desk.id) == [rule["id"]]
    problem(await client.post(URL, headers=agent, json={"desk_id": desk.id, "name": "x"}), 403)
    problem(await client.patch(f"{URL}/{rule['id']}", headers=agent, json={"name": "y"}), 403)
    problem(await client.delete(f"{URL}/{rule['id']}", headers=agent), 403)
    await session.execute(update(DeskMember).where(DeskMember.desk_id == desk.id)
                          .values(role="manager"))
    ok(await client.patch(f"{URL}/{rule['id']}", headers=agent, json={"name": "y"}))
