"""`GET /v1/tickets/{id}/routing`: the routing state and runs of a ticket, within the caller's
desks."""

from __future__ import annotations

import pytest

from app.models import RoutingRun
from app.routing.tasks import route_ticket
from tests.conftest import bearer
from tests.routing.test_execution import add_rule, new_ticket


@pytest.fixture
def ctx(sessionmaker, settings) -> dict:
    return {"sessionmaker": sessionmaker, "settings": settings, "redis": None, "job_try": 1}


def url(ticket_id: int) -> str:
    return f"/v1/tickets/{ticket_id}/routing"


async def test_a_pending_ticket_has_its_state_and_no_runs(client, session, factory,
                                                          admin_headers):
    desk = await factory.desk()
    ticket = await new_ticket(session, desk)
    response = await client.get(url(ticket.id), headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"ticket_id": ticket.id, "routing_state": "pending", "items": [],
                               "next_cursor": None}


async def test_a_routed_ticket_lists_its_run_with_every_action_and_its_outcome(
        client, session, factory, ctx):
    desk = await factory.desk()
    outsider = await factory.user()
    rule_id = await add_rule(session, desk.id, [{"type": "set_priority", "value": "high"},
                                                {"type": "assign_agent", "value": outsider.id}])
    ticket = await new_ticket(session, desk)
    await route_ticket(ctx, ticket.id)
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))

    body = (await client.get(url(ticket.id), headers=headers)).json()

    assert body["routing_state"] == "done"
    [run] = body["items"]
    assert {k: run[k] for k in ("ticket_id", "desk_id", "attempt", "outcome", "matched_rule_ids",
                                "hops", "error")} == {
        "ticket_id": ticket.id, "desk_id": desk.id, "attempt": 1, "outcome": "done",
        "matched_rule_ids": [rule_id], "hops": 0, "error": None}
    assert run["actions"][0] == {"desk_id": desk.id, "rule_id": rule_id, "type": "set_priority",
                                 "value": "high", "result": "applied", "detail": None}
    assert run["actions"][1]["result"] == "skipped"
    assert "not an agent" in run["actions"][1]["detail"]
    assert run["duration_ms"] > 0 and run["created_at"]


async def test_runs_page_oldest_first_with_a_cursor(client, session, factory, admin_headers,
                                                     problem):
    desk = await factory.desk()
    ticket = await new_ticket(session, desk)
    session.add_all([RoutingRun(ticket_id=ticket.id, desk_id=desk.id, attempt=i,
                                outcome="retrying", error=f"try {i}") for i in (1, 2, 3)])
    await session.flush()

    first = (await client.get(url(ticket.id), headers=admin_headers,
                              params={"limit": 2})).json()
    assert [r["error"] for r in first["items"]] == ["try 1", "try 2"]
    rest = (await client.get(url(ticket.id), headers=admin_headers,
                             params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert ([r["error"] for r in rest["items"]], rest["next_cursor"]) == (["try 3"], None)

    problem(await client.get(url(ticket.id), headers=admin_headers,
                             params={"cursor": "nonsense"}), 400)
    body = problem(await client.get(url(ticket.id), headers=admin_headers,
                                    params={"limit": 0}), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"]


async def test_a_ticket_of_another_desk_is_not_found(client, session, factory, problem):
    mine, theirs = await factory.desk(), await factory.desk("Theirs")
    ticket = await new_ticket(session, theirs)
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[mine.id]))
    problem(await client.get(url(ticket.id), headers=headers), 404)
    problem(await client.get(url(2_000_000_000), headers=headers), 404)


async def test_reading_runs_needs_tickets_read(client, session, factory, problem):
    desk = await factory.desk()
    ticket = await new_ticket(session, desk)
    headers = bearer(await factory.token(["rules:read"], desk_ids=[desk.id]))
    body = problem(await client.get(url(ticket.id), headers=headers), 403)
    assert "tickets:read" in body["detail"]
    problem(await client.get(url(ticket.id)), 401)


async def test_a_malformed_ticket_id_is_a_422_naming_the_path(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets/abc/routing", headers=admin_headers), 422)
    assert body["errors"][0]["loc"] == ["path", "ticket_id"]
