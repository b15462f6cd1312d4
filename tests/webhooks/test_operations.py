"""Operating a webhook: rotating its secret, enabling it again, its delivery log, redelivery."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, select
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from app.core import jobs
from app.core.db import utcnow
from app.models import Delivery, Event, Webhook
from app.webhooks import delivery as delivering
from app.webhooks import signing
from app.webhooks.dispatch import deliver_job_id
from tests.customers.helpers import ok, token_headers
from tests.webhooks.receiver import Receiver, clear_queue
from tests.webhooks.test_router import subscribe


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory) -> int:
    return (await factory.desk("Support")).id


@pytest_asyncio.fixture(loop_scope="session")
async def hook(client, admin_headers, desk) -> dict[str, Any]:
    return ok(await subscribe(client, admin_headers, desk_ids=[desk], events=["*"]), 201)


async def stored(session, webhook_id: int) -> Webhook:
    return await session.scalar(select(Webhook).where(Webhook.id == webhook_id)
                                .execution_options(populate_existing=True))


async def add_delivery(session, webhook_id: int, desk_id: int, type_: str = "ticket.created",
                       **values: Any) -> Delivery:
    row = Event(type=type_, desk_id=desk_id, subject_type="ticket", subject_id=1,
                actor={"kind": "system", "id": None, "name": "Switchboard"}, data={"id": 1})
    session.add(row)
    await session.flush()
    delivery = Delivery(webhook_id=webhook_id, event_id=row.id, **values)
    session.add(delivery)
    await session.flush()
    await session.refresh(delivery)
    return delivery


# --- rotating the secret --------------------------------------------------------------------

async def test_rotate_returns_a_new_secret_once_and_both_sign_for_24_hours(
        client, admin_headers, hook, session):
    before = datetime.now(UTC)
    response = await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret",
                                 headers=admin_headers)
    rotated = ok(response)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert response.headers["ETag"] == '"2"'
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= expires <= datetime.now(UTC) + timedelta(hours=24)
    assert "secret" not in ok(await client.get(f"/v1/webhooks/{hook['id']}",
                                               headers=admin_headers))

    row = await stored(session, hook["id"])
    secrets = signing.signing_secrets(row, datetime.now(UTC))
    assert secrets == [rotated["secret"], hook["secret"]]
    body = json.dumps({"id": 7, "type": "ticket.created"}).encode()
    headers = signing.headers(secrets, "7", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Verifier(rotated["secret"]).verify(body, headers)
    Verifier(hook["secret"]).verify(body, headers)


async def test_after_the_overlap_only_the_new_secret_signs(client, admin_headers, hook, session):
    rotated = ok(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret",
                                   headers=admin_headers))
    row = await stored(session, hook["id"])
    later = row.previous_secret_expires_at + timedelta(seconds=1)
    secrets = signing.signing_secrets(row, later)
    assert secrets == [rotated["secret"]]
    body = b'{"id": 7}'
    headers = signing.headers(secrets, "7", int(time.time()), body)
    Verifier(rotated["secret"]).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(body, headers)


async def test_rotating_twice_drops_the_oldest_secret(client, admin_headers, hook, session):
    second = ok(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret",
                                  headers=admin_headers))
    third = ok(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret",
                                 headers=admin_headers))
    row = await stored(session, hook["id"])
    assert signing.signing_secrets(row, datetime.now(UTC)) == [third["secret"], second["secret"]]
    assert hook["secret"] not in (row.secret, row.previous_secret)


async def test_rotate_needs_webhooks_write_and_a_visible_webhook(client, factory, hook, problem):
    reader = await token_headers(factory, ["webhooks:read"])
    problem(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=reader), 403)
    other = (await factory.desk("Elsewhere")).id
    outsider = await token_headers(factory, ["webhooks:write"], desk_ids=[other])
    problem(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=outsider), 404)


# --- enabling -------------------------------------------------------------------------------

async def test_enable_reactivates_a_disabled_webhook_and_resets_its_failures(
        client, admin_headers, hook, session):
    row = await stored(session, hook["id"])
    row.state, row.disabled_reason = "disabled", "failing for 3 days"
    row.failure_count, row.failing_since = 42, datetime.now(UTC) - timedelta(days=3)
    await session.flush()
    assert ok(await client.get(f"/v1/webhooks/{hook['id']}", headers=admin_headers))[
        "state"] == "disabled"
    enabled = ok(await client.post(f"/v1/webhooks/{hook['id']}/enable", headers=admin_headers))
    assert enabled["state"] == "active" and enabled["disabled_reason"] is None
    assert enabled["failure_count"] == 0 and enabled["failing_since"] is None
    row = await stored(session, hook["id"])
    assert (row.state, row.failure_count, row.failing_since) == ("active", 0, None)


async def test_enable_of_another_desks_webhook_is_404(client, factory, hook, problem):
    other = (await factory.desk("Elsewhere")).id
    outsider = await token_headers(factory, ["webhooks:write"], desk_ids=[other])
    problem(await client.post(f"/v1/webhooks/{hook['id']}/enable", headers=outsider), 404)


# --- the delivery log -----------------------------------------------------------------------

async def test_deliveries_list_newest_first_with_outcome_and_event(client, admin_headers, hook,
                                                                   desk, session):
    now = datetime.now(UTC)
    ok_row = await add_delivery(session, hook["id"], desk, "ticket.created", status="succeeded",
                                attempts=1, response_status=200, response_body="thanks",
                                duration_ms=12.5, last_attempt_at=now, delivered_at=now)
    failed = await add_delivery(session, hook["id"], desk, "comment.created", status="pending",
                                attempts=2, response_status=503, response_body="busy",
                                error=None, duration_ms=8.0, last_attempt_at=now,
                                next_attempt_at=now + timedelta(minutes=5))
    items = ok(await client.get(f"/v1/webhooks/{hook['id']}/deliveries",
                                headers=admin_headers))["items"]
    assert [d["id"] for d in items] == [failed.id, ok_row.id]
    newest = items[0]
    assert newest["event_id"] == failed.event_id and newest["event_type"] == "comment.created"
    assert (newest["status"], newest["attempts"], newest["response_status"],
            newest["response_body"], newest["duration_ms"]) == ("pending", 2, 503, "busy", 8.0)
    assert newest["next_attempt_at"] is not None and newest["delivered_at"] is None
    assert items[1]["delivered_at"] is not None and items[1]["event_type"] == "ticket.created"


async def test_deliveries_are_paginated_and_filtered_by_status(client, admin_headers, hook,
                                                               desk, session):
    made = [await add_delivery(session, hook["id"], desk, status=s)
            for s in ("failed", "succeeded", "failed")]
    path = f"/v1/webhooks/{hook['id']}/deliveries"
    first = ok(await client.get(path, headers=admin_headers, params={"limit": 2}))
    second = ok(await client.get(path, headers=admin_headers,
                                 params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [d["id"] for d in first["items"] + second["items"]] == [d.id for d in reversed(made)]
    failed = ok(await client.get(path, headers=admin_headers, params={"status": "failed"}))
    assert [d["id"] for d in failed["items"]] == [made[2].id, made[0].id]


async def test_deliveries_status_filter_refuses_unknown_states(client, admin_headers, hook,
                                                               problem):
    problem(await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin_headers,
                             params={"status": "lost"}), 422)


async def test_deliveries_page_costs_the_same_queries_whatever_its_size(
        client, admin_headers, hook, desk, session, engine):
    for _ in range(12):
        await add_delivery(session, hook["id"], desk)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async def queries(limit: int) -> int:
        statements.clear()
        ok(await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin_headers,
                            params={"limit": limit}))
        return len(statements)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        small, large = await queries(2), await queries(12)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert small == large


async def test_another_desks_delivery_log_is_404(client, factory, hook, problem):
    other = (await factory.desk("Elsewhere")).id
    outsider = await token_headers(factory, ["webhooks:read"], desk_ids=[other])
    problem(await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=outsider), 404)


# --- redelivery -----------------------------------------------------------------------------

async def queued(redis, settings) -> list[str]:
    return [i.decode() for i in await redis.zrange(settings.queue_name, 0, -1)]


@pytest.mark.parametrize("status", ["succeeded", "failed"])
async def test_redeliver_makes_any_delivery_due_now_and_enqueues_it(
        client, admin_headers, hook, desk, session, redis, settings, status):
    delivery = await add_delivery(session, hook["id"], desk, status=status, attempts=3,
                                  response_status=200 if status == "succeeded" else 500,
                                  next_attempt_at=None)
    before = datetime.now(UTC)
    again = ok(await client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{delivery.id}/redeliver", headers=admin_headers))
    assert again["id"] == delivery.id and again["status"] == "pending"
    assert again["attempts"] == 3 and again["event_type"] == "ticket.created"
    assert datetime.fromisoformat(again["next_attempt_at"]) >= before - timedelta(seconds=1)
    await session.refresh(delivery)
    assert delivery.status == "pending"
    assert f"{settings.queue_name}:redeliver:{delivery.id}:3" in await queued(redis, settings)


async def test_redeliver_while_a_retry_is_scheduled_sends_now_not_at_the_retry(
        client, admin_headers, hook, desk, session, redis, settings):
    later = datetime.now(UTC) + timedelta(minutes=30)
    delivery = await add_delivery(session, hook["id"], desk, status="pending", attempts=2,
                                  response_status=500, next_attempt_at=later)
    await jobs.send(redis, [jobs.Job("deliver", deliver_job_id(delivery.id, 2),
                                     {"delivery_id": delivery.id, "_defer_until": later})],
                    queue_name=settings.queue_name)
    ok(await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery.id}/redeliver",
                         headers=admin_headers))
    due = await redis.zrangebyscore(settings.queue_name, 0,
                                    (datetime.now(UTC) + timedelta(seconds=5)).timestamp() * 1000)
    assert f"{settings.queue_name}:redeliver:{delivery.id}:2".encode() in due


async def test_redeliver_of_a_disabled_webhook_is_409_and_enqueues_nothing(
        client, admin_headers, hook, desk, session, redis, settings, problem):
    delivery = await add_delivery(session, hook["id"], desk, status="failed", attempts=8)
    row = await stored(session, hook["id"])
    row.state = "disabled"
    await session.flush()
    problem(await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery.id}/redeliver",
                              headers=admin_headers), 409)
    await session.refresh(delivery)
    assert delivery.status == "failed"
    assert await queued(redis, settings) == []


async def test_redeliver_of_another_webhooks_delivery_is_404(client, admin_headers, hook, desk,
                                                             session, problem):
    other = ok(await subscribe(client, admin_headers, desk_ids=[desk]), 201)
    delivery = await add_delivery(session, other["id"], desk, status="failed")
    problem(await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery.id}/redeliver",
                              headers=admin_headers), 404)
    problem(await client.post(f"/v1/webhooks/{hook['id']}/deliveries/999999/redeliver",
                              headers=admin_headers), 404)


async def test_redeliver_needs_webhooks_write_and_a_visible_webhook(client, factory, hook, desk,
                                                                    session, problem):
    delivery = await add_delivery(session, hook["id"], desk, status="failed")
    path = f"/v1/webhooks/{hook['id']}/deliveries/{delivery.id}/redeliver"
    problem(await client.post(path, headers=await token_headers(factory, ["webhooks:read"])),
            403)
    other = (await factory.desk("Elsewhere")).id
    problem(await client.post(path, headers=await token_headers(
        factory, ["webhooks:write"], desk_ids=[other])), 404)


# --- end to end: a rotated webhook's delivery, to a real subscriber on 127.0.0.1 --------------

async def test_a_delivery_after_rotation_verifies_with_the_old_and_the_new_secret(
        client, admin_headers, app, settings, session, sessionmaker, redis, desk):
    local = settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1",
                                        "webhook_allow_http": True})
    app.state.settings = local
    async with Receiver() as receiver:
        hook = ok(await subscribe(client, admin_headers, url=receiver.url, desk_ids=[desk]), 201)
        sent = await add_delivery(session, hook["id"], desk, status="succeeded", attempts=1)
        rotated = ok(await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret",
                                       headers=admin_headers))
        ok(await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{sent.id}/redeliver",
                             headers=admin_headers))
        http = delivering.client(local)
        ctx = {"sessionmaker": sessionmaker, "settings": local, "redis": redis, "http": http,
               "clock": utcnow}
        try:
            assert await delivering.deliver(ctx, sent.id) == "succeeded"
        finally:
            await http.aclose()
            await clear_queue(redis, local.queue_name)
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.headers["webhook-id"] == str(sent.event_id)
    for secret in (rotated["secret"], hook["secret"]):
        assert Verifier(secret).verify(received.body, received.headers)["id"] == sent.event_id
