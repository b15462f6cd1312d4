"""A ticket's history: `ticket.updated` on every PATCH with `{field: [old, new]}`,
`ticket.status_changed` and `ticket.assigned` beside it, `GET /v1/tickets/{id}/events`
oldest first with the actor, and events written in the transaction of the change."""

from __future__ import annotations

import pytest

from tests.customers.helpers import agent_headers, error_locs, ok, token_headers

ENVELOPE = {"id", "type", "desk_id", "created_at", "actor", "data", "changes"}


async def test_every_patch_writes_ticket_updated_with_the_changes(factory, new_ticket,
                                                                  patch_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, tags=["a"])
    changed = ok(await patch_ticket(ticket["id"], subject="Toner low", priority="high",
                                    tags=["a", "b"], type="incident"))
    [created, updated] = await history(ticket["id"])
    assert created["type"] == "ticket.created"
    assert updated["type"] == "ticket.updated"
    assert updated["changes"] == {"subject": ["Printer on fire", "Toner low"],
                                  "priority": ["normal", "high"], "tags": [["a"], ["a", "b"]],
                                  "type": [None, "incident"]}
    assert updated["data"] == changed


async def test_a_patch_that_changes_nothing_still_writes_ticket_updated(factory, new_ticket,
                                                                        patch_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], subject=ticket["subject"], status="new"))
    [_, updated] = await history(ticket["id"])
    assert updated["type"] == "ticket.updated"
    assert updated["changes"] is None


async def test_a_status_change_also_writes_ticket_status_changed(factory, new_ticket,
                                                                 patch_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    solved = ok(await patch_ticket(ticket["id"], status="solved", priority="low"))
    [_, updated, status_changed] = await history(ticket["id"])
    assert updated["changes"]["status"] == ["new", "solved"]
    assert updated["changes"]["priority"] == ["normal", "low"]
    assert updated["changes"]["solved_at"] == [None, solved["solved_at"]]
    assert status_changed["type"] == "ticket.status_changed"
    assert status_changed["changes"] == {"status": ["new", "solved"]}
    assert status_changed["data"] == solved


async def test_an_assignee_change_also_writes_ticket_assigned(factory, new_ticket, patch_ticket,
                                                              history):
    desk = await factory.desk()
    first, second = (await factory.user(desks=(desk.id,)), await factory.user(desks=(desk.id,)))
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], assignee_id=first.id))
    ok(await patch_ticket(ticket["id"], assignee_id=second.id, status="open"))
    ok(await patch_ticket(ticket["id"], assignee_id=None))
    ok(await patch_ticket(ticket["id"], assignee_id=None))
    types = [(e["type"], e["changes"]) for e in await history(ticket["id"])][1:]
    assert types == [
        ("ticket.updated", {"assignee_id": [None, first.id]}),
        ("ticket.assigned", {"assignee_id": [None, first.id]}),
        ("ticket.updated", {"assignee_id": [first.id, second.id], "status": ["new", "open"]}),
        ("ticket.status_changed", {"status": ["new", "open"]}),
        ("ticket.assigned", {"assignee_id": [first.id, second.id]}),
        ("ticket.updated", {"assignee_id": [second.id, None]}),
        ("ticket.assigned", {"assignee_id": [second.id, None]}),
        ("ticket.updated", None),
    ]


async def test_custom_field_and_due_changes_are_recorded(client, factory, admin_headers,
                                                         new_ticket, patch_ticket, history):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/ticket-fields", headers=admin_headers,
                         json={"key": "size", "label": "Size", "type": "integer"}), 201)
    ticket = await new_ticket(desk.id, custom_fields={"size": 1})
    ok(await patch_ticket(ticket["id"], custom_fields={"size": 2},
                          due_at="2031-01-01T00:00:00Z"))
    [_, updated] = await history(ticket["id"])
    assert updated["changes"]["custom_fields"] == [{"size": 1}, {"size": 2}]
    assert updated["changes"]["due_at"] == [None, "2031-01-01T00:00:00Z"]


async def test_history_is_oldest_first_with_the_envelope(client, factory, admin_headers,
                                                         new_ticket, patch_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], status="open"))
    ok(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                         json={"body": "hi"}), 201)
    ok(await patch_ticket(ticket["id"], status="solved"))
    items = await history(ticket["id"])
    assert [e["type"] for e in items] == [
        "ticket.created", "ticket.updated", "ticket.status_changed", "comment.created",
        "ticket.updated", "ticket.status_changed"]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    for event in items:
        assert set(event) == ENVELOPE
        assert event["desk_id"] == desk.id
        assert set(event["actor"]) == {"kind", "id", "name"}
    assert items[0]["data"] == ticket
    assert items[0]["changes"] is None


async def test_history_names_each_actor(client, factory, new_ticket, history):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    agent_auth = await agent_headers(client, factory, desk.id)
    token = await token_headers(factory, ["tickets:write"], [desk.id])
    ticket = await new_ticket(desk.id, headers=token)
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=agent_auth,
                          json={"assignee_id": agent.id}))
    created, updated, _ = await history(ticket["id"])
    assert created["actor"]["kind"] == "api_token"
    assert created["actor"]["name"] == "test token"
    me = ok(await client.get("/v1/me", headers=agent_auth))
    assert updated["actor"] == {"kind": "user", "id": me["id"], "name": me["name"]}


async def test_history_pages_oldest_first(client, factory, admin_headers, new_ticket,
                                          patch_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    for subject in ("one", "two", "three"):
        ok(await patch_ticket(ticket["id"], subject=subject))
    every = await history(ticket["id"])
    first = ok(await client.get(f"/v1/tickets/{ticket['id']}/events", headers=admin_headers,
                                params={"limit": 2}))
    second = ok(await client.get(f"/v1/tickets/{ticket['id']}/events", headers=admin_headers,
                                 params={"limit": 2, "cursor": first["next_cursor"]}))
    assert first["items"] + second["items"] == every[:4]
    assert len(every) == 4


async def test_history_holds_only_this_tickets_events(factory, new_ticket, patch_ticket,
                                                      history):
    desk = await factory.desk()
    ticket, other = await new_ticket(desk.id), await new_ticket(desk.id, subject="Other")
    ok(await patch_ticket(other["id"], status="open"))
    assert [e["type"] for e in await history(ticket["id"])] == ["ticket.created"]


# --- one transaction ---------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "loc"), [
    ({"status": "solved", "assignee_id": 2_000_000_000}, ["body", "assignee_id"]),
    ({"status": "solved", "team_id": 2_000_000_000}, ["body", "team_id"]),
    ({"status": "solved", "custom_fields": {"nope": 1}}, ["body", "custom_fields", "nope"]),
])
async def test_a_failed_patch_leaves_no_change_and_no_event(factory, new_ticket, patch_ticket,
                                                            get_ticket, history, problem, change,
                                                            loc):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    body = problem(await patch_ticket(ticket["id"], **change), 422)
    assert error_locs(body) == [loc]
    assert await get_ticket(ticket["id"]) == ticket
    assert [e["type"] for e in await history(ticket["id"])] == ["ticket.created"]


async def test_a_refused_patch_of_a_closed_ticket_writes_no_event(factory, new_ticket,
                                                                  patch_ticket, history,
                                                                  problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], status="closed"))
    before = await history(ticket["id"])
    problem(await patch_ticket(ticket["id"], status="open"), 409)
    assert await history(ticket["id"]) == before


async def test_history_of_another_desks_ticket_is_404(client, factory, problem, new_ticket,
                                                      history):
    a, b = await factory.desk("A"), await factory.desk("B")
    ticket = await new_ticket(b.id)
    headers = await token_headers(factory, ["tickets:read"], [a.id])
    problem(await client.get(f"/v1/tickets/{ticket['id']}/events", headers=headers), 404)
    problem(await client.get("/v1/tickets/2000000000/events", headers=headers), 404)
    assert [e["type"] for e in await history(ticket["id"])] == ["ticket.created"]
