"""`POST /v1/tickets/{id}/transfer` and the tickets that follow customer and organization
transfers: same id, a new number, the requester and organization of the target desk, the
assignee and team kept only where they have access, comments along, `ticket.transferred`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Attachment, Comment, SurveyResponse, Ticket
from tests.customers.helpers import (
    agent_headers,
    count,
    create_customer,
    create_org,
    customers_in,
    error_locs,
    events,
    ok,
    organizations_in,
    set_auto_create,
)


async def _transfer(client, headers, ticket_id: int, desk_id: int):
    return await client.post(f"/v1/tickets/{ticket_id}/transfer", headers=headers,
                             json={"desk_id": desk_id})


async def test_a_transfer_keeps_the_id_and_numbers_the_ticket_in_the_target(
        client, factory, admin_headers, new_ticket, get_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    await new_ticket(target.id)
    await new_ticket(target.id)
    ticket = await new_ticket(source.id, subject="Moving", tags=["vip"], priority="high",
                              status="pending")
    response = await _transfer(client, admin_headers, ticket["id"], target.id)
    moved = ok(response)
    assert (moved["id"], moved["desk_id"], moved["number"]) == (ticket["id"], target.id, 3)
    assert {k: moved[k] for k in ("subject", "tags", "priority", "status", "description")} == {
        k: ticket[k] for k in ("subject", "tags", "priority", "status", "description")}
    assert await get_ticket(ticket["id"]) == moved
    assert (await new_ticket(target.id))["number"] == 4
    assert (await new_ticket(source.id))["number"] == 2  # the source's numbers are not reused


async def test_the_requester_is_found_in_the_target_by_email(client, factory, admin_headers,
                                                             session, new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    org = await create_org(client, admin_headers, target.id, domains=["acme.example"])
    there = await create_customer(client, admin_headers, target.id, "ana@acme.example")
    ticket = await new_ticket(source.id, requester={"email": "Ana@acme.example"})
    moved = ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    assert (moved["requester_id"], moved["organization_id"]) == (there["id"], org["id"])
    assert [c.id for c in await customers_in(session, target.id)] == [there["id"]]
    # the customer of the source desk stays there
    assert [c.id for c in await customers_in(session, source.id)] == [ticket["requester_id"]]


async def test_the_requester_is_created_in_the_target_with_its_organization_there(
        client, factory, admin_headers, session, new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    await create_org(client, admin_headers, source.id, "Acme here", domains=["acme.example"])
    org = await create_org(client, admin_headers, target.id, "Acme there",
                           domains=["acme.example"])
    ticket = await new_ticket(source.id, requester={"email": "ana@acme.example", "name": "Ana"})
    moved = ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    [created] = await customers_in(session, target.id)
    assert (created.email, created.name, created.organization_id) == (
        "ana@acme.example", "Ana", org["id"])
    assert (moved["requester_id"], moved["organization_id"]) == (created.id, org["id"])
    assert [e.subject_id for e in await events(session, "customer.created",
                                               desk_id=target.id)] == [created.id]


async def test_without_an_organization_in_the_target_the_ticket_has_none(client, factory,
                                                                         admin_headers,
                                                                         new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    await create_org(client, admin_headers, source.id, domains=["acme.example"])
    ticket = await new_ticket(source.id)
    assert ticket["organization_id"] is not None
    assert ok(await _transfer(client, admin_headers, ticket["id"], target.id))[
        "organization_id"] is None


async def test_an_auto_creating_target_makes_the_organization_there(client, factory,
                                                                    admin_headers, session,
                                                                    new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    await set_auto_create(client, admin_headers, target.id)
    ticket = await new_ticket(source.id, requester={"email": "ana@newco.example"})
    moved = ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    [org] = await organizations_in(session, target.id)
    assert moved["organization_id"] == org.id


async def test_an_assignee_who_is_an_agent_of_the_target_is_kept(client, factory, admin_headers,
                                                                 new_ticket, desk_team):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    both = await factory.user(desks=(source.id, target.id))
    via_team = await factory.user(desks=(source.id,))
    await desk_team(target.id, members=(via_team.id,))
    admin = await factory.user(role="admin")
    for user in (both, via_team, admin):
        ticket = await new_ticket(source.id, assignee_id=user.id)
        moved = ok(await _transfer(client, admin_headers, ticket["id"], target.id))
        assert moved["assignee_id"] == user.id


async def test_an_assignee_without_access_to_the_target_is_cleared(client, factory,
                                                                   admin_headers, new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    agent = await factory.user(desks=(source.id,))
    ticket = await new_ticket(source.id, assignee_id=agent.id)
    assert ok(await _transfer(client, admin_headers, ticket["id"], target.id))[
        "assignee_id"] is None


async def test_a_team_is_kept_only_if_it_has_access_to_the_target(client, factory, admin_headers,
                                                                  new_ticket, desk_team):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    shared = await desk_team(source.id, target.id)
    local = await desk_team(source.id)
    kept = await new_ticket(source.id, team_id=shared)
    dropped = await new_ticket(source.id, team_id=local)
    assert ok(await _transfer(client, admin_headers, kept["id"], target.id))["team_id"] == shared
    assert ok(await _transfer(client, admin_headers, dropped["id"], target.id))[
        "team_id"] is None


async def test_comments_move_with_the_ticket(client, factory, admin_headers, session,
                                             new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    ticket = await new_ticket(source.id)
    for body, public in (("hello", True), ("note", False)):
        ok(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                             json={"body": body, "public": public}), 201)
    ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    listed = ok(await client.get(f"/v1/tickets/{ticket['id']}/comments",
                                 headers=admin_headers))["items"]
    assert [(c["body"], c["desk_id"]) for c in listed] == [("hello", target.id),
                                                           ("note", target.id)]
    assert await count(session, Comment, desk_id=source.id) == 0


async def test_a_transfer_writes_ticket_transferred_with_the_desk_change(
        client, factory, admin_headers, new_ticket, history):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    agent = await factory.user(desks=(source.id,))
    ticket = await new_ticket(source.id, assignee_id=agent.id)
    moved = ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    last = (await history(ticket["id"]))[-1]
    assert last["type"] == "ticket.transferred"
    assert last["desk_id"] == target.id
    assert last["data"] == moved
    assert last["changes"]["desk_id"] == [source.id, target.id]
    assert last["changes"]["requester_id"] == [ticket["requester_id"], moved["requester_id"]]
    assert last["changes"]["assignee_id"] == [agent.id, None]


async def test_the_target_desks_agents_reach_the_moved_ticket_and_the_sources_do_not(
        client, factory, admin_headers, new_ticket, problem):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    in_source = await agent_headers(client, factory, source.id)
    in_target = await agent_headers(client, factory, target.id)
    ticket = await new_ticket(source.id)
    ok(await _transfer(client, admin_headers, ticket["id"], target.id))
    problem(await client.get(f"/v1/tickets/{ticket['id']}", headers=in_source), 404)
    assert ok(await client.get(f"/v1/tickets/{ticket['id']}", headers=in_target))[
        "desk_id"] == target.id
    assert ok(await client.get(f"/v1/tickets/{ticket['id']}/events", headers=in_target))["items"]


async def test_an_agent_of_both_desks_may_transfer(client, factory, new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    headers = await agent_headers(client, factory, source.id, target.id)
    ticket = await new_ticket(source.id)
    assert ok(await _transfer(client, headers, ticket["id"], target.id))["desk_id"] == target.id


# --- refused transfers -------------------------------------------------------------------------


async def test_a_target_outside_the_scope_is_404_and_nothing_moves(client, factory, session,
                                                                   new_ticket, get_ticket,
                                                                   problem):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    headers = await agent_headers(client, factory, source.id)
    ticket = await new_ticket(source.id)
    for desk_id in (target.id, 2_000_000_000):
        problem(await _transfer(client, headers, ticket["id"], desk_id), 404)
    assert await get_ticket(ticket["id"]) == ticket
    assert await customers_in(session, target.id) == []


async def test_an_archived_target_is_409_and_nothing_moves(client, factory, admin_headers,
                                                           session, new_ticket, get_ticket,
                                                           problem):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    ok(await client.post(f"/v1/desks/{target.id}/archive", headers=admin_headers))
    ticket = await new_ticket(source.id)
    problem(await _transfer(client, admin_headers, ticket["id"], target.id), 409)
    assert await get_ticket(ticket["id"]) == ticket
    assert await customers_in(session, target.id) == []


async def test_a_transfer_into_its_own_desk_is_422(client, factory, admin_headers, new_ticket,
                                                   get_ticket, problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    body = problem(await _transfer(client, admin_headers, ticket["id"], desk.id), 422)
    assert error_locs(body) == [["body", "desk_id"]]
    assert await get_ticket(ticket["id"]) == ticket


async def test_a_closed_ticket_cannot_move(client, factory, admin_headers, session, new_ticket,
                                           patch_ticket, get_ticket, problem, history):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    ticket = await new_ticket(source.id)
    closed = ok(await patch_ticket(ticket["id"], status="closed"))
    problem(await _transfer(client, admin_headers, ticket["id"], target.id), 409)
    assert await get_ticket(ticket["id"]) == closed
    assert "ticket.transferred" not in [e["type"] for e in await history(ticket["id"])]
    assert await customers_in(session, target.id) == []


@pytest.mark.parametrize(("payload", "loc"), [
    ({}, ["body", "desk_id"]),
    ({"desk_id": 0}, ["body", "desk_id"]),
    ({"desk_id": "two"}, ["body", "desk_id"]),
    ({"desk_id": 1, "keep_number": True}, ["body", "keep_number"]),
])
async def test_a_transfer_body_is_validated(client, factory, admin_headers, new_ticket, problem,
                                            payload, loc):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    body = problem(await client.post(f"/v1/tickets/{ticket['id']}/transfer",
                                     headers=admin_headers, json=payload), 422)
    assert error_locs(body) == [loc]


async def test_a_missing_ticket_transfer_is_404(client, factory, admin_headers, problem):
    desk = await factory.desk()
    problem(await _transfer(client, admin_headers, 2_000_000_000, desk.id), 404)


# --- customer and organization transfers -------------------------------------------------------


OPEN = ["new", "open", "pending", "on_hold"]


async def _tickets_by_status(new_ticket, patch_ticket, desk_id: int, requester_id: int
                             ) -> dict[str, dict]:
    made = {}
    for status in [*OPEN, "solved"]:
        made[status] = await new_ticket(desk_id, requester_id=requester_id, status=status,
                                        subject=status)
    closed = await new_ticket(desk_id, requester_id=requester_id, subject="closed")
    made["closed"] = ok(await patch_ticket(closed["id"], status="closed"))
    return made


async def test_a_customer_transfer_moves_its_unsolved_tickets(client, factory, admin_headers,
                                                              session, new_ticket, patch_ticket,
                                                              get_ticket, history):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    org = await create_org(client, admin_headers, target.id, domains=["acme.example"])
    await new_ticket(target.id, requester={"email": "someone@else.example"})
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    made = await _tickets_by_status(new_ticket, patch_ticket, source.id, customer["id"])
    ok(await client.post(f"/v1/customers/{customer['id']}/transfer", headers=admin_headers,
                         json={"desk_id": target.id, "move_open_tickets": True}))
    numbers = []
    for status, ticket in made.items():
        now = await get_ticket(ticket["id"])
        if status in OPEN:
            assert (now["desk_id"], now["requester_id"], now["organization_id"]) == (
                target.id, customer["id"], org["id"]), status
            numbers.append(now["number"])
            assert (await history(ticket["id"]))[-1]["changes"]["desk_id"] == [source.id,
                                                                               target.id]
        else:
            assert now["desk_id"] == source.id, status
    assert numbers == [2, 3, 4, 5]
    assert await count(session, Ticket, desk_id=target.id) == 5


async def test_a_customer_transfer_without_move_open_tickets_leaves_them(
        client, factory, admin_headers, new_ticket, patch_ticket, get_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    made = await _tickets_by_status(new_ticket, patch_ticket, source.id, customer["id"])
    ok(await client.post(f"/v1/customers/{customer['id']}/transfer", headers=admin_headers,
                         json={"desk_id": target.id, "move_open_tickets": False}))
    for ticket in made.values():
        assert (await get_ticket(ticket["id"]))["desk_id"] == source.id


async def test_an_organization_transfer_moves_its_customers_open_tickets(
        client, factory, admin_headers, session, new_ticket, patch_ticket, get_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    ana = await new_ticket(source.id, requester={"email": "ana@acme.example"})
    bob = await new_ticket(source.id, requester={"email": "bob@acme.example"}, status="on_hold")
    solved = await new_ticket(source.id, requester={"email": "bob@acme.example"},
                              status="solved")
    outsider = await new_ticket(source.id, requester={"email": "eve@other.example"})
    assert ana["organization_id"] == bob["organization_id"] == org["id"]
    ok(await client.post(f"/v1/organizations/{org['id']}/transfer", headers=admin_headers,
                         json={"desk_id": target.id}))
    for ticket in (ana, bob):
        now = await get_ticket(ticket["id"])
        assert (now["desk_id"], now["organization_id"], now["requester_id"]) == (
            target.id, org["id"], ticket["requester_id"])
    assert (await get_ticket(solved["id"]))["desk_id"] == source.id
    assert (await get_ticket(outsider["id"]))["desk_id"] == source.id
    assert sorted([(await get_ticket(t["id"]))["number"] for t in (ana, bob)]) == [1, 2]


async def test_attachments_and_survey_answers_follow_a_transferred_ticket(
        client, factory, session, admin_headers, new_ticket):
    source, target = await factory.desk("Source"), await factory.desk("Target")
    ticket = await new_ticket(source.id, status="solved")
    session.add(Attachment(desk_id=source.id, ticket_id=ticket["id"], filename="a.txt",
                           content_type="text/plain", size=1, content=b"a"))
    session.add(SurveyResponse(desk_id=source.id, ticket_id=ticket["id"], rating=5))
    await session.flush()

    ok(await _transfer(client, admin_headers, ticket["id"], target.id))

    for model in (Attachment, SurveyResponse):
        desks = (await session.scalars(
            select(model.desk_id).where(model.ticket_id == ticket["id"]))).all()
        assert desks == [target.id], model
