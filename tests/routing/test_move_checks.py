"""A `move_to_desk` (a desk rule's or an organization's) may target only a desk its saver can
write, sandbox tickets stay among sandboxes and real ones never enter one: checked when the
rule or organization is saved (422 at the action's value) and again when routing runs, against
what that saver may write then (a move it could no longer save is skipped, with why)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from app.core.db import utcnow
from app.models import ApiToken, DeskMember, Organization, RoutingRule
from app.routing.tasks import route_ticket
from tests.customers.helpers import ok, token_headers
from tests.routing import test_execution as shared
from tests.routing.test_execution import add_rule, new_ticket, reload, runs_of

ctx = shared.ctx

RULES, ORGS = "/v1/routing-rules", "/v1/organizations"
WRITER = ["rules:write", "organizations:write", "tickets:write"]


def move(desk_id: int) -> list[dict[str, Any]]:
    return [{"type": "move_to_desk", "value": desk_id}]


def body_for(what: str, desk_id: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    if what == RULES:
        return {"desk_id": desk_id, "name": "Move", "actions": actions}
    return {"desk_id": desk_id, "name": "Acme", "domains": ["acme.example"],
            "routing_actions": actions}


def loc(what: str) -> list[Any]:
    return ["body", "actions" if what == RULES else "routing_actions", 0, "value"]


async def routed_once(ctx, session, ticket_id: int):
    assert await route_ticket(ctx, ticket_id) == "done"
    [run] = await runs_of(session, ticket_id)
    return await reload(session, ticket_id), run


# --- when saved --------------------------------------------------------------------------------

@pytest.mark.parametrize("what", [RULES, ORGS])
async def test_a_desk_b_token_cannot_save_a_move_into_desk_a(client, factory, problem, what):
    desk_a, desk_b = await factory.desk("A"), await factory.desk("B")
    headers = await token_headers(factory, WRITER, desk_ids=[desk_b.id])
    body = problem(await client.post(what, headers=headers,
                                     json=body_for(what, desk_b.id, move(desk_a.id))), 422)
    assert body["errors"] == [{"loc": loc(what), "msg": f"desk {desk_a.id} does not exist",
                               "type": "value_error"}]


@pytest.mark.parametrize("what", [RULES, ORGS])
async def test_a_sandbox_token_cannot_save_a_move_out_of_its_sandbox(client, factory, problem,
                                                                     what):
    sandbox, other_sandbox = await factory.desk(kind="sandbox"), await factory.desk(kind="sandbox")
    standard = await factory.desk()
    headers = await token_headers(factory, WRITER, desk_ids=[sandbox.id, other_sandbox.id],
                                  sandbox=True)
    body = problem(await client.post(what, headers=headers,
                                     json=body_for(what, sandbox.id, move(standard.id))), 422)
    assert body["errors"][0]["loc"] == loc(what)
    assert body["errors"][0]["msg"] == f"desk {standard.id} does not exist"
    ok(await client.post(what, headers=headers,
                         json=body_for(what, sandbox.id, move(other_sandbox.id))), 201)


@pytest.mark.parametrize("what", [RULES, ORGS])
async def test_no_one_saves_a_move_from_a_standard_desk_into_a_sandbox(client, factory, problem,
                                                                       admin_headers, what):
    standard, sandbox = await factory.desk(), await factory.desk(kind="sandbox")
    body = problem(await client.post(what, headers=admin_headers,
                                     json=body_for(what, standard.id, move(sandbox.id))), 422)
    assert body["errors"] == [{"loc": loc(what), "type": "value_error",
                               "msg": "only a sandbox desk may move tickets into a sandbox desk"}]


@pytest.mark.parametrize("what", [RULES, ORGS])
async def test_a_move_needs_tickets_write_on_the_target(client, factory, problem, what):
    desk, target = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["rules:write", "organizations:write"],
                                  desk_ids=[desk.id, target.id])
    body = problem(await client.post(what, headers=headers,
                                     json=body_for(what, desk.id, move(target.id))), 422)
    assert body["errors"][0]["msg"] == (
        f"this credential may not write tickets in desk {target.id}")


async def test_patching_an_organization_checks_its_actions_against_its_desk(
        client, factory, problem, admin_headers):
    desk_a, desk_b = await factory.desk("A"), await factory.desk("B")
    outsider = await factory.user()
    headers = await token_headers(factory, WRITER, desk_ids=[desk_b.id])
    org = ok(await client.post(ORGS, headers=headers, json=body_for(ORGS, desk_b.id, [])), 201)
    url = f"{ORGS}/{org['id']}"
    body = problem(await client.patch(url, headers=headers, json={"routing_actions": [
        *move(desk_a.id), {"type": "assign_agent", "value": outsider.id}]}), 422)
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "routing_actions", 0, "value"], ["body", "routing_actions", 1, "value"]]
    assert ok(await client.get(url, headers=admin_headers))["routing_actions"] == []


# --- when routing runs -------------------------------------------------------------------------

async def saved_rule(client, factory, session, desk, target) -> RoutingRule:
    """A move rule saved over HTTP by a token writing both desks."""
    headers = await token_headers(factory, WRITER, desk_ids=[desk.id, target.id])
    rule = ok(await client.post(RULES, headers=headers,
                                json=body_for(RULES, desk.id, move(target.id))), 201)
    return await session.get_one(RoutingRule, rule["id"])


async def test_a_move_its_saver_may_still_write_is_applied(ctx, client, factory, session):
    desk, target = await factory.desk(), await factory.desk()
    rule = await saved_rule(client, factory, session, desk, target)
    assert rule.actions_saved_by_kind == "api_token"
    routed, run = await routed_once(ctx, session, (await new_ticket(session, desk)).id)
    assert routed.desk_id == target.id
    assert [a["result"] for a in run.actions] == ["applied"]


async def test_a_move_saved_by_a_token_since_revoked_is_skipped_with_why(ctx, client, factory,
                                                                        session):
    desk, target = await factory.desk(), await factory.desk()
    rule = await saved_rule(client, factory, session, desk, target)
    await session.execute(update(ApiToken).where(ApiToken.id == rule.actions_saved_by_id)
                          .values(revoked_at=utcnow()))
    routed, run = await routed_once(ctx, session, (await new_ticket(session, desk)).id)
    assert (routed.desk_id, routed.routing_state) == (desk.id, "done")
    [entry] = run.actions
    assert (entry["rule_id"], entry["result"]) == (rule.id, "skipped")
    assert "revoked" in entry["detail"]


async def test_a_move_to_a_desk_its_token_no_longer_sees_is_skipped(ctx, client, factory,
                                                                   session):
    desk, target = await factory.desk(), await factory.desk()
    rule = await saved_rule(client, factory, session, desk, target)
    await session.execute(update(ApiToken).where(ApiToken.id == rule.actions_saved_by_id)
                          .values(desk_ids=[desk.id]))
    routed, run = await routed_once(ctx, session, (await new_ticket(session, desk)).id)
    assert routed.desk_id == desk.id
    assert run.actions[0]["result"] == "skipped"
    assert run.actions[0]["detail"] == (
        f"whoever saved the action may no longer write tickets in desk {target.id}")


async def test_a_move_saved_by_an_agent_who_left_the_target_desk_is_skipped(ctx, factory,
                                                                           session):
    desk, target = await factory.desk(), await factory.desk()
    agent = await factory.user(desks=(desk.id, target.id))
    await add_rule(session, desk.id, move(target.id), saved_by=("user", agent.id))
    first = await new_ticket(session, desk)
    assert (await routed_once(ctx, session, first.id))[0].desk_id == target.id

    await session.execute(delete(DeskMember).where(DeskMember.desk_id == target.id,
                                                   DeskMember.user_id == agent.id))
    second = await new_ticket(session, desk, email="bo@acme.example")
    routed, run = await routed_once(ctx, session, second.id)
    assert routed.desk_id == desk.id
    assert "may no longer write tickets" in run.actions[0]["detail"]


async def test_a_move_whose_saver_is_unknown_is_skipped(ctx, factory, session):
    desk, target = await factory.desk(), await factory.desk()
    await add_rule(session, desk.id, move(target.id), saved_by=(None, None))
    routed, run = await routed_once(ctx, session, (await new_ticket(session, desk)).id)
    assert routed.desk_id == desk.id
    assert run.actions[0]["result"] == "skipped"
    assert "save it again" in run.actions[0]["detail"]


async def test_an_organizations_move_is_checked_against_its_saver_too(ctx, client, factory,
                                                                     session):
    desk, target = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, WRITER, desk_ids=[desk.id, target.id])
    org = ok(await client.post(ORGS, headers=headers,
                               json=body_for(ORGS, desk.id, move(target.id))), 201)
    saver = await session.scalar(select(Organization.actions_saved_by_id)
                                 .where(Organization.id == org["id"]))
    await session.execute(update(ApiToken).where(ApiToken.id == saver)
                          .values(desk_ids=[desk.id]))
    ticket = await new_ticket(session, desk)  # ana@acme.example: the organization's customer
    assert ticket.organization_id == org["id"]
    routed, run = await routed_once(ctx, session, ticket.id)
    assert routed.desk_id == desk.id
    [entry] = run.actions
    assert (entry["rule_id"], entry["type"], entry["result"]) == (None, "move_to_desk",
                                                                  "skipped")
