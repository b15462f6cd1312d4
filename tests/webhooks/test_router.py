"""Webhook subscriptions over HTTP: subscribe, read, change, unsubscribe; URL, event and desk
checks; who sees which webhook."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from app.models import IdempotencyKey, Webhook
from tests.conftest import bearer
from tests.customers.helpers import agent_headers, error_locs, ok, token_headers

URL = "https://hooks.example.com/switchboard"


async def subscribe(client: httpx.AsyncClient, headers: dict[str, str], **body: Any
                    ) -> httpx.Response:
    body.setdefault("url", URL)
    body.setdefault("events", ["ticket.created"])
    return await client.post("/v1/webhooks", headers=headers, json=body)


@pytest_asyncio.fixture(loop_scope="session")
async def desks(factory) -> dict[str, int]:
    made = {name: await factory.desk(name.title(), kind=kind) for name, kind in (
        ("support", "standard"), ("billing", "standard"), ("sandbox", "sandbox"))}
    return {name: desk.id for name, desk in made.items()}


# --- subscribing ----------------------------------------------------------------------------

async def test_subscribe_answers_201_with_location_etag_and_the_secret_once(
        client, admin_headers, desks):
    response = await subscribe(client, admin_headers, desk_ids=[desks["support"]],
                               events=["ticket.created", "comment.created"],
                               description="Zapier")
    created = ok(response, 201)
    assert response.headers["Location"] == f"/v1/webhooks/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    assert created["secret"].startswith("whsec_")
    assert created["url"] == URL
    assert created["events"] == ["ticket.created", "comment.created"]
    assert created["desk_ids"] == [desks["support"]]
    assert created["description"] == "Zapier"
    assert created["state"] == "active" and created["include_internal"] is False
    fetched = ok(await client.get(f"/v1/webhooks/{created['id']}", headers=admin_headers))
    assert "secret" not in fetched
    listed = ok(await client.get("/v1/webhooks", headers=admin_headers))["items"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]


async def test_a_keyed_subscribe_or_rotation_never_stores_the_secret_for_replay(
        client, admin_headers, session):
    headers = {**admin_headers, "Idempotency-Key": "subscribe-1"}
    first = ok(await subscribe(client, headers), 201)
    rotated = ok(await client.post(f"/v1/webhooks/{first['id']}/rotate-secret",
                                   headers={**admin_headers, "Idempotency-Key": "rotate-1"}))
    stored = (await session.scalars(select(IdempotencyKey.response_body))).all()
    for secret in (first["secret"], rotated["secret"]):
        assert all(secret.encode() not in body for body in stored)
    # Nothing to replay: the retry is a new subscription with a secret of its own.
    again = ok(await subscribe(client, headers), 201)
    assert again["id"] != first["id"] and again["secret"] not in (first["secret"],
                                                                   rotated["secret"])


async def test_each_webhook_gets_its_own_secret(client, admin_headers, session):
    first = ok(await subscribe(client, admin_headers), 201)
    second = ok(await subscribe(client, admin_headers), 201)
    assert first["secret"] != second["secret"]
    stored = await session.scalar(select(Webhook.secret).where(Webhook.id == first["id"]))
    assert stored == first["secret"]


async def test_include_internal_is_stored_when_asked(client, admin_headers):
    created = ok(await subscribe(client, admin_headers, events=["comment.created"],
                                 include_internal=True), 201)
    assert created["include_internal"] is True


async def test_star_subscribes_to_every_event(client, admin_headers):
    assert ok(await subscribe(client, admin_headers, events=["*"]), 201)["events"] == ["*"]


async def test_unknown_event_type_is_422_at_its_index(client, admin_headers, problem):
    body = problem(await subscribe(client, admin_headers,
                                   events=["ticket.created", "ticket.exploded"]), 422)
    assert error_locs(body) == [["body", "events", 1]]


async def test_star_with_other_types_is_422(client, admin_headers, problem):
    body = problem(await subscribe(client, admin_headers, events=["*", "ticket.created"]), 422)
    assert error_locs(body) == [["body", "events"]]


async def test_empty_events_is_422(client, admin_headers, problem):
    assert error_locs(problem(await subscribe(client, admin_headers, events=[]), 422)) == [
        ["body", "events"]]


async def test_repeated_event_types_are_stored_once(client, admin_headers):
    created = ok(await subscribe(client, admin_headers,
                                 events=["ticket.created", "ticket.created"]), 201)
    assert created["events"] == ["ticket.created"]


@pytest.mark.parametrize(("url", "msg"), [
    ("http://hooks.example.com/x", "the URL must use https"),
    ("https://user:secret@hooks.example.com/x", "the URL must not contain credentials"),
    ("https://127.0.0.1:8080/x", "127.0.0.1 is not a public address"),
    ("https://2130706433/x", "127.0.0.1 is not a public address"),
    ("https://[::ffff:10.0.0.1]/x", "10.0.0.1 is not a public address"),
    ("https://169.254.169.254/latest", "169.254.169.254 is not a public address"),
    ("not a url", "the URL must use https"),
])
async def test_refused_url_is_422_at_url(client, admin_headers, problem, url, msg):
    body = problem(await subscribe(client, admin_headers, url=url), 422)
    assert body["errors"] == [{"loc": ["body", "url"], "msg": msg, "type": "url_refused"}]


async def test_http_url_is_accepted_when_webhook_allow_http_is_set(client, admin_headers, app,
                                                                  settings):
    app.state.settings = settings.model_copy(update={"webhook_allow_http": True})
    assert ok(await subscribe(client, admin_headers, url="http://hooks.example.com/x"), 201)


async def test_allow_listed_address_is_accepted_and_its_neighbour_is_not(
        client, admin_headers, app, settings, problem):
    app.state.settings = settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1"})
    ok(await subscribe(client, admin_headers, url="https://127.0.0.1:9000/hook"), 201)
    problem(await subscribe(client, admin_headers, url="https://127.0.0.2:9000/hook"), 422)


async def test_nul_in_description_is_422(client, admin_headers, problem):
    body = problem(await subscribe(client, admin_headers, description="a\x00b"), 422)
    assert error_locs(body) == [["body", "description"]]


async def test_unknown_field_is_422(client, admin_headers, problem):
    body = problem(await subscribe(client, admin_headers, secret="whsec_mine"), 422)
    assert error_locs(body) == [["body", "secret"]]


# --- desks ----------------------------------------------------------------------------------

async def test_desk_ids_omitted_means_every_desk_for_an_admin(client, admin_headers):
    assert ok(await subscribe(client, admin_headers), 201)["desk_ids"] is None


async def test_desk_ids_omitted_means_the_callers_desks(client, factory, desks):
    headers = await token_headers(factory, ["webhooks:write"],
                                  desk_ids=[desks["billing"], desks["support"]])
    created = ok(await subscribe(client, headers), 201)
    assert created["desk_ids"] == sorted([desks["billing"], desks["support"]])


async def test_desk_ids_omitted_by_an_agent_means_its_member_desks(client, factory, desks):
    headers = await agent_headers(client, factory, desks["support"])
    assert ok(await subscribe(client, headers), 201)["desk_ids"] == [desks["support"]]


async def test_agent_without_desks_sees_no_webhooks_and_cannot_subscribe(
        client, factory, admin_headers, problem):
    ok(await subscribe(client, admin_headers), 201)
    headers = await agent_headers(client, factory)
    assert ok(await client.get("/v1/webhooks", headers=headers))["items"] == []
    body = problem(await subscribe(client, headers), 422)
    assert body["errors"][0]["msg"] == "the caller has no desks to subscribe to"


async def test_desk_ids_null_is_422_for_a_caller_confined_to_desks(client, factory, desks,
                                                                   problem):
    headers = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["support"]])
    body = problem(await subscribe(client, headers, desk_ids=None), 422)
    assert error_locs(body) == [["body", "desk_ids"]]


async def test_desk_outside_the_callers_scope_is_404(client, factory, desks, problem):
    headers = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["support"]])
    body = problem(await subscribe(client, headers,
                                   desk_ids=[desks["support"], desks["billing"]]), 404)
    assert body["detail"] == f"Desk {desks['billing']} does not exist."


async def test_desk_ids_are_stored_sorted_once_each(client, admin_headers, desks):
    created = ok(await subscribe(client, admin_headers, desk_ids=[
        desks["billing"], desks["support"], desks["billing"]]), 201)
    assert created["desk_ids"] == sorted([desks["billing"], desks["support"]])


async def test_missing_desk_is_404_even_for_an_admin(client, admin_headers, problem):
    problem(await subscribe(client, admin_headers, desk_ids=[2_000_000_000]), 404)


async def test_empty_desk_ids_is_422(client, admin_headers, problem):
    assert error_locs(problem(await subscribe(client, admin_headers, desk_ids=[]), 422)) == [
        ["body", "desk_ids"]]


async def test_sandbox_token_subscribes_to_its_sandbox_desk_only(client, factory, desks,
                                                                 problem):
    headers = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["sandbox"]],
                                  sandbox=True)
    created = ok(await subscribe(client, headers), 201)
    assert created["desk_ids"] == [desks["sandbox"]] and created["sandbox"] is True
    problem(await subscribe(client, headers, desk_ids=[desks["support"]]), 404)
    problem(await subscribe(client, headers, desk_ids=None), 422)


async def test_a_sandbox_webhook_stays_on_sandbox_desks_when_an_admin_changes_it(
        client, factory, admin_headers, desks, problem):
    headers = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["sandbox"]],
                                  sandbox=True)
    created = ok(await subscribe(client, headers), 201)
    path = f"/v1/webhooks/{created['id']}"
    body = problem(await client.patch(path, headers=admin_headers,
                                      json={"desk_ids": [desks["sandbox"], desks["support"]]}),
                   422)
    assert error_locs(body) == [["body", "desk_ids", 1]]
    problem(await client.patch(path, headers=admin_headers, json={"desk_ids": None}), 422)
    assert ok(await client.get(path, headers=admin_headers))["desk_ids"] == [desks["sandbox"]]


# --- scopes and visibility ------------------------------------------------------------------

async def test_subscribing_needs_webhooks_write(client, factory, desks, problem):
    reader = await token_headers(factory, ["webhooks:read"], desk_ids=[desks["support"]])
    body = problem(await subscribe(client, reader), 403)
    assert body["required_scope"] == "webhooks:write"
    other = await token_headers(factory, ["tickets:write"], desk_ids=[desks["support"]])
    problem(await client.get("/v1/webhooks", headers=other), 403)


async def test_webhooks_need_a_credential(client, problem):
    problem(await client.get("/v1/webhooks"), 401)


async def test_a_webhook_is_visible_only_to_callers_seeing_all_its_desks(
        client, factory, admin_headers, desks, problem):
    support = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["support"]])
    both = await token_headers(factory, ["webhooks:write"],
                               desk_ids=[desks["support"], desks["billing"]])
    on_support = ok(await subscribe(client, support), 201)
    on_both = ok(await subscribe(client, both), 201)
    everywhere = ok(await subscribe(client, admin_headers), 201)

    async def listed(headers: dict[str, str]) -> list[int]:
        return [w["id"] for w in ok(await client.get("/v1/webhooks", headers=headers))["items"]]

    assert await listed(support) == [on_support["id"]]
    assert await listed(both) == [on_support["id"], on_both["id"]]
    assert await listed(admin_headers) == [on_support["id"], on_both["id"], everywhere["id"]]
    for hidden in (on_both, everywhere):
        problem(await client.get(f"/v1/webhooks/{hidden['id']}", headers=support), 404)
        problem(await client.delete(f"/v1/webhooks/{hidden['id']}", headers=support), 404)
        problem(await client.patch(f"/v1/webhooks/{hidden['id']}", headers=support,
                                   json={"description": "mine now"}), 404)
    ok(await client.get(f"/v1/webhooks/{on_support['id']}", headers=both))


async def test_sandbox_token_never_sees_standard_desk_webhooks(client, factory, admin_headers,
                                                               desks, problem):
    standard = ok(await subscribe(client, admin_headers, desk_ids=[desks["support"]]), 201)
    sandbox = await token_headers(factory, ["webhooks:read"], desk_ids=[desks["sandbox"]],
                                  sandbox=True)
    assert ok(await client.get("/v1/webhooks", headers=sandbox))["items"] == []
    problem(await client.get(f"/v1/webhooks/{standard['id']}", headers=sandbox), 404)


async def test_list_is_paginated_by_id(client, admin_headers):
    ids = [ok(await subscribe(client, admin_headers), 201)["id"] for _ in range(3)]
    first = ok(await client.get("/v1/webhooks", headers=admin_headers, params={"limit": 2}))
    assert [w["id"] for w in first["items"]] == ids[:2]
    second = ok(await client.get("/v1/webhooks", headers=admin_headers,
                                 params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [w["id"] for w in second["items"]] == ids[2:] and second["next_cursor"] is None


async def test_unreadable_cursor_is_400(client, admin_headers, problem):
    problem(await client.get("/v1/webhooks", headers=admin_headers,
                             params={"cursor": "garbage"}), 400)


async def test_impossible_webhook_id_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/webhooks/99999999999", headers=admin_headers), 422)
    assert error_locs(body) == [["path", "webhook_id"]]


# --- changing and unsubscribing -------------------------------------------------------------

async def test_unsubscribe_answers_204_and_then_the_webhook_is_gone(client, admin_headers,
                                                                   problem):
    created = ok(await subscribe(client, admin_headers), 201)
    response = await client.delete(f"/v1/webhooks/{created['id']}", headers=admin_headers)
    assert response.status_code == 204 and response.content == b""
    problem(await client.get(f"/v1/webhooks/{created['id']}", headers=admin_headers), 404)
    problem(await client.delete(f"/v1/webhooks/{created['id']}", headers=admin_headers), 404)


async def test_patch_changes_only_the_fields_sent_and_bumps_the_etag(client, admin_headers,
                                                                     desks):
    created = ok(await subscribe(client, admin_headers, description="old",
                                 desk_ids=[desks["support"]]), 201)
    response = await client.patch(f"/v1/webhooks/{created['id']}", headers=admin_headers,
                                  json={"events": ["*"], "url": "https://other.example.com/h",
                                        "desk_ids": [desks["billing"], desks["support"]]})
    changed = ok(response)
    assert response.headers["ETag"] == '"2"'
    assert changed["events"] == ["*"] and changed["url"] == "https://other.example.com/h"
    assert changed["desk_ids"] == sorted([desks["billing"], desks["support"]])
    assert changed["description"] == "old" and changed["version"] == 2


async def test_patch_with_a_stale_if_match_is_412(client, admin_headers, problem):
    created = ok(await subscribe(client, admin_headers), 201)
    path = f"/v1/webhooks/{created['id']}"
    ok(await client.patch(path, headers={**admin_headers, "If-Match": '"1"'},
                          json={"description": "first"}))
    problem(await client.patch(path, headers={**admin_headers, "If-Match": '"1"'},
                               json={"description": "second"}), 412)
    fetched = await client.get(path, headers=admin_headers)
    assert fetched.headers["ETag"] == '"2"' and fetched.json()["description"] == "first"


async def test_patch_checks_the_url_like_subscribe(client, admin_headers, problem):
    created = ok(await subscribe(client, admin_headers), 201)
    body = problem(await client.patch(f"/v1/webhooks/{created['id']}", headers=admin_headers,
                                      json={"url": "https://10.0.0.1/"}), 422)
    assert error_locs(body) == [["body", "url"]]


@pytest.mark.parametrize("field", ["url", "events", "description", "include_internal"])
async def test_patch_null_for_a_required_field_is_422(client, admin_headers, problem, field):
    created = ok(await subscribe(client, admin_headers), 201)
    body = problem(await client.patch(f"/v1/webhooks/{created['id']}", headers=admin_headers,
                                      json={field: None}), 422)
    assert error_locs(body) == [["body", field]]


async def test_patch_desk_ids_outside_the_scope_is_404(client, factory, desks, problem):
    headers = await token_headers(factory, ["webhooks:write"], desk_ids=[desks["support"]])
    created = ok(await subscribe(client, headers), 201)
    problem(await client.patch(f"/v1/webhooks/{created['id']}", headers=headers,
                               json={"desk_ids": [desks["billing"]]}), 404)
    problem(await client.patch(f"/v1/webhooks/{created['id']}", headers=headers,
                               json={"desk_ids": None}), 422)


async def test_patch_desk_ids_null_makes_an_admin_webhook_hear_every_desk(client, admin_headers,
                                                                          desks):
    created = ok(await subscribe(client, admin_headers, desk_ids=[desks["support"]]), 201)
    changed = ok(await client.patch(f"/v1/webhooks/{created['id']}", headers=admin_headers,
                                    json={"desk_ids": None}))
    assert changed["desk_ids"] is None


async def test_unsubscribe_needs_webhooks_write(client, factory, admin_headers, problem):
    created = ok(await subscribe(client, admin_headers), 201)
    reader = bearer(await factory.token(["webhooks:read"]))
    problem(await client.delete(f"/v1/webhooks/{created['id']}", headers=reader), 403)
