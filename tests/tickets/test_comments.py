"""`POST/GET /v1/tickets/{id}/comments`: replies and internal notes, the first response time,
closed tickets, `comment.created`, and a comment leaving the ticket's version alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.models import Comment, Event, Ticket
from tests.customers.helpers import agent_headers, count, error_locs, events, ok, token_headers


async def _comment(client, headers, ticket_id: int, body: str = "On our way",
                   **extra) -> dict:
    return ok(await client.post(f"/v1/tickets/{ticket_id}/comments", headers=headers,
                                json={"body": body, **extra}), 201)


async def _comments(client, headers, ticket_id: int, **params) -> list[dict]:
    page = ok(await client.get(f"/v1/tickets/{ticket_id}/comments", headers=headers,
                               params=params))
    return page["items"]


async def _set(session, ticket_id: int, **values) -> None:
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                          .execution_options(synchronize_session=False))


# --- create ------------------------------------------------------------------------------------


async def test_a_reply_answers_201_with_the_comment(client, factory, admin_headers, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    response = await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                                 json={"body": "On our way"})
    comment = ok(response, 201)
    assert response.headers["Location"].startswith(f"/v1/tickets/{ticket['id']}/comments")
    assert {k: comment[k] for k in ("ticket_id", "desk_id", "body", "public")} == {
        "ticket_id": ticket["id"], "desk_id": desk.id, "body": "On our way", "public": True}
    assert comment["author"]["kind"] == "api_token"
    assert comment["id"] and comment["created_at"]


async def test_a_note_is_a_comment_with_public_false(client, factory, admin_headers,
                                                     new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    note = await _comment(client, admin_headers, ticket["id"], "Checked the toner", public=False)
    assert note["public"] is False
    assert await _comments(client, admin_headers, ticket["id"]) == [note]


async def test_a_staff_comment_names_its_author(client, factory, new_ticket):
    desk = await factory.desk()
    agent = await factory.user(password="correct horse battery staple", desks=(desk.id,))
    response = await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": agent.email,
        "password": "correct horse battery staple"})
    headers = {"Authorization": f"Bearer {ok(response)['access_token']}"}
    ticket = await new_ticket(desk.id)
    comment = await _comment(client, headers, ticket["id"])
    assert comment["author"] == {"kind": "user", "id": agent.id}


@pytest.mark.parametrize(("payload", "loc"), [
    ({}, ["body", "body"]),
    ({"body": ""}, ["body", "body"]),
    ({"body": "nul\x00"}, ["body", "body"]),
    ({"body": "x" * 65_537}, ["body", "body"]),
    ({"body": "hi", "public": "maybe"}, ["body", "public"]),
    ({"body": "hi", "author_id": 3}, ["body", "author_id"]),
])
async def test_an_invalid_comment_is_422_at_the_field(client, factory, admin_headers, problem,
                                                      new_ticket, session, payload, loc):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    body = problem(await client.post(f"/v1/tickets/{ticket['id']}/comments",
                                     headers=admin_headers, json=payload), 422)
    assert error_locs(body) == [loc]
    assert await count(session, Comment) == 0


async def test_a_comment_on_a_missing_ticket_is_404(client, admin_headers, problem, session):
    problem(await client.post("/v1/tickets/2000000000/comments", headers=admin_headers,
                              json={"body": "hi"}), 404)
    problem(await client.get("/v1/tickets/2000000000/comments", headers=admin_headers), 404)
    assert await count(session, Comment) == 0


@pytest.mark.parametrize("public", [True, False])
async def test_a_comment_on_a_closed_ticket_is_409_and_adds_nothing(client, factory,
                                                                    admin_headers, problem,
                                                                    session, new_ticket,
                                                                    patch_ticket, public):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    ok(await patch_ticket(ticket["id"], status="closed"))
    problem(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                              json={"body": "hello?", "public": public}), 409)
    assert await count(session, Comment) == 0
    assert await events(session, "comment.created") == []


@pytest.mark.parametrize("status", ["pending", "on_hold", "solved"])
async def test_a_comment_on_an_unclosed_ticket_is_accepted(client, factory, admin_headers,
                                                           new_ticket, status):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id, status=status)
    comment = await _comment(client, admin_headers, ticket["id"])
    assert comment["ticket_id"] == ticket["id"]
    assert await _comments(client, admin_headers, ticket["id"]) == [comment]


# --- list --------------------------------------------------------------------------------------


async def test_comments_list_oldest_first_and_filter_by_public(client, factory, admin_headers,
                                                               new_ticket, problem):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    other = await new_ticket(desk.id, subject="Other")
    await _comment(client, admin_headers, other["id"], "elsewhere")
    made = [await _comment(client, admin_headers, ticket["id"], f"c{i}", public=i % 2 == 0)
            for i in range(5)]
    assert await _comments(client, admin_headers, ticket["id"]) == made
    assert await _comments(client, admin_headers, ticket["id"], public="true") == made[0::2]
    assert await _comments(client, admin_headers, ticket["id"], public="false") == made[1::2]
    body = problem(await client.get(f"/v1/tickets/{ticket['id']}/comments",
                                    headers=admin_headers, params={"public": "maybe"}), 422)
    assert error_locs(body) == [["query", "public"]]


async def test_comments_page_through_each_once(client, factory, admin_headers, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    made = [await _comment(client, admin_headers, ticket["id"], f"c{i}") for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(await client.get(f"/v1/tickets/{ticket['id']}/comments",
                                   headers=admin_headers, params=params))
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


# --- first response ----------------------------------------------------------------------------


async def test_the_first_public_staff_reply_sets_first_responded_at(client, factory,
                                                                    admin_headers, new_ticket,
                                                                    get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    await _comment(client, admin_headers, ticket["id"], "internal", public=False)
    assert (await get_ticket(ticket["id"]))["first_responded_at"] is None
    reply = await _comment(client, admin_headers, ticket["id"])
    responded = (await get_ticket(ticket["id"]))["first_responded_at"]
    assert responded is not None
    assert abs(datetime.fromisoformat(responded)
               - datetime.fromisoformat(reply["created_at"])) < timedelta(minutes=1)


async def test_a_second_reply_keeps_the_first_response_time(client, factory, admin_headers,
                                                            session, new_ticket, get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    await _comment(client, admin_headers, ticket["id"])
    first = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    await _set(session, ticket["id"], first_responded_at=first)
    await _comment(client, admin_headers, ticket["id"], "again")
    await _comment(client, admin_headers, ticket["id"], "a note", public=False)
    assert datetime.fromisoformat((await get_ticket(ticket["id"]))["first_responded_at"]) == first


async def test_an_agent_reply_counts_as_the_first_response(client, factory, new_ticket,
                                                           get_ticket):
    desk = await factory.desk()
    headers = await agent_headers(client, factory, desk.id)
    ticket = await new_ticket(desk.id)
    await _comment(client, headers, ticket["id"])
    assert (await get_ticket(ticket["id"]))["first_responded_at"] is not None


# --- events ------------------------------------------------------------------------------------


async def test_comments_write_comment_created_with_public_as_given(client, factory,
                                                                   admin_headers, session,
                                                                   new_ticket, history):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    reply = await _comment(client, admin_headers, ticket["id"], "Hi")
    note = await _comment(client, admin_headers, ticket["id"], "psst", public=False)
    created = await events(session, "comment.created", subject_id=ticket["id"])
    assert [(e.desk_id, e.subject_type, e.data, e.changes) for e in created] == [
        (desk.id, "ticket", reply, None), (desk.id, "ticket", note, None)]
    assert created[1].data["public"] is False
    assert [e["type"] for e in await history(ticket["id"])] == [
        "ticket.created", "comment.created", "comment.created"]


async def test_a_failed_comment_writes_no_event(client, factory, admin_headers, session,
                                                problem, new_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    problem(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                              json={"body": ""}), 422)
    assert await count(session, Event, type="comment.created") == 0


# --- the ticket's version and updated_at -------------------------------------------------------


async def test_a_comment_keeps_the_version_so_an_earlier_if_match_still_works(
        client, factory, admin_headers, new_ticket, patch_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    fetched = await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers)
    etag = fetched.headers["ETag"]
    await _comment(client, admin_headers, ticket["id"])
    await _comment(client, admin_headers, ticket["id"], "note", public=False)
    again = await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers)
    assert (again.headers["ETag"], again.json()["version"]) == (etag, 1)
    changed = await client.patch(f"/v1/tickets/{ticket['id']}", headers={
        **admin_headers, "If-Match": etag}, json={"status": "pending"})
    assert ok(changed)["status"] == "pending"


async def test_a_comment_moves_updated_at(client, factory, admin_headers, session, new_ticket,
                                          get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    await _set(session, ticket["id"], updated_at=long_ago)
    await _comment(client, admin_headers, ticket["id"], "note", public=False)
    assert datetime.fromisoformat((await get_ticket(ticket["id"]))["updated_at"]) > long_ago


async def test_a_patch_after_a_comment_keeps_the_comment_and_first_response(
        client, factory, admin_headers, session, new_ticket, patch_ticket, get_ticket):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    await _comment(client, admin_headers, ticket["id"], "toner")
    responded = (await get_ticket(ticket["id"]))["first_responded_at"]
    changed = ok(await patch_ticket(ticket["id"], subject="Paper jam"))
    assert changed["first_responded_at"] == responded
    ids = (await session.scalars(select(Comment.id).where(Comment.ticket_id == ticket["id"]))).all()
    assert len(ids) == 1


async def test_tickets_read_may_list_comments_but_not_write_them(client, factory, problem,
                                                                 new_ticket, admin_headers):
    desk = await factory.desk()
    ticket = await new_ticket(desk.id)
    note = await _comment(client, admin_headers, ticket["id"], "note", public=False)
    headers = await token_headers(factory, ["tickets:read"], [desk.id])
    assert await _comments(client, headers, ticket["id"]) == [note]
    problem(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=headers,
                              json={"body": "hi"}), 403)
