"""`PATCH /v1/tickets/{id}`: the status lifecycle (nothing follows `closed`), `solved_at`,
ETag / If-Match, clearing with null, assignee and team checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.models import Event, Ticket
from tests.customers.helpers import agent_headers, count, error_locs, ok

STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"]
NOT_CLOSED = STATUSES[:-1]


async def _age(session, ticket_id: int, **values: datetime) -> None:
    """Move a ticket's timestamps into the past (each test runs in one transaction, where
    `now()` stands still)."""
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                          .execution_options(synchronize_session=False))


# --- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("start", NOT_CLOSED)
async def test_any_status_may_follow_any_other_but_closed(factory, new_ticket, patch_ticket,
                                                          get_ticket, start, target):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status=start)
    changed = ok(await patch_ticket(ticket["id"], status=target))
    assert changed["status"] == target
    assert await get_ticket(ticket["id"]) == changed


@pytest.mark.parametrize("target", STATUSES)
async def test_nothing_follows_closed(factory, new_ticket, patch_ticket, get_ticket, problem,
                                      session, target):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    closed = ok(await patch_ticket(ticket["id"], status="closed"))
    problem(await patch_ticket(ticket["id"], status=target), 409)
    assert await get_ticket(ticket["id"]) == closed
    assert await count(session, Event, subject_id=ticket["id"], type="ticket.status_changed") == 1


@pytest.mark.parametrize("change", [
    {}, {"subject": "Still burning"}, {"priority": "urgent"}, {"tags": ["x"]}, {"type": None},
    {"custom_fields": {}}, {"due_at": "2031-01-01T00:00:00Z"},
])
async def test_a_closed_ticket_cannot_change_at_all(factory, new_ticket, patch_ticket,
                                                    get_ticket, problem, change):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    closed = ok(await patch_ticket(ticket["id"], status="closed"))
    body = problem(await patch_ticket(ticket["id"], **change), 409)
    assert "closed" in body["detail"]
    assert await get_ticket(ticket["id"]) == closed


async def test_solving_sets_solved_at_and_reopening_clears_it(factory, session, new_ticket,
                                                              patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    solved = ok(await patch_ticket(ticket["id"], status="solved"))
    assert solved["solved_at"] is not None
    reopened = ok(await patch_ticket(ticket["id"], status="open"))
    assert (reopened["status"], reopened["solved_at"]) == ("open", None)
    again = ok(await patch_ticket(ticket["id"], status="solved"))
    assert again["solved_at"] is not None


@pytest.mark.parametrize("then", ["new", "open", "pending", "on_hold"])
async def test_a_solved_ticket_reopens_to_any_open_status(factory, new_ticket, patch_ticket,
                                                          then):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status="solved")
    assert ticket["solved_at"] is not None
    reopened = ok(await patch_ticket(ticket["id"], status=then))
    assert (reopened["status"], reopened["solved_at"]) == (then, None)


async def test_closing_a_solved_ticket_keeps_when_it_was_solved(factory, session, new_ticket,
                                                                patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], status="solved"))
    solved_at = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    await _age(session, ticket["id"], solved_at=solved_at)
    closed = ok(await patch_ticket(ticket["id"], status="closed"))
    assert datetime.fromisoformat(closed["solved_at"]) == solved_at


async def test_solving_again_or_editing_a_solved_ticket_keeps_solved_at(factory, session,
                                                                        new_ticket, patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status="solved")
    solved_at = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    await _age(session, ticket["id"], solved_at=solved_at)
    for change in ({"status": "solved"}, {"subject": "Fixed"}):
        kept = ok(await patch_ticket(ticket["id"], **change))
        assert datetime.fromisoformat(kept["solved_at"]) == solved_at


async def test_closing_an_unsolved_ticket_leaves_solved_at_empty(factory, new_ticket,
                                                                 patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status="open")
    assert ok(await patch_ticket(ticket["id"], status="closed"))["solved_at"] is None


# --- what a PATCH changes ----------------------------------------------------------------------


async def test_a_patch_changes_what_is_sent_and_bumps_version_and_etag(client, factory,
                                                                       admin_headers, session,
                                                                       new_ticket, get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, type="incident", tags=["a"])
    await _age(session, ticket["id"], updated_at=datetime.now(UTC) - timedelta(hours=1))
    before = await get_ticket(ticket["id"])
    response = await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                                  json={"subject": "Toner low", "priority": "high",
                                        "tags": ["Toner", "toner", "B"]})
    changed = ok(response)
    assert response.headers["ETag"] == '"2"'
    assert changed["version"] == 2
    assert {k: changed[k] for k in ("subject", "priority", "tags")} == {
        "subject": "Toner low", "priority": "high", "tags": ["toner", "b"]}
    untouched = {k for k in before if k not in {"subject", "priority", "tags", "version",
                                                "updated_at"}}
    assert {k: changed[k] for k in untouched} == {k: before[k] for k in untouched}
    assert changed["updated_at"] > before["updated_at"]
    got = await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers)
    assert (ok(got), got.headers["ETag"]) == (changed, '"2"')


async def test_null_clears_type_assignee_team_and_due_at(factory, new_ticket, patch_ticket,
                                                         desk_team):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    team_id = await desk_team(desk.id)
    ticket = await new_ticket(desk.id, type="incident", assignee_id=agent.id, team_id=team_id,
                              due_at="2031-01-01T00:00:00Z")
    cleared = ok(await patch_ticket(ticket["id"], type=None, assignee_id=None, team_id=None,
                                    due_at=None))
    assert {k: cleared[k] for k in ("type", "assignee_id", "team_id", "due_at")} == dict.fromkeys(
        ("type", "assignee_id", "team_id", "due_at"))


async def test_fields_not_sent_are_not_cleared(factory, new_ticket, patch_ticket, desk_team):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    team_id = await desk_team(desk.id)
    ticket = await new_ticket(desk.id, type="incident", assignee_id=agent.id, team_id=team_id,
                              due_at="2031-01-01T00:00:00Z", tags=["vip"])
    changed = ok(await patch_ticket(ticket["id"], status="open"))
    assert {k: changed[k] for k in ("type", "assignee_id", "team_id", "due_at", "tags")} == {
        k: ticket[k] for k in ("type", "assignee_id", "team_id", "due_at", "tags")}


async def test_an_empty_tag_list_clears_the_tags(factory, new_ticket, patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, tags=["vip", "urgent"])
    assert ok(await patch_ticket(ticket["id"], tags=[]))["tags"] == []


async def test_patch_sets_assignee_team_type_and_due_at(factory, new_ticket, patch_ticket,
                                                        desk_team):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    team_id = await desk_team(desk.id)
    ticket = await new_ticket(desk.id)
    changed = ok(await patch_ticket(ticket["id"], type="question", assignee_id=agent.id,
                                    team_id=team_id, due_at="2031-01-01T02:00:00+02:00"))
    assert (changed["type"], changed["assignee_id"], changed["team_id"]) == (
        "question", agent.id, team_id)
    assert datetime.fromisoformat(changed["due_at"]) == datetime(2031, 1, 1, tzinfo=UTC)


async def test_a_patch_assignee_must_be_an_agent_of_the_desk(factory, new_ticket, patch_ticket,
                                                             get_ticket, problem, desk_team):
    desk, other = await factory.desk("A"), await factory.desk("B")
    outsider = await factory.user(desks=(other.id,))
    ticket = await new_ticket(desk.id)
    body = problem(await patch_ticket(ticket["id"], assignee_id=outsider.id, status="open"), 422)
    assert error_locs(body) == [["body", "assignee_id"]]
    body = problem(await patch_ticket(ticket["id"], team_id=await desk_team(other.id)), 422)
    assert error_locs(body) == [["body", "team_id"]]
    assert await get_ticket(ticket["id"]) == ticket
    via_team = await factory.user()
    await desk_team(desk.id, members=(via_team.id,))
    assert ok(await patch_ticket(ticket["id"], assignee_id=via_team.id))["assignee_id"] == (
        via_team.id)


@pytest.mark.parametrize(("change", "loc"), [
    ({"status": "reopened"}, ["body", "status"]),
    ({"priority": "critical"}, ["body", "priority"]),
    ({"subject": ""}, ["body", "subject"]),
    ({"desk_id": 2}, ["body", "desk_id"]),
    ({"number": 7}, ["body", "number"]),
    ({"due_at": "2031-01-01T00:00:00"}, ["body", "due_at"]),
    ({"due_at": "0001-01-01T00:00:00+00:30"}, ["body", "due_at"]),
    ({"tags": [" "]}, ["body", "tags", 0]),
    ({"assignee_id": 0}, ["body", "assignee_id"]),
])
async def test_an_invalid_patch_is_422_at_the_field_and_changes_nothing(
        factory, new_ticket, patch_ticket, get_ticket, problem, change, loc):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    body = problem(await patch_ticket(ticket["id"], **change), 422)
    assert error_locs(body) == [loc]
    assert await get_ticket(ticket["id"]) == ticket


async def test_patching_a_missing_ticket_is_404(client, admin_headers, problem):
    problem(await client.patch("/v1/tickets/2000000000", headers=admin_headers,
                               json={"status": "open"}), 404)


async def test_an_agent_of_the_desk_may_patch_its_tickets(client, factory, new_ticket):
    desk = await factory.desk()
    headers = await agent_headers(client, factory, desk.id)
    ticket = await new_ticket(desk.id)
    changed = ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=headers,
                                    json={"status": "pending"}))
    assert changed["status"] == "pending"


# --- ETag / If-Match ---------------------------------------------------------------------------


async def test_a_stale_if_match_is_412_and_changes_nothing(client, factory, admin_headers,
                                                           session, new_ticket, get_ticket,
                                                           problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": '"1"'}, json={"priority": "high"}))
    current = await get_ticket(ticket["id"])
    events_before = await count(session, Event, subject_id=ticket["id"])
    body = problem(await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": '"1"'}, json={"status": "solved", "priority": "low"}), 412)
    assert body["current_etag"] == '"2"'
    assert await get_ticket(ticket["id"]) == current
    assert await count(session, Event, subject_id=ticket["id"]) == events_before


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', '"7", "1"', "*"])
async def test_a_current_if_match_is_accepted(client, factory, admin_headers, new_ticket,
                                              if_match):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    response = await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": if_match}, json={"status": "open"})
    assert ok(response)["status"] == "open"
    assert response.headers["ETag"] == '"2"'


async def test_the_etag_of_a_patch_answer_is_the_next_if_match(client, factory, admin_headers,
                                                               new_ticket, problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    etag = '"1"'
    for status in ("open", "pending", "solved"):
        response = await client.patch(f"/v1/tickets/{ticket['id']}", headers={
            **admin_headers, "If-Match": etag}, json={"status": status})
        assert ok(response)["status"] == status
        etag = response.headers["ETag"]
    assert etag == '"4"'
    problem(await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": '"3"'}, json={"status": "open"}), 412)


async def test_if_match_on_a_closed_ticket_does_not_open_it(client, factory, admin_headers,
                                                            new_ticket, problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    closed = await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                                json={"status": "closed"})
    problem(await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": closed.headers["ETag"]}, json={"status": "open"}), 409)
