"""Abuse defences of the public endpoints: body limit, per-IP and per-form rate limits in Redis,
the honeypot, plain-text storage (a `<script>` never comes back out), CORS for portals only."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from app.core.ratelimit import WINDOW_SECONDS
from app.models import Event, FormSubmission, Ticket
from tests.customers.helpers import ok
from tests.forms.conftest import answers, contact_fields

PORTAL = "https://help.example.com"


async def count(session, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return await session.scalar(stmt) or 0


async def in_one_window(attempt):
    """Run `attempt(n)` until one run fits inside a rate-limit window (never wall-clock bound)."""
    for n in range(3):
        started = int(time.time() // WINDOW_SECONDS)
        result = await attempt(n)
        if int(time.time() // WINDOW_SECONDS) == started:
            return result
    raise AssertionError("could not fit the burst into one window")


async def test_body_over_the_form_limit_is_a_413_and_opens_nothing(make_app, client_for, desk,
                                                                   new_form, problem, session):
    form = await new_form(desk.id)
    client = client_for(make_app(form_max_body_bytes=2048))
    url = f"/v1/public/forms/{form['slug']}/submissions"
    body = problem(await client.post(url, json=answers(message="x" * 3000)), 413)
    assert "2048 bytes" in body["detail"]
    chunks = [json.dumps(answers(message="y" * 3000)).encode()]

    async def streamed():  # no Content-Length: counted as it arrives
        for chunk in chunks:
            yield chunk

    problem(await client.post(url, content=streamed(),
                              headers={"Content-Type": "application/json"}), 413)
    assert await count(session, Ticket, desk_id=desk.id) == 0
    ok(await client.post(url, json=answers()), 201)


async def test_submissions_past_the_per_ip_limit_are_429_with_retry_after(make_app, client_for,
                                                                           desk, new_form,
                                                                           problem):
    form = await new_form(desk.id)
    app = make_app(form_rate_limit_per_ip=2)
    url = f"/v1/public/forms/{form['slug']}/submissions"

    async def burst(n: int):
        client = client_for(app, ip=f"10.0.{n}.1")
        return [await client.post(url, json=answers()) for _ in range(3)]

    *allowed, refused = await in_one_window(burst)
    assert [r.status_code for r in allowed] == [201, 201]
    body = problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    assert "More than 2 requests" in body["detail"]
    other_ip = client_for(app, ip="10.9.9.9")
    ok(await other_ip.post(url, json=answers()), 201)


async def test_submissions_past_the_per_form_limit_are_429_whoever_sends(make_app, client_for,
                                                                        desk, new_form, problem):
    app = make_app(form_rate_limit_per_form=2)

    async def burst(n: int):
        form = await new_form(desk.id)
        url = f"/v1/public/forms/{form['slug']}/submissions"
        responses = [await client_for(app, ip=f"10.{n}.0.{i}").post(url, json=answers())
                     for i in range(3)]
        return responses, client_for(app, ip=f"10.{n}.1.1")

    (responses, fresh_client) = await in_one_window(burst)
    assert [r.status_code for r in responses[:2]] == [201, 201]
    problem(responses[2], 429)
    assert 1 <= int(responses[2].headers["Retry-After"]) <= WINDOW_SECONDS
    other = await new_form(desk.id)
    ok(await fresh_client.post(f"/v1/public/forms/{other['slug']}/submissions",
                               json=answers()), 201)


async def test_filled_honeypot_looks_accepted_but_opens_nothing(client, desk, new_form, submit,
                                                                session):
    form = await new_form(desk.id)
    real = ok(await submit(form["slug"], answers()), 201)
    tickets, events = await count(session, Ticket), await count(session, Event)
    bot = await submit(form["slug"], answers(website="http://cheap-pills.example"))
    assert bot.status_code == 201
    assert set(bot.json()) == {"number"} and bot.json()["number"] == real["number"] + 1
    assert (await count(session, Ticket), await count(session, Event)) == (tickets, events)
    assert await count(session, FormSubmission, form_id=form["id"]) == 1
    # A bot is not told about bad answers either.
    assert (await submit(form["slug"], {"website": "x", "email": "junk"})).status_code == 201


async def test_empty_honeypot_is_a_person(desk, new_form, submit, session):
    form = await new_form(desk.id)
    ok(await submit(form["slug"], answers(website="")), 201)
    assert await count(session, Ticket, desk_id=desk.id) == 1


async def test_honeypot_name_is_a_setting(make_app, client_for, desk, new_form, session):
    form = await new_form(desk.id)
    client = client_for(make_app(form_honeypot_field="fax_number"))
    url = f"/v1/public/forms/{form['slug']}/submissions"
    ok(await client.post(url, json=answers(fax_number="123")), 201)
    assert await count(session, Ticket, desk_id=desk.id) == 0


async def test_markup_never_comes_back_out_of_any_api(client, admin_headers, desk, new_form,
                                                      submit, session):
    fields = contact_fields(note={"key": "note", "label": "Note", "type": "text"})
    form = await new_form(desk.id, fields=fields)
    created = ok(await submit(form["slug"], answers(
        name="<b>Ana</b>", subject="<script>alert(1)</script>Help <i>now</i>",
        message="&lt;script&gt;alert(2)&lt;/script&gt;Fine: a < b & c",
        note="<img src=x onerror=alert(3)>kept")), 201)
    ticket = await session.scalar(select(Ticket).where(Ticket.desk_id == desk.id,
                                                       Ticket.number == created["number"]))
    assert ticket.subject == "Help now"
    assert ticket.description == "Fine: a < b & c\n\nNote: kept"
    outputs = [
        await client.get(f"/v1/tickets/{ticket.id}", headers=admin_headers),
        await client.get(f"/v1/tickets/{ticket.id}/events", headers=admin_headers),
        await client.get(f"/v1/forms/{form['id']}/submissions", headers=admin_headers),
        await client.get("/v1/events", headers=admin_headers, params={"desk_id": desk.id}),
        await client.get(f"/v1/customers/{ticket.requester_id}", headers=admin_headers),
    ]
    for response in outputs:
        assert response.status_code == 200, response.text
        text = response.text.lower()
        assert "<script" not in text and "<img" not in text and "<b>" not in text
    stored = await session.scalar(select(FormSubmission.answers).where(
        FormSubmission.form_id == form["id"]))
    assert stored["name"] == "Ana" and stored["note"] == "kept"


async def test_cors_answers_portal_origins_on_public_paths_only(make_app, client_for, desk,
                                                                new_form, admin_headers):
    form = await new_form(desk.id)
    client = client_for(make_app(portal_origins=f"{PORTAL}, https://other-portal.example/"))
    url = f"/v1/public/forms/{form['slug']}/submissions"
    preflight = await client.options(url, headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    posted = await client.post(url, json=answers(), headers={"Origin": PORTAL})
    assert posted.status_code == 201
    assert posted.headers["access-control-allow-origin"] == PORTAL
    second = await client.get(f"/v1/public/forms/{form['slug']}",
                              headers={"Origin": "https://other-portal.example"})
    assert second.headers["access-control-allow-origin"] == "https://other-portal.example"
    stranger = await client.get(f"/v1/public/forms/{form['slug']}",
                                headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    refused = await client.options(url, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in refused.headers
    private = await client.get("/v1/forms", headers={**admin_headers, "Origin": PORTAL})
    assert private.status_code == 200 and "access-control-allow-origin" not in private.headers


async def test_without_portal_origins_no_cors_headers_are_sent(client, desk, new_form):
    form = await new_form(desk.id)
    response = await client.get(f"/v1/public/forms/{form['slug']}", headers={"Origin": PORTAL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_public_endpoints_need_no_credential_and_ignore_a_bad_one(client, desk, new_form,
                                                                        submit):
    form = await new_form(desk.id)
    ok(await submit(form["slug"], answers(), headers={"Authorization": "Bearer nonsense"}), 201)
