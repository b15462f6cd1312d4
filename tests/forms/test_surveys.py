"""Surveys: a signed, expiring link per solved ticket; one answer (1–5 and a comment) per
ticket, with an event; forged links 404, expired ones 410."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select

from app.core.security import create_access_token
from app.forms.surveys import issue_token
from app.models import Event
from tests.conftest import TEST_SECRET, bearer
from tests.customers.helpers import error_locs, ok
from tests.tickets.conftest import ticket_body


async def new_ticket(client, headers, desk_id: int, status: str = "solved") -> dict:
    ticket = ok(await client.post("/v1/tickets", headers=headers, json=ticket_body(desk_id)), 201)
    if status != "new":
        ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=headers,
                              json={"status": status}))
    return ticket


async def link(client, headers, ticket_id: int) -> dict:
    return ok(await client.post(f"/v1/tickets/{ticket_id}/survey-link", headers=headers))


async def test_solved_ticket_gets_a_link_that_takes_one_answer(client, admin_headers, desk,
                                                               problem, session):
    ticket = await new_ticket(client, admin_headers, desk.id)
    issued = await link(client, admin_headers, ticket["id"])
    assert issued["url_path"] == f"/v1/public/surveys/{issued['token']}"
    assert issued["expires_at"]
    about = ok(await client.get(issued["url_path"]))
    assert about["ticket_number"] == ticket["number"] and about["answered"] is False
    thanks = ok(await client.post(issued["url_path"], json={"rating": 5, "comment": "Quick!"}),
                201)
    assert (thanks["rating"], thanks["comment"]) == (5, "Quick!")
    problem(await client.post(issued["url_path"], json={"rating": 1}), 409)
    assert ok(await client.get(issued["url_path"]))["answered"] is True
    answer = ok(await client.get(f"/v1/tickets/{ticket['id']}/survey", headers=admin_headers))
    assert (answer["rating"], answer["comment"], answer["desk_id"]) == (5, "Quick!", desk.id)
    events = (await session.scalars(select(Event).where(Event.type == "survey.answered",
                                                        Event.subject_id == ticket["id"]))).all()
    assert len(events) == 1 and events[0].data["rating"] == 5
    history = ok(await client.get(f"/v1/tickets/{ticket['id']}/events", headers=admin_headers))
    assert "survey.answered" in [e["type"] for e in history["items"]]


async def test_a_second_link_cannot_answer_twice_either(client, admin_headers, desk, problem):
    ticket = await new_ticket(client, admin_headers, desk.id, status="closed")
    first = await link(client, admin_headers, ticket["id"])
    second = await link(client, admin_headers, ticket["id"])
    ok(await client.post(first["url_path"], json={"rating": 4}), 201)
    problem(await client.post(second["url_path"], json={"rating": 2}), 409)
    problem(await client.post(f"/v1/tickets/{ticket['id']}/survey-link", headers=admin_headers),
            409)


async def test_unsolved_ticket_gets_no_survey_link(client, admin_headers, desk, problem):
    for status in ("new", "open", "pending"):
        ticket = await new_ticket(client, admin_headers, desk.id, status=status)
        problem(await client.post(f"/v1/tickets/{ticket['id']}/survey-link",
                                  headers=admin_headers), 409)


async def test_expired_link_is_410(client, admin_headers, desk, problem):
    ticket = await new_ticket(client, admin_headers, desk.id)
    token, _ = issue_token(ticket["id"], desk.id, TEST_SECRET, 60, now=time.time() - 3600)
    problem(await client.get(f"/v1/public/surveys/{token}"), 410)
    problem(await client.post(f"/v1/public/surveys/{token}", json={"rating": 3}), 410)
    problem(await client.get(f"/v1/tickets/{ticket['id']}/survey", headers=admin_headers), 404)


async def test_link_lifetime_is_a_setting(make_app, client_for, admin_headers, client, desk):
    ticket = await new_ticket(client, admin_headers, desk.id)
    short = client_for(make_app(survey_link_ttl_seconds=120))
    issued = ok(await short.post(f"/v1/tickets/{ticket['id']}/survey-link", headers=admin_headers))
    ok(await client.get(issued["url_path"]))
    left = datetime.fromisoformat(issued["expires_at"]).timestamp() - time.time()
    assert 0 < left <= 120


async def test_forged_or_foreign_tokens_are_404(client, admin_headers, desk, problem):
    ticket = await new_ticket(client, admin_headers, desk.id)
    issued = await link(client, admin_headers, ticket["id"])
    token = issued["token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_key, _ = issue_token(ticket["id"], desk.id, "another-secret-" * 4, 3600)
    staff_jwt = create_access_token(ticket["id"], TEST_SECRET, 3600)
    for bad in (tampered, other_key, staff_jwt, "not-a-token"):
        problem(await client.post(f"/v1/public/surveys/{bad}", json={"rating": 5}), 404)
        problem(await client.get(f"/v1/public/surveys/{bad}"), 404)
    # and a survey token is no staff credential
    problem(await client.get("/v1/me", headers=bearer(token)), 401)


async def test_rating_must_be_one_to_five(client, admin_headers, desk, problem):
    ticket = await new_ticket(client, admin_headers, desk.id)
    issued = await link(client, admin_headers, ticket["id"])
    for rating in (0, 6, "great", None):
        body = problem(await client.post(issued["url_path"], json={"rating": rating}), 422)
        assert error_locs(body) == [["body", "rating"]]
    ok(await client.post(issued["url_path"], json={"rating": 1}), 201)


async def test_survey_comment_is_stored_as_plain_text(client, admin_headers, desk):
    ticket = await new_ticket(client, admin_headers, desk.id)
    issued = await link(client, admin_headers, ticket["id"])
    thanks = ok(await client.post(issued["url_path"], json={
        "rating": 2, "comment": "<script>steal()</script>Slow <b>reply</b>"}), 201)
    assert thanks["comment"] == "Slow reply"
    answer = await client.get(f"/v1/tickets/{ticket['id']}/survey", headers=admin_headers)
    assert "<script" not in answer.text and answer.json()["comment"] == "Slow reply"


async def test_links_and_answers_of_other_desks_are_404(client, admin_headers, factory, problem):
    mine, theirs = await factory.desk("Mine"), await factory.desk("Theirs")
    headers = bearer(await factory.token(["tickets:write"], desk_ids=[mine.id]))
    ticket = await new_ticket(client, admin_headers, theirs.id)
    problem(await client.post(f"/v1/tickets/{ticket['id']}/survey-link", headers=headers), 404)
    problem(await client.get(f"/v1/tickets/{ticket['id']}/survey", headers=headers), 404)


async def test_survey_link_needs_tickets_write(client, admin_headers, factory, desk, problem):
    ticket = await new_ticket(client, admin_headers, desk.id)
    reader = bearer(await factory.token(["tickets:read"]))
    problem(await client.post(f"/v1/tickets/{ticket['id']}/survey-link", headers=reader), 403)


async def test_survey_answers_are_rate_limited_per_ip(make_app, client_for, admin_headers, client,
                                                      desk, problem):
    app = make_app(form_rate_limit_per_ip=1)
    tickets = [await new_ticket(client, admin_headers, desk.id) for _ in range(2)]
    links = [await link(client, admin_headers, t["id"]) for t in tickets]
    for attempt in range(3):
        started = int(time.time() // 60)
        public = client_for(app, ip=f"10.1.{attempt}.1")
        first = await public.post(links[0]["url_path"], json={"rating": 3})
        second = await public.post(links[1]["url_path"], json={"rating": 3})
        if int(time.time() // 60) == started:
            break
    assert first.status_code in (201, 409)
    problem(second, 429)
