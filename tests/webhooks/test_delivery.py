"""One attempt at a time, against a real subscriber on 127.0.0.1: the signed body, the schedule
(driven by an injected clock, no sleeping), Retry-After, 410, disable, redeliver, and the SSRF
guard at delivery time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
import standardwebhooks
from arq.worker import Retry
from sqlalchemy import select

from app.core import outbox
from app.core.db import utcnow
from app.core.outbox import EventType
from app.events.schemas import EventRead
from app.models import Delivery, Event, Webhook
from app.webhooks import delivery, schedule
from app.webhooks.dispatch import dispatch_batch
from tests.webhooks.receiver import Receiver, Reply, clear_queue, hook
from tests.webhooks.test_schedule import Fixed


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
def hook_settings(settings):
    return settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1",
                                       "webhook_allow_http": True})


@pytest_asyncio.fixture(loop_scope="session")
async def ctx(sessionmaker, hook_settings, redis) -> AsyncIterator[dict]:
    http = delivery.client(hook_settings)
    yield {"sessionmaker": sessionmaker, "settings": hook_settings, "redis": redis, "http": http,
           "clock": Clock(utcnow()), "random": Fixed(0.5)}
    await http.aclose()
    await clear_queue(redis, hook_settings.queue_name)


async def subscribed(session, factory, url: str, **kw) -> tuple[Webhook, Delivery, Event]:
    """A webhook for `url`, one ticket event, dispatched: its pending delivery."""
    desk = await factory.desk()
    webhook = hook(url, **kw)
    session.add(webhook)
    outbox.record(session, type=EventType.ticket_created, desk_id=desk.id, subject_type="ticket",
                  subject_id=42, data={"id": 42, "subject": "Printer on fire"}, scope=None)
    await session.flush()
    await outbox.write_pending(session)
    event = await session.scalar(select(Event).where(Event.desk_id == desk.id))
    await dispatch_batch(session, utcnow())
    found = await session.scalar(select(Delivery).where(Delivery.webhook_id == webhook.id))
    return webhook, found, event


async def reload(session, row):
    return await session.get(type(row), row.id, populate_existing=True)


async def test_delivery_posts_the_envelope_signed_per_standard_webhooks(
        ctx, session, factory, receiver):
    webhook, pending, event = await subscribed(session, factory, receiver.url)

    assert await delivery.deliver(ctx, pending.id) == "succeeded"

    [got] = receiver.received
    assert got.method == "POST" and got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == str(event.id)
    verified = standardwebhooks.Webhook(webhook.secret).verify(got.body, got.headers)
    stored = await reload(session, event)
    assert verified == EventRead.model_validate(stored).model_dump(mode="json")
    assert set(verified) == {"id", "type", "desk_id", "created_at", "actor", "data", "changes"}
    done = await reload(session, pending)
    assert (done.status, done.attempts, done.response_status, done.response_body) == (
        "succeeded", 1, 200, "ok")
    assert done.delivered_at is not None and done.next_attempt_at is None
    assert done.duration_ms is not None and done.error is None


async def test_a_delivered_delivery_is_not_sent_again_by_a_second_job(ctx, session, factory, receiver):
    _, pending, _ = await subscribed(session, factory, receiver.url)
    assert await delivery.deliver(ctx, pending.id) == "succeeded"
    assert await delivery.deliver(ctx, pending.id) == "skipped"
    assert len(receiver.received) == 1


async def test_a_delivery_is_not_attempted_before_it_is_due(ctx, session, factory, receiver):
    _, pending, _ = await subscribed(session, factory, receiver.url)
    ctx["clock"].now = utcnow() - timedelta(minutes=1)
    assert await delivery.deliver(ctx, pending.id) == "skipped"
    assert receiver.received == []


async def test_failures_retry_on_the_schedule_then_fail_and_disable_the_webhook(
        ctx, session, factory, receiver, redis):
    receiver.respond = lambda _: Reply(500, body=b"boom")
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    clock = ctx["clock"]
    started = clock.now
    for attempt, wait in enumerate(schedule.RETRY_DELAYS, start=1):
        assert await delivery.deliver(ctx, pending.id) == "retrying"
        row = await reload(session, pending)
        assert (row.status, row.attempts, row.response_status, row.response_body) == (
            "pending", attempt, 500, "boom")
        assert row.next_attempt_at == clock.now + wait  # Fixed(0.5): no jitter
        [job] = [j for j in await redis.queued_jobs(queue_name=ctx["settings"].queue_name)
                 if j.job_id.endswith(f"deliver:{pending.id}:{attempt}")]
        assert job.kwargs == {"delivery_id": pending.id, "webhook_id": webhook.id}
        assert await delivery.deliver(ctx, pending.id) == "skipped"  # not due yet
        clock.now = row.next_attempt_at

    assert await delivery.deliver(ctx, pending.id) == "failed"

    assert len(receiver.received) == schedule.MAX_ATTEMPTS
    row = await reload(session, pending)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)
    hooked = await reload(session, webhook)
    assert hooked.state == "disabled" and hooked.failure_count == 8
    assert hooked.failing_since == started
    assert "failed 8 times" in hooked.disabled_reason and "HTTP 500" in hooked.disabled_reason
    disabled = await session.scalar(select(Event).where(Event.type == "webhook.disabled"))
    assert (disabled.desk_id, disabled.subject_id) == (None, webhook.id)
    assert disabled.data["disabled_reason"] == hooked.disabled_reason
    assert "secret" not in disabled.data


async def test_three_days_of_failures_disable_the_webhook_before_the_schedule_ends(
        ctx, session, factory, receiver):
    receiver.respond = lambda _: Reply(503)
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    webhook.failure_count = 40
    webhook.failing_since = ctx["clock"].now - timedelta(days=3)
    await session.flush()

    assert await delivery.deliver(ctx, pending.id) == "failed"

    hooked = await reload(session, webhook)
    assert hooked.state == "disabled" and "without a success since" in hooked.disabled_reason
    assert (await reload(session, pending)).status == "failed"


async def test_a_success_ends_the_webhooks_failure_run(ctx, session, factory, receiver):
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    webhook.failure_count, webhook.failing_since = 3, utcnow() - timedelta(days=1)
    await session.flush()
    assert await delivery.deliver(ctx, pending.id) == "succeeded"
    hooked = await reload(session, webhook)
    assert (hooked.failure_count, hooked.failing_since, hooked.state) == (0, None, "active")


async def test_410_gone_deletes_the_webhook_and_its_deliveries(ctx, session, factory, receiver,
                                                               client, admin_headers):
    receiver.respond = lambda _: Reply(410)
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    assert await delivery.deliver(ctx, pending.id) == "gone"
    assert await session.scalar(select(Webhook).where(Webhook.id == webhook.id)) is None
    assert await session.scalar(select(Delivery).where(Delivery.id == pending.id)) is None
    response = await client.get(f"/v1/webhooks/{webhook.id}", headers=admin_headers)
    assert response.status_code == 404


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds_sets_the_next_attempt(ctx, session, factory, receiver,
                                                            status):
    receiver.respond = lambda _: Reply(status, {"Retry-After": "90"})
    _, pending, _ = await subscribed(session, factory, receiver.url)
    assert await delivery.deliver(ctx, pending.id) == "retrying"
    row = await reload(session, pending)
    assert row.next_attempt_at == ctx["clock"].now + timedelta(seconds=90)


async def test_a_short_retry_after_never_brings_the_schedule_forward(ctx, session, factory,
                                                                    receiver):
    receiver.respond = lambda _: Reply(429, {"Retry-After": "1"})
    _, pending, _ = await subscribed(session, factory, receiver.url)
    pending.attempts = 2  # the third attempt fails: the schedule waits 30 minutes
    await session.flush()
    assert await delivery.deliver(ctx, pending.id) == "retrying"
    row = await reload(session, pending)
    assert row.next_attempt_at == schedule.next_attempt(3, ctx["clock"].now, ctx["random"])
    assert row.next_attempt_at - ctx["clock"].now > timedelta(minutes=25)


async def test_retry_after_as_a_date_sets_the_next_attempt(ctx, session, factory, receiver):
    receiver.respond = lambda _: Reply(429, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    _, pending, _ = await subscribed(session, factory, receiver.url)
    assert await delivery.deliver(ctx, pending.id) == "retrying"
    row = await reload(session, pending)
    assert row.next_attempt_at == ctx["clock"].now + schedule.RETRY_AFTER_MAX  # bounded


async def test_retry_after_on_a_500_is_ignored(ctx, session, factory, receiver):
    receiver.respond = lambda _: Reply(500, {"Retry-After": "3600"})
    _, pending, _ = await subscribed(session, factory, receiver.url)
    await delivery.deliver(ctx, pending.id)
    row = await reload(session, pending)
    assert row.next_attempt_at == ctx["clock"].now + schedule.RETRY_DELAYS[0]


async def test_a_redirect_is_a_failure_and_is_not_followed_to_a_private_address(
        ctx, session, factory, receiver):
    async with Receiver(host="127.0.0.2") as private:
        receiver.respond = lambda _: Reply(302, {"Location": private.url})
        _, pending, _ = await subscribed(session, factory, receiver.url)
        assert await delivery.deliver(ctx, pending.id) == "retrying"
        assert private.received == []
    row = await reload(session, pending)
    assert (row.status, row.response_status) == ("pending", 302)


async def test_a_host_resolving_to_a_loopback_address_is_refused_at_delivery(
        ctx, session, factory, receiver, hook_settings):
    # Only 127.0.0.2 is allow-listed: `localhost` resolves to loopback, which is not public.
    settings = hook_settings.model_copy(update={"webhook_allow_hosts": "127.0.0.2"})
    async with delivery.client(settings) as http:
        ctx.update(settings=settings, http=http)
        _, pending, _ = await subscribed(session, factory, f"http://localhost:{receiver.port}/hook")
        assert await delivery.deliver(ctx, pending.id) == "retrying"
    assert receiver.received == []
    row = await reload(session, pending)
    assert row.response_status is None
    assert row.error.startswith("blocked: localhost:") and "not a public address" in row.error


async def test_a_literal_private_address_is_refused_at_delivery(ctx, session, factory):
    _, pending, _ = await subscribed(session, factory, "http://10.1.2.3/hook")
    assert await delivery.deliver(ctx, pending.id) == "retrying"
    row = await reload(session, pending)
    assert row.error == "blocked: 10.1.2.3 is not a public address"


async def test_the_host_is_resolved_once_and_the_checked_address_is_used(
        ctx, session, factory, receiver, hook_settings):
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a second lookup would rebind to private

    async def resolver(host: str, port: int) -> list[str]:
        assert host == "hooks.example"
        return next(answers)

    async with delivery.client(hook_settings, resolver=resolver) as http:
        ctx["http"] = http
        _, pending, _ = await subscribed(session, factory,
                                         f"http://hooks.example:{receiver.port}/hook")
        assert await delivery.deliver(ctx, pending.id) == "succeeded"
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.example:{receiver.port}"


async def test_a_subscriber_slower_than_the_timeout_is_a_failure(ctx, session, factory, receiver):
    release = asyncio.Event()

    async def stall(_):
        await release.wait()
        return Reply()

    receiver.respond = stall
    ctx["settings"] = ctx["settings"].model_copy(update={"webhook_timeout_seconds": 0.2})
    _, pending, _ = await subscribed(session, factory, receiver.url)
    try:
        assert await delivery.deliver(ctx, pending.id) == "retrying"
    finally:
        release.set()
    row = await reload(session, pending)
    assert row.error == "timed out after 0.2 s" and row.response_status is None


async def test_only_the_first_kibibyte_of_an_answer_is_kept_without_nul(ctx, session, factory,
                                                                        receiver):
    receiver.respond = lambda _: Reply(500, body=b"\x00" + b"x" * 5000)
    _, pending, _ = await subscribed(session, factory, receiver.url)
    await delivery.deliver(ctx, pending.id)
    row = await reload(session, pending)
    assert len(row.response_body) == 1024 and "\x00" not in row.response_body


async def test_a_disabled_webhooks_delivery_waits_untouched(ctx, session, factory, receiver):
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    webhook.state = "disabled"
    await session.flush()
    assert await delivery.deliver(ctx, pending.id) == "skipped"
    assert receiver.received == []
    assert (await reload(session, pending)).attempts == 0


async def test_redeliver_sends_a_succeeded_delivery_again(ctx, session, factory, receiver, client,
                                                          admin_headers):
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    assert await delivery.deliver(ctx, pending.id) == "succeeded"
    response = await client.post(
        f"/v1/webhooks/{webhook.id}/deliveries/{pending.id}/redeliver", headers=admin_headers)
    assert response.status_code == 200, response.text
    ctx["clock"].now = utcnow()
    assert await delivery.deliver(ctx, pending.id) == "succeeded"
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(pending.event_id)] * 2
    assert (await reload(session, pending)).attempts == 2


async def test_a_webhook_at_its_in_flight_limit_makes_the_job_wait_without_an_attempt(
        ctx, session, factory, receiver, redis):
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    settings = ctx["settings"]
    for other in range(settings.webhook_max_in_flight):
        assert await delivery.acquire_slot(redis, settings, webhook.id, -1 - other)
    try:
        with pytest.raises(Retry):
            await delivery.deliver(ctx, pending.id)
        assert receiver.received == []
        assert (await reload(session, pending)).attempts == 0
    finally:
        await redis.delete(delivery._slots_key(settings, webhook.id))
    assert await delivery.deliver(ctx, pending.id) == "succeeded"


def test_waiting_for_a_slot_grows_with_each_try_and_is_bounded():
    waits = [delivery.busy_wait(t, Fixed(0.5)) for t in (1, 2, 5, 1000)]
    assert waits[:3] == [0.2, 0.4, 3.2] and waits[3] == 30.0
    assert 0.1 <= delivery.busy_wait(1, random.Random(1)) <= 0.3


async def test_a_failed_redelivery_past_the_schedule_fails_without_disabling_the_webhook(
        ctx, session, factory, receiver):
    receiver.respond = lambda _: Reply(500)
    webhook, pending, _ = await subscribed(session, factory, receiver.url)
    pending.attempts, pending.status = schedule.MAX_ATTEMPTS, "pending"  # as redeliver leaves it
    await session.flush()
    assert await delivery.deliver(ctx, pending.id) == "failed"
    assert (await reload(session, pending)).status == "failed"
    assert (await reload(session, webhook)).state == "active"
