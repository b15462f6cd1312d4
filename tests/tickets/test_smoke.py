"""End-to-end path of a ticket through the API."""

from __future__ import annotations


async def test_ticket_lifecycle_end_to_end(client, factory, admin_headers):
    desk = await factory.desk("Support")
    created = await client.post("/v1/tickets", headers=admin_headers, json={
        "desk_id": desk.id, "subject": "Printer on fire", "description": "Smoke everywhere",
        "requester": {"email": "Ana@Acme.example", "name": "Ana"}, "tags": ["Hardware", "vip"],
    })
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["status"] == "new" and ticket["priority"] == "normal"
    assert ticket["routing_state"] == "pending" and ticket["number"] == 1
    assert ticket["tags"] == ["hardware", "vip"]

    patched = await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": '"1"'}, json={"status": "open", "priority": "urgent"})
    assert patched.status_code == 200, patched.text
    assert patched.headers["ETag"] == '"2"'

    note = await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                             json={"body": "checked the toner", "public": False})
    assert note.status_code == 201, note.text
    reply = await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                              json={"body": "On our way"})
    assert reply.status_code == 201

    got = (await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers)).json()
    assert got["first_responded_at"] is not None

    found = await client.get("/v1/tickets", headers=admin_headers,
                             params={"desk_id": desk.id, "q": "toner"})
    assert found.status_code == 200, found.text
    assert [t["id"] for t in found.json()["items"]] == [ticket["id"]]

    history = (await client.get(f"/v1/tickets/{ticket['id']}/events",
                                headers=admin_headers)).json()["items"]
    types = [e["type"] for e in history]
    assert types[:3] == ["ticket.created", "ticket.updated", "ticket.status_changed"]
    assert history[1]["changes"]["priority"] == ["normal", "urgent"]

    board = (await client.get("/v1/tickets/board", headers=admin_headers,
                              params={"desk_id": desk.id})).json()
    assert [c["status"] for c in board["columns"]] == ["new", "open", "pending", "on_hold",
                                                       "solved", "closed"]
    assert board["columns"][1]["count"] == 1

    export = await client.get("/v1/tickets/export.csv", headers=admin_headers,
                              params={"desk_id": desk.id})
    assert export.status_code == 200, export.text
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("id,desk_id,number,subject")
    assert "ana@acme.example" in lines[1]

    view = await client.post("/v1/views", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Urgent", "filters": {"priority": ["urgent"]}})
    assert view.status_code == 201, view.text
    listed = await client.get(f"/v1/views/{view.json()['id']}/tickets", headers=admin_headers)
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]

    closed = await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                                json={"status": "closed"})
    assert closed.status_code == 200
    reopened = await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                                  json={"status": "open"})
    assert reopened.status_code == 409

    feed = await client.get("/v1/events", headers=admin_headers, params={"desk_id": desk.id})
    assert feed.status_code == 200, feed.text
