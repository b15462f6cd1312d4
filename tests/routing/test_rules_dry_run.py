"""`POST /v1/routing-rules/test`: the engine as a dry run on a stored or an unsaved ticket."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from app.models import Comment, Event, RoutingRule, Ticket
from app.routing.facts import load_facts
from tests.customers.helpers import create_org, ok, token_headers

URL = "/v1/routing-rules"


async def new_rule(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                   actions: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    return ok(await client.post(URL, headers=headers, json={
        "desk_id": desk_id, "name": "Rule", "actions": actions, **body}), 201)


async def new_ticket(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                     **body: Any) -> dict[str, Any]:
    return ok(await client.post("/v1/tickets", headers=headers, json={
        "desk_id": desk_id, "subject": "Invoice 42 is wrong", "description": "Please fix",
        "requester": {"email": "ana@acme.example", "name": "Ana"}, **body}), 201)


def when(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


async def test_dry_run_on_a_stored_ticket_answers_matches_actions_and_result(
        client, factory, admin_headers, session):
    desk = await factory.desk()
    matching = await new_rule(client, admin_headers, desk.id, [
        {"type": "set_priority", "value": "urgent"}, {"type": "add_tags", "value": ["billing"]}],
        conditions={"all": [when("subject", "contains", "INVOICE"),
                            when("requester.domain", "eq", "acme.example")]})
    await new_rule(client, admin_headers, desk.id, [{"type": "set_status", "value": "solved"}],
                   conditions={"all": [when("subject", "contains", "printer")]})
    ticket = await new_ticket(client, admin_headers, desk.id)
    events_before = await session.scalar(select(func.count()).select_from(Event))

    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"ticket_id": ticket["id"]}))

    assert answer["matched"] == [matching["id"]]
    assert answer["actions"] == [
        {"rule_id": matching["id"], "type": "set_priority", "value": "urgent", "preview": None},
        {"rule_id": matching["id"], "type": "add_tags", "value": ["billing"], "preview": None}]
    result = answer["result"]
    assert (result["id"], result["number"], result["desk_id"]) == (
        ticket["id"], ticket["number"], desk.id)
    assert (result["priority"], result["tags"], result["status"]) == ("urgent", ["billing"], "new")
    assert result["requester_email"] == "ana@acme.example"
    assert answer["move_to_desk_id"] is None
    # nothing changed
    stored = ok(await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers))
    assert (stored["priority"], stored["tags"], stored["version"]) == ("normal", [], 1)
    assert await session.scalar(select(func.count()).select_from(Event)) == events_before


async def test_dry_run_on_an_unsaved_ticket_applies_org_actions_first(client, factory,
                                                                      admin_headers):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"],
                           routing_actions=[{"type": "set_priority", "value": "high"},
                                            {"type": "set_type", "value": "vip"}])
    rule = await new_rule(client, admin_headers, desk.id, [{"type": "set_type",
                                                            "value": "escalation"}],
                          conditions={"all": [when("priority", "gte", "high"),
                                              when("organization_id", "eq", org["id"])]})
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers, json={
        "desk_id": desk.id, "ticket": {"subject": "Hello",
                                       "requester": {"email": "BOB@Acme.Example"}}}))
    assert answer["matched"] == [rule["id"]]
    assert [(x["rule_id"], x["type"]) for x in answer["actions"]] == [
        (None, "set_priority"), (None, "set_type"), (rule["id"], "set_type")]
    result = answer["result"]
    assert (result["id"], result["organization_id"], result["type"], result["priority"]) == (
        None, org["id"], "escalation", "high")
    assert result["requester_email"] == "bob@acme.example"


async def test_dry_run_uses_the_desks_time_zone_for_created_hour(client, factory, admin_headers):
    desk = await factory.desk(settings={"time_zone": "Asia/Tokyo"})
    night = await new_rule(client, admin_headers, desk.id, [{"type": "add_tags",
                                                             "value": ["after-hours"]}],
                           conditions={"any": [when("created.hour", "lt", 8),
                                               when("created.hour", "gte", 18)]})
    draft = {"subject": "Help", "created_at": "2026-03-02T10:30:00Z"}  # 19:30 in Tokyo
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"desk_id": desk.id, "ticket": draft}))
    assert answer["matched"] == [night["id"]]
    noon_tokyo = {**draft, "created_at": "2026-03-02T03:00:00Z"}
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"desk_id": desk.id, "ticket": noon_tokyo}))
    assert answer["matched"] == []


async def test_dry_run_skips_disabled_rules_and_honours_position_and_stop(client, factory,
                                                                          admin_headers):
    desk = await factory.desk()
    await new_rule(client, admin_headers, desk.id, [{"type": "set_type", "value": "disabled"}],
                   position=0, enabled=False)
    second = await new_rule(client, admin_headers, desk.id,
                            [{"type": "set_type", "value": "second"}], position=2)
    first = await new_rule(client, admin_headers, desk.id,
                           [{"type": "set_type", "value": "first"}], position=1,
                           stop_processing=True)
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"desk_id": desk.id, "ticket": {"subject": "x"}}))
    assert answer["matched"] == [first["id"]]
    assert answer["result"]["type"] == "first"
    ok(await client.patch(f"{URL}/{first['id']}", headers=admin_headers,
                          json={"stop_processing": False}))
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"desk_id": desk.id, "ticket": {"subject": "x"}}))
    assert answer["matched"] == [first["id"], second["id"]]
    assert answer["result"]["type"] == "second"


async def test_dry_run_reports_a_move_and_previews_replies(client, factory, admin_headers,
                                                           session):
    desk, target = await factory.desk(), await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id, [
        {"type": "reply", "value": {"body": "Hi {{ requester.name }}: {{ ticket.subject }}"}},
        {"type": "move_to_desk", "value": target.id},
        {"type": "add_tags", "value": ["never"]}])
    ticket = await new_ticket(client, admin_headers, desk.id)
    answer = ok(await client.post(f"{URL}/test", headers=admin_headers,
                                  json={"ticket_id": ticket["id"]}))
    assert answer["move_to_desk_id"] == target.id
    assert answer["result"]["desk_id"] == target.id and answer["result"]["tags"] == []
    assert [x["type"] for x in answer["actions"]] == ["reply", "move_to_desk"]
    assert answer["actions"][0]["preview"] == "Hi Ana: Invoice 42 is wrong"
    assert answer["matched"] == [rule["id"]]
    assert await session.scalar(select(func.count()).select_from(Comment)
                                .where(Comment.ticket_id == ticket["id"])) == 0


async def test_dry_run_checks_the_unsaved_ticket_like_a_create(client, factory, admin_headers,
                                                               problem):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers, json={
        "key": "seats", "label": "Seats", "type": "integer"}), 201)
    outsider = await factory.user()
    body = problem(await client.post(f"{URL}/test", headers=admin_headers, json={
        "desk_id": desk.id, "ticket": {"subject": "x", "custom_fields": {"seats": "many"}}}), 422)
    assert body["errors"][0]["loc"] == ["body", "ticket", "custom_fields", "seats"]
    body = problem(await client.post(f"{URL}/test", headers=admin_headers, json={
        "desk_id": desk.id, "ticket": {"subject": "x", "assignee_id": outsider.id}}), 422)
    assert body["errors"][0]["loc"] == ["body", "ticket", "assignee_id"]
    body = problem(await client.post(f"{URL}/test", headers=admin_headers, json={
        "desk_id": desk.id, "ticket": {"subject": "", "priority": "severe"}}), 422)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "ticket", "subject"),
                                                         ("body", "ticket", "priority")}


async def test_dry_run_needs_exactly_one_form(client, factory, admin_headers, problem):
    desk = await factory.desk()
    for body in ({}, {"desk_id": desk.id}, {"ticket": {"subject": "x"}},
                 {"ticket_id": 1, "desk_id": desk.id, "ticket": {"subject": "x"}}):
        problem(await client.post(f"{URL}/test", headers=admin_headers, json=body), 422)


async def test_dry_run_on_another_desks_ticket_or_desk_is_404(client, factory, admin_headers,
                                                              problem):
    mine, theirs = await factory.desk(), await factory.desk()
    ticket = await new_ticket(client, admin_headers, theirs.id)
    headers = await token_headers(factory, ["rules:read", "tickets:read"], desk_ids=[mine.id])
    problem(await client.post(f"{URL}/test", headers=headers,
                              json={"ticket_id": ticket["id"]}), 404)
    problem(await client.post(f"{URL}/test", headers=headers,
                              json={"desk_id": theirs.id, "ticket": {"subject": "x"}}), 404)
    ok(await client.post(f"{URL}/test", headers=headers,
                         json={"desk_id": mine.id, "ticket": {"subject": "x"}}))


async def test_dry_run_on_a_stored_ticket_needs_tickets_read(client, factory, admin_headers,
                                                             problem):
    desk = await factory.desk()
    ticket = await new_ticket(client, admin_headers, desk.id)
    headers = await token_headers(factory, ["rules:read"], desk_ids=[desk.id])
    body = problem(await client.post(f"{URL}/test", headers=headers,
                                     json={"ticket_id": ticket["id"]}), 403)
    assert body["required_scope"] == "tickets:read"


async def test_dry_run_changes_no_rule(client, factory, admin_headers, session):
    desk = await factory.desk()
    rule = await new_rule(client, admin_headers, desk.id, [{"type": "set_type", "value": "x"}])
    ok(await client.post(f"{URL}/test", headers=admin_headers,
                         json={"desk_id": desk.id, "ticket": {"subject": "x"}}))
    version = await session.scalar(select(RoutingRule.version)
                                   .where(RoutingRule.id == rule["id"]))
    assert version == 1


async def test_load_facts_reads_requester_and_desk_time_zone(client, factory, admin_headers,
                                                             session):
    desk = await factory.desk(settings={"time_zone": "Europe/Berlin"})
    created = await new_ticket(client, admin_headers, desk.id, priority="urgent", tags=["vip"],
                               requester={"email": "Ana@Acme.Example", "name": "Ana"})
    ticket = await session.get_one(Ticket, created["id"])
    facts = await load_facts(session, ticket)
    assert {k: facts[k] for k in ("requester.email", "requester.domain", "priority", "tags",
                                  "time_zone", "desk_id", "number", "source")} == {
        "requester.email": "ana@acme.example", "requester.domain": "acme.example",
        "priority": "urgent", "tags": ["vip"], "time_zone": "Europe/Berlin",
        "desk_id": desk.id, "number": created["number"], "source": "api"}
    assert facts["created_at"].tzinfo is not None
    utc_desk = await factory.desk()
    other = await session.get_one(Ticket, (await new_ticket(client, admin_headers,
                                                            utc_desk.id))["id"])
    assert (await load_facts(session, other))["time_zone"] == "UTC"
