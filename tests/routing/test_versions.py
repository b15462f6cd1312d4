"""Routing moves a ticket's `version` (its ETag) and `updated_at` only when it really changes
the ticket: a client that creates a ticket and PATCHes it with the create's ETag is not refused
because routing ran in between and changed nothing."""

from __future__ import annotations

from typing import Any

import pytest

from app.routing.tasks import route_ticket
from tests.customers.helpers import ok
from tests.routing import test_execution as shared
from tests.routing.test_execution import add_rule, reload

ctx = shared.ctx

NOTHING_CHANGES: dict[str, list[list[dict[str, Any]]]] = {
    "no rules": [],
    "rules that set what the ticket holds": [
        [{"type": "set_priority", "value": "normal"}, {"type": "set_status", "value": "new"}],
        [{"type": "add_tags", "value": ["vip"]}, {"type": "remove_tags", "value": ["absent"]}],
    ],
    "a change undone by a later rule": [
        [{"type": "add_tags", "value": ["hot"]}],
        [{"type": "remove_tags", "value": ["hot"]}],
    ],
}


@pytest.mark.parametrize("rules", list(NOTHING_CHANGES.values()), ids=list(NOTHING_CHANGES))
async def test_routing_that_changes_nothing_keeps_the_create_etag_valid(
        ctx, client, session, factory, admin_headers, rules):
    desk = await factory.desk()
    for position, actions in enumerate(rules):
        await add_rule(session, desk.id, actions, position=position)
    created = await client.post("/v1/tickets", headers=admin_headers, json={
        "desk_id": desk.id, "subject": "Printer on fire", "description": "Smoke",
        "requester": {"email": "ana@acme.example"}, "tags": ["vip"]})
    body = ok(created, 201)
    etag = created.headers["ETag"]

    assert await route_ticket(ctx, body["id"]) == "done"

    routed = await reload(session, body["id"])
    assert routed.routing_state == "done"
    assert (routed.version, routed.updated_at.isoformat()) == (
        body["version"], body["updated_at"].replace("Z", "+00:00"))
    patched = await client.patch(f"/v1/tickets/{body['id']}",
                                 headers={**admin_headers, "If-Match": etag},
                                 json={"priority": "high"})
    assert ok(patched)["priority"] == "high"
    assert patched.headers["ETag"] != etag


async def test_routing_that_changes_the_ticket_moves_its_etag(ctx, client, session, factory,
                                                              admin_headers):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "set_priority", "value": "high"}])
    created = await client.post("/v1/tickets", headers=admin_headers, json={
        "desk_id": desk.id, "subject": "Printer on fire", "description": "Smoke",
        "requester": {"email": "ana@acme.example"}})
    body = ok(created, 201)

    assert await route_ticket(ctx, body["id"]) == "done"

    assert (await reload(session, body["id"])).version == body["version"] + 1
    stale = await client.patch(f"/v1/tickets/{body['id']}",
                               headers={**admin_headers, "If-Match": created.headers["ETag"]},
                               json={"priority": "low"})
    assert stale.status_code == 412
