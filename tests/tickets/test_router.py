"""`POST/GET /v1/tickets`: creation defaults, numbers, requesters, validation, assignees and
teams, archived desks, desk isolation, sandboxes and scopes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import Customer, Ticket
from tests.conftest import bearer
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
    token_headers,
)
from tests.tickets.conftest import ticket_body

# --- create: the answer and its defaults -------------------------------------------------------


async def test_created_ticket_answers_201_with_location_etag_and_defaults(client, factory,
                                                                          admin_headers):
    desk = await factory.desk()
    response = await client.post("/v1/tickets", headers=admin_headers,
                                 json=ticket_body(desk.id))
    body = ok(response, 201)
    assert response.headers["Location"] == f"/v1/tickets/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert {k: body[k] for k in (
        "desk_id", "number", "subject", "description", "status", "priority", "type", "tags",
        "custom_fields", "assignee_id", "team_id", "due_at", "source", "routing_state",
        "first_responded_at", "solved_at", "version", "organization_id")} == {
        "desk_id": desk.id, "number": 1, "subject": "Printer on fire",
        "description": "Smoke everywhere", "status": "new", "priority": "normal", "type": None,
        "tags": [], "custom_fields": {}, "assignee_id": None, "team_id": None, "due_at": None,
        "source": "api", "routing_state": "pending", "first_responded_at": None,
        "solved_at": None, "version": 1, "organization_id": None}
    assert body["created_at"] and body["updated_at"]
    fetched = await client.get(f"/v1/tickets/{body['id']}", headers=admin_headers)
    assert ok(fetched) == body
    assert fetched.headers["ETag"] == '"1"'


@pytest.mark.parametrize("default", ["low", "high", "urgent"])
async def test_priority_defaults_to_the_desks_default_priority(client, factory, admin_headers,
                                                               new_ticket, default):
    desk = await factory.desk()
    ok(await client.patch(f"/v1/desks/{desk.id}", headers=admin_headers,
                          json={"settings": {"default_priority": default}}))
    assert (await new_ticket(desk.id))["priority"] == default
    assert (await new_ticket(desk.id, priority="normal"))["priority"] == "normal"
    assert (await new_ticket(desk.id, priority=None))["priority"] == default


async def test_an_explicit_priority_wins(factory, new_ticket):
    desk = await factory.desk()
    assert [(await new_ticket(desk.id, priority=p))["priority"]
            for p in ("low", "normal", "high", "urgent")] == ["low", "normal", "high", "urgent"]


async def test_numbers_count_up_per_desk_independently(factory, new_ticket):
    a, b = await factory.desk("A"), await factory.desk("B")
    numbers = [(desk.id, (await new_ticket(desk.id))["number"]) for desk in (a, a, b, a, b)]
    assert numbers == [(a.id, 1), (a.id, 2), (b.id, 1), (a.id, 3), (b.id, 2)]


async def test_a_failed_create_uses_up_no_number_and_leaves_nothing(client, factory,
                                                                    admin_headers, session,
                                                                    problem, new_ticket):
    desk = await factory.desk()
    stranger = await factory.user()  # no member of the desk: the assignee check fails last
    problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
        desk.id, requester={"email": "new@acme.example"}, assignee_id=stranger.id)), 422)
    assert await count(session, Ticket, desk_id=desk.id) == 0
    assert await customers_in(session, desk.id) == []
    assert await events(session, desk_id=desk.id) == []
    assert (await new_ticket(desk.id))["number"] == 1


@pytest.mark.parametrize("status", ["new", "open", "pending", "on_hold", "solved"])
async def test_a_ticket_may_be_created_in_any_status_but_closed(factory, new_ticket, status):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status=status)
    assert ticket["status"] == status
    assert (ticket["solved_at"] is not None) == (status == "solved")


async def test_closed_at_creation_is_422_at_status(client, factory, admin_headers, problem,
                                                   session):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, status="closed")), 422)
    assert error_locs(body) == [["body", "status"]]
    assert await count(session, Ticket, desk_id=desk.id) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("status", "done"), ("status", "Open"), ("priority", "critical"), ("priority", 2),
    ("source", "fax"), ("source", "API"),
])
async def test_unknown_enum_values_are_422_at_the_field(client, factory, admin_headers, problem,
                                                        field, value):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, **{field: value})), 422)
    assert error_locs(body) == [["body", field]]


@pytest.mark.parametrize("source", ["api", "web_form", "email", "phone", "chat", "internal"])
async def test_every_source_is_kept(factory, new_ticket, get_ticket, source):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, source=source)
    assert ticket["source"] == (await get_ticket(ticket["id"]))["source"] == source


async def test_tags_are_lower_cased_hyphenated_and_deduplicated(factory, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, tags=[" Hardware ", "VIP", "vip", "needs  review",
                                             "Needs\tReview", "hardware"])
    assert ticket["tags"] == ["hardware", "vip", "needs-review"]


@pytest.mark.parametrize(("tags", "loc"), [
    (["ok", "   "], ["body", "tags", 1]),
    (["a,b"], ["body", "tags", 0]),
    (["x" * 65], ["body", "tags", 0]),
    ([f"t{i}" for i in range(51)], ["body", "tags"]),
    ("vip", ["body", "tags"]),
])
async def test_invalid_tags_are_422_at_the_tag(client, factory, admin_headers, problem, tags,
                                               loc):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, tags=tags)), 422)
    assert error_locs(body) == [loc]


@pytest.mark.parametrize(("change", "loc"), [
    ({"subject": ""}, ["body", "subject"]),
    ({"subject": "x" * 251}, ["body", "subject"]),
    ({"subject": "nul\x00"}, ["body", "subject"]),
    ({"description": "nul\x00"}, ["body", "description"]),
    ({"type": "x" * 65}, ["body", "type"]),
    ({"colour": "red"}, ["body", "colour"]),
    ({"desk_id": 0}, ["body", "desk_id"]),
    ({"requester": {"email": "not-an-email"}}, ["body", "requester", "email"]),
    ({"requester": {"email": "ana@acme.example", "age": 3}}, ["body", "requester", "age"]),
    ({"assignee_id": 0}, ["body", "assignee_id"]),
    ({"custom_fields": ["a"]}, ["body", "custom_fields"]),
])
async def test_an_invalid_create_body_is_422_at_the_field(client, factory, admin_headers,
                                                          problem, change, loc):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json={**ticket_body(desk.id), **change}), 422)
    assert error_locs(body) == [loc]


async def test_a_missing_subject_is_422(client, factory, admin_headers, problem):
    desk = await factory.desk()
    payload = ticket_body(desk.id)
    del payload["subject"]
    body = problem(await client.post("/v1/tickets", headers=admin_headers, json=payload), 422)
    assert error_locs(body) == [["body", "subject"]]


async def test_due_at_is_kept_in_utc(factory, new_ticket, get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, due_at="2031-05-01T12:00:00+02:00")
    for shown in (ticket["due_at"], (await get_ticket(ticket["id"]))["due_at"]):
        assert datetime.fromisoformat(shown) == datetime(2031, 5, 1, 10, tzinfo=UTC)
        assert datetime.fromisoformat(shown).utcoffset().total_seconds() == 0


@pytest.mark.parametrize("due_at", [
    "2031-05-01T12:00:00", "2031-05-01", "tomorrow",
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00",  # beyond the range once in UTC
])
async def test_due_at_without_an_offset_or_out_of_range_is_422(client, factory, admin_headers,
                                                              problem, due_at):
    desk = await factory.desk()
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, due_at=due_at)), 422)
    assert error_locs(body) == [["body", "due_at"]]


# --- the requester ---------------------------------------------------------------------------


async def test_one_email_in_any_spelling_is_one_requester(client, factory, admin_headers,
                                                          session, new_ticket):
    desk = await factory.desk()
    first = await new_ticket(desk.id, requester={"email": "Ana@Acme.example", "name": "Ana"})
    second = await new_ticket(desk.id, requester={"email": " ANA@acme.EXAMPLE ", "name": "A."})
    assert first["requester_id"] == second["requester_id"]
    [customer] = await customers_in(session, desk.id)
    assert (customer.id, customer.email, customer.name) == (first["requester_id"],
                                                            "ana@acme.example", "Ana")
    assert [e.type for e in await events(session, "customer.created", desk_id=desk.id)] == [
        "customer.created"]


async def test_an_existing_customer_is_the_requester(client, factory, admin_headers, new_ticket):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "bob@acme.example")
    ticket = await new_ticket(desk.id, requester={"email": "Bob@acme.example"})
    assert ticket["requester_id"] == customer["id"]


async def test_the_same_email_in_two_desks_is_two_requesters(factory, session, new_ticket):
    a, b = await factory.desk("A"), await factory.desk("B")
    in_a, in_b = await new_ticket(a.id), await new_ticket(b.id)
    assert in_a["requester_id"] != in_b["requester_id"]
    assert [c.id for c in await customers_in(session, b.id)] == [in_b["requester_id"]]


async def test_the_requester_joins_the_organization_owning_its_domain(client, factory,
                                                                      admin_headers, session,
                                                                      new_ticket):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    ticket = await new_ticket(desk.id, requester={"email": "ana@ACME.example"})
    assert ticket["organization_id"] == org["id"]
    customer = await session.get(Customer, ticket["requester_id"], populate_existing=True)
    assert customer.organization_id == org["id"]


async def test_a_desk_creating_organizations_makes_one_for_the_requesters_domain(
        client, factory, admin_headers, session, new_ticket):
    desk = await factory.desk()
    await set_auto_create(client, admin_headers, desk.id)
    first = await new_ticket(desk.id, requester={"email": "ana@newco.example"})
    second = await new_ticket(desk.id, requester={"email": "bob@newco.example"})
    [org] = await organizations_in(session, desk.id)
    assert first["organization_id"] == second["organization_id"] == org.id
    free_mail = await new_ticket(desk.id, requester={"email": "someone@gmail.com"})
    assert free_mail["organization_id"] is None


async def test_without_an_owning_organization_the_ticket_has_none(client, factory,
                                                                  admin_headers, new_ticket):
    desk, other = await factory.desk("A"), await factory.desk("B")
    await create_org(client, admin_headers, other.id, domains=["acme.example"])
    assert (await new_ticket(desk.id))["organization_id"] is None


async def test_requester_id_names_a_customer_of_the_desk_and_brings_its_organization(
        client, factory, admin_headers, new_ticket):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    ticket = await new_ticket(desk.id, requester_id=customer["id"])
    assert (ticket["requester_id"], ticket["organization_id"]) == (customer["id"], org["id"])


async def test_a_requester_id_of_another_desk_or_none_is_422(client, factory, admin_headers,
                                                             problem, session):
    desk, other = await factory.desk("A"), await factory.desk("B")
    foreign = await create_customer(client, admin_headers, other.id, "ana@acme.example")
    for requester_id in (foreign["id"], foreign["id"] + 10_000):
        body = problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(
            desk.id, requester_id=requester_id)), 422)
        assert error_locs(body) == [["body", "requester_id"]]
    assert await count(session, Ticket) == 0


@pytest.mark.parametrize("both", [True, False])
async def test_exactly_one_of_requester_and_requester_id_is_needed(client, factory,
                                                                   admin_headers, problem, both):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    payload = ticket_body(desk.id)
    if both:
        payload["requester_id"] = customer["id"]
    else:
        del payload["requester"]
    body = problem(await client.post("/v1/tickets", headers=admin_headers, json=payload), 422)
    assert error_locs(body) == [["body"]]
    assert "requester" in body["errors"][0]["msg"]


async def test_creation_writes_ticket_created_with_the_ticket_and_customer_created(
        factory, session, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    kinds = [(e.type, e.subject_id) for e in await events(session, desk_id=desk.id)]
    assert kinds == [("customer.created", ticket["requester_id"]),
                     ("ticket.created", ticket["id"])]
    [created] = await events(session, "ticket.created", desk_id=desk.id)
    assert created.data == ticket
    assert created.changes is None


# --- assignee and team -------------------------------------------------------------------------


async def test_an_agent_of_the_desk_may_be_the_assignee(factory, new_ticket):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    assert (await new_ticket(desk.id, assignee_id=agent.id))["assignee_id"] == agent.id


async def test_an_agent_through_a_team_may_be_the_assignee(factory, new_ticket, desk_team):
    desk = await factory.desk()
    agent = await factory.user()
    await desk_team(desk.id, members=(agent.id,))
    assert (await new_ticket(desk.id, assignee_id=agent.id))["assignee_id"] == agent.id


async def test_an_admin_may_be_the_assignee_of_any_desk(factory, new_ticket):
    desk = await factory.desk()
    admin = await factory.user(role="admin")
    assert (await new_ticket(desk.id, assignee_id=admin.id))["assignee_id"] == admin.id


@pytest.mark.parametrize("who", ["other_desk", "nobody", "missing", "inactive", "team_elsewhere"])
async def test_an_assignee_who_is_no_agent_of_the_desk_is_422(client, factory, admin_headers,
                                                              problem, session, desk_team, who):
    desk, other = await factory.desk("A"), await factory.desk("B")
    if who == "missing":
        user_id = 2_000_000_000
    elif who == "inactive":
        user = await factory.user(desks=(desk.id,))
        user.is_active = False
        await session.flush()
        user_id = user.id
    else:
        user = await factory.user(desks=(other.id,) if who == "other_desk" else ())
        if who == "team_elsewhere":
            await desk_team(other.id, members=(user.id,))
        user_id = user.id
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, assignee_id=user_id)), 422)
    assert error_locs(body) == [["body", "assignee_id"]]
    assert await count(session, Ticket) == 0


async def test_a_team_with_access_to_the_desk_may_own_the_ticket(factory, new_ticket, desk_team):
    desk = await factory.desk()
    team_id = await desk_team(desk.id)
    assert (await new_ticket(desk.id, team_id=team_id))["team_id"] == team_id


@pytest.mark.parametrize("which", ["other_desk", "no_desk", "missing"])
async def test_a_team_without_access_to_the_desk_is_422(client, factory, admin_headers, problem,
                                                        desk_team, which):
    desk, other = await factory.desk("A"), await factory.desk("B")
    team_id = {"other_desk": lambda: desk_team(other.id), "no_desk": lambda: desk_team()}.get(
        which)
    team = await team_id() if team_id else 2_000_000_000
    body = problem(await client.post("/v1/tickets", headers=admin_headers,
                                     json=ticket_body(desk.id, team_id=team)), 422)
    assert error_locs(body) == [["body", "team_id"]]


# --- desks: archived, outside the scope --------------------------------------------------------


async def test_a_ticket_in_an_archived_desk_is_409(client, factory, admin_headers, problem,
                                                   session):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(desk.id)),
            409)
    assert await count(session, Ticket) == 0
    assert await customers_in(session, desk.id) == []


async def test_a_ticket_in_a_desk_outside_the_scope_is_404(client, factory, problem, session):
    mine, theirs = await factory.desk("Mine"), await factory.desk("Theirs")
    for headers in (await agent_headers(client, factory, mine.id),
                    await token_headers(factory, ["tickets:write"], [mine.id])):
        problem(await client.post("/v1/tickets", headers=headers,
                                  json=ticket_body(theirs.id)), 404)
        problem(await client.post("/v1/tickets", headers=headers,
                                  json=ticket_body(2_000_000_000)), 404)
    assert await count(session, Ticket) == 0


async def test_an_agent_creates_tickets_in_its_desk(client, factory, new_ticket, session):
    desk = await factory.desk()
    headers = await agent_headers(client, factory, desk.id)
    ticket = await new_ticket(desk.id, headers=headers)
    assert ticket["desk_id"] == desk.id
    [created] = await events(session, "ticket.created", desk_id=desk.id)
    assert created.actor["kind"] == "user"


async def test_a_missing_ticket_is_404_and_an_impossible_id_is_422(client, admin_headers,
                                                                   problem):
    problem(await client.get("/v1/tickets/2000000000", headers=admin_headers), 404)
    body = problem(await client.get("/v1/tickets/0", headers=admin_headers), 422)
    assert error_locs(body) == [["path", "ticket_id"]]


# --- desk isolation ----------------------------------------------------------------------------


def _requests(ticket_id: int, other_desk_id: int) -> list[tuple[str, str, dict | None]]:
    base = f"/v1/tickets/{ticket_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"status": "open"}),
        ("GET", f"{base}/comments", None),
        ("POST", f"{base}/comments", {"body": "hello"}),
        ("GET", f"{base}/events", None),
        ("POST", f"{base}/transfer", {"desk_id": other_desk_id}),
    ]


@pytest.mark.parametrize("caller", ["agent", "token"])
async def test_a_caller_of_desk_a_gets_404_for_every_route_of_a_desk_b_ticket(
        client, factory, session, problem, new_ticket, get_ticket, caller):
    a, b = await factory.desk("A"), await factory.desk("B")
    ticket = await new_ticket(b.id)
    headers = (await agent_headers(client, factory, a.id) if caller == "agent"
               else await token_headers(factory, ["tickets:write"], [a.id]))
    for method, url, body in _requests(ticket["id"], a.id):
        response = await client.request(method, url, headers=headers, json=body)
        assert problem(response, 404)["detail"] == f"Ticket {ticket['id']} does not exist."
    assert await get_ticket(ticket["id"]) == ticket
    assert await count(session, Customer, desk_id=a.id) == 0
    listed = ok(await client.get("/v1/tickets", headers=headers))
    assert listed["items"] == []


async def test_an_agent_of_both_desks_reaches_tickets_of_each(client, factory, new_ticket):
    a, b = await factory.desk("A"), await factory.desk("B")
    headers = await agent_headers(client, factory, a.id, b.id)
    for desk in (a, b):
        ticket = await new_ticket(desk.id)
        assert ok(await client.get(f"/v1/tickets/{ticket['id']}", headers=headers))["id"] == (
            ticket["id"])


async def test_a_sandbox_token_sees_only_sandbox_tickets(client, factory, problem, new_ticket):
    sandbox, standard = await factory.desk("Play", kind="sandbox"), await factory.desk("Live")
    headers = await token_headers(factory, ["tickets:write"], [sandbox.id], sandbox=True)
    mine = await new_ticket(sandbox.id, headers=headers)
    live = await new_ticket(standard.id)
    problem(await client.post("/v1/tickets", headers=headers, json=ticket_body(standard.id)), 404)
    for method, url, body in _requests(live["id"], sandbox.id):
        problem(await client.request(method, url, headers=headers, json=body), 404)
    listed = ok(await client.get("/v1/tickets", headers=headers))
    assert [t["id"] for t in listed["items"]] == [mine["id"]]
    assert ok(await client.get(f"/v1/tickets/{mine['id']}", headers=headers))["id"] == mine["id"]


# --- scopes ------------------------------------------------------------------------------------


async def test_tickets_read_reads_but_cannot_write(client, factory, problem, new_ticket,
                                                   get_ticket, session):
    a, b = await factory.desk("A"), await factory.desk("B")
    ticket = await new_ticket(a.id)
    headers = await token_headers(factory, ["tickets:read"], [a.id, b.id])
    base = f"/v1/tickets/{ticket['id']}"
    for url in (base, f"{base}/comments", f"{base}/events", "/v1/tickets"):
        ok(await client.get(url, headers=headers))
    for method, url, body in [("POST", "/v1/tickets", ticket_body(a.id)),
                              ("PATCH", base, {"status": "open"}),
                              ("POST", f"{base}/comments", {"body": "hi"}),
                              ("POST", f"{base}/transfer", {"desk_id": b.id})]:
        answer = problem(await client.request(method, url, headers=headers, json=body), 403)
        assert answer["required_scope"] == "tickets:write"
    assert await get_ticket(ticket["id"]) == ticket
    assert await count(session, Ticket) == 1


async def test_without_a_tickets_scope_every_ticket_route_is_403(client, factory, problem,
                                                                 new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    headers = await token_headers(factory, ["customers:write", "events:read"], [desk.id])
    base = f"/v1/tickets/{ticket['id']}"
    for url in (base, f"{base}/comments", f"{base}/events", "/v1/tickets"):
        answer = problem(await client.get(url, headers=headers), 403)
        assert answer["required_scope"] == "tickets:read"


async def test_tickets_write_alone_creates_a_ticket_and_its_requester(client, factory,
                                                                      new_ticket, session):
    desk = await factory.desk()
    headers = await token_headers(factory, ["tickets:write"], [desk.id])
    ticket = await new_ticket(desk.id, headers=headers)
    assert ok(await client.get(f"/v1/tickets/{ticket['id']}", headers=headers)) == ticket
    assert [c.id for c in await customers_in(session, desk.id)] == [ticket["requester_id"]]


async def test_ticket_routes_need_a_credential(client, factory, problem, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    problem(await client.get(f"/v1/tickets/{ticket['id']}"), 401)
    problem(await client.post("/v1/tickets", json=ticket_body(desk.id)), 401)
    problem(await client.get(f"/v1/tickets/{ticket['id']}", headers=bearer("swb_nope")), 401)


# --- idempotency ---------------------------------------------------------------------------------


async def test_an_idempotent_create_replays_the_first_ticket(client, factory, admin_headers,
                                                             session, problem):
    desk = await factory.desk()
    headers = {**admin_headers, "Idempotency-Key": "ticket-1"}
    first = await client.post("/v1/tickets", headers=headers, json=ticket_body(desk.id))
    again = await client.post("/v1/tickets", headers=headers, json=ticket_body(desk.id))
    assert ok(again, 201) == ok(first, 201)
    assert again.headers["Location"] == first.headers["Location"]
    assert await count(session, Ticket, desk_id=desk.id) == 1
    problem(await client.post("/v1/tickets", headers=headers,
                              json=ticket_body(desk.id, subject="Other")), 422)


async def test_a_ticket_row_matches_what_the_api_returns(factory, session, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, priority="urgent", tags=["vip"])
    row = await session.scalar(select(Ticket).where(Ticket.id == ticket["id"])
                               .execution_options(populate_existing=True))
    assert (row.desk_id, row.number, row.priority, row.tags, row.status) == (
        desk.id, 1, 3, ["vip"], "new")
