"""Fan-out from the outbox: one delivery per matching active webhook and event, jobs after the
commit, a kick per event-writing transaction, and the sweep that covers lost jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest_asyncio
from sqlalchemy import select, update

from app.core import jobs, outbox
from app.core.db import utcnow
from app.core.outbox import DISPATCH_JOB, KICK_DELAY_S
from app.models import Delivery, Event, Webhook
from app.webhooks import signing
from app.webhooks.dispatch import dispatch_batch, dispatch_events
from app.webhooks.tasks import OVERDUE, sweep_webhooks
from tests.tickets.conftest import ticket_body


def webhook(**kw) -> Webhook:
    kw.setdefault("url", "https://hooks.example.com/x")
    kw.setdefault("events", ["*"])
    return Webhook(owner_kind="api_token", owner_id=1, secret=signing.new_secret(), **kw)


async def add(session, *rows):
    session.add_all(rows)
    await session.flush()
    return rows


async def record(session, type: str, desk_id: int | None, **data) -> Event:
    """An event recorded and written at once (a commit would write it), as read back."""
    outbox.record(session, type=type, desk_id=desk_id, subject_type="ticket",
                  subject_id=1, data=data or {"id": 1}, scope=None)
    await outbox.write_pending(session)
    return await session.scalar(select(Event).order_by(Event.id.desc()).limit(1))


async def deliveries(session) -> set[tuple[int, int]]:
    rows = await session.execute(select(Delivery.webhook_id, Delivery.event_id))
    return {tuple(r) for r in rows}


async def queued(redis, queue: str) -> list[tuple[str, str, dict]]:
    return sorted((j.function, j.job_id, j.kwargs) for j in await redis.queued_jobs(queue_name=queue))


@pytest_asyncio.fixture(loop_scope="session")
async def ctx(sessionmaker, settings, redis, queue) -> dict:
    return {"sessionmaker": sessionmaker, "settings": settings, "redis": redis}


async def test_dispatch_fans_out_by_type_desk_internal_and_sandbox(session, factory):
    one, two = await factory.desk("One"), await factory.desk("Two")
    sandbox = await factory.desk("Sandbox", kind="sandbox")
    created_only, every, desk_two, internal, sandboxed, disabled = await add(
        session, webhook(events=["ticket.created"]), webhook(),
        webhook(desk_ids=[two.id]), webhook(include_internal=True, desk_ids=[one.id]),
        webhook(sandbox=True), webhook(state="disabled"))
    created = await record(session, "ticket.created", one.id)
    updated = await record(session, "ticket.updated", two.id)
    note = await record(session, "comment.created", one.id, public=False)
    reply = await record(session, "comment.created", one.id, public=True)
    in_sandbox = await record(session, "ticket.created", sandbox.id)
    await session.flush()

    assert await dispatch_batch(session, utcnow()) == (5, 11)

    assert await deliveries(session) == {
        (created_only.id, created.id), (every.id, created.id), (internal.id, created.id),
        (every.id, updated.id), (desk_two.id, updated.id),
        (internal.id, note.id),
        (every.id, reply.id), (internal.id, reply.id),
        (created_only.id, in_sandbox.id), (every.id, in_sandbox.id), (sandboxed.id, in_sandbox.id),
    }
    assert disabled.id not in {w for w, _ in await deliveries(session)}


async def test_dispatch_marks_events_dispatched_and_a_second_run_adds_nothing(session, factory):
    desk = await factory.desk()
    [hook] = await add(session, webhook())
    event = await record(session, "ticket.created", desk.id)
    await session.flush()
    now = utcnow()
    assert await dispatch_batch(session, now) == (1, 1)
    assert (await session.get(Event, event.id, populate_existing=True)).dispatched_at == now
    assert await dispatch_batch(session, now) == (0, 0)

    # Marked undispatched again (say, a crash after the insert): the delivery is not doubled.
    await session.execute(update(Event).where(Event.id == event.id).values(dispatched_at=None))
    assert await dispatch_batch(session, now) == (1, 0)
    assert await deliveries(session) == {(hook.id, event.id)}


async def test_dispatch_job_commits_then_enqueues_one_deliver_per_new_delivery(
        ctx, session, factory, redis, queue):
    desk = await factory.desk()
    hooks = await add(session, webhook(), webhook(events=["ticket.updated"]), webhook())
    await record(session, "ticket.created", desk.id)
    await record(session, "ticket.created", desk.id)
    jobs.discard(session)
    await session.commit()

    assert await dispatch_events(ctx) == 4

    made = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert {d.webhook_id for d in made} == {hooks[0].id, hooks[2].id}
    assert all(d.status == "pending" and d.attempts == 0 for d in made)
    assert await queued(redis, queue) == sorted(
        ("deliver", jobs.qualified(queue, f"deliver:{d.id}:0"),
         {"delivery_id": d.id, "webhook_id": d.webhook_id})
        for d in made)
    assert await dispatch_events(ctx) == 0


async def test_internal_note_is_not_delivered_without_include_internal(session, factory):
    desk = await factory.desk()
    [plain] = await add(session, webhook(events=["comment.created"]))
    await record(session, "comment.created", desk.id, public=False)
    await session.flush()
    assert await dispatch_batch(session, utcnow()) == (1, 0)
    assert plain.id not in {w for w, _ in await deliveries(session)}


async def test_sandbox_webhook_does_not_hear_a_standard_desk(session, factory):
    desk = await factory.desk()
    await add(session, webhook(sandbox=True))
    await record(session, "ticket.created", desk.id)
    await session.flush()
    assert await dispatch_batch(session, utcnow()) == (1, 0)


async def test_recording_events_kicks_the_dispatcher_once_per_transaction(session, factory):
    desk = await factory.desk()
    await record(session, "ticket.created", desk.id)
    await record(session, "ticket.updated", desk.id)
    # a little later, so one run takes the events of every transaction committed meanwhile
    assert jobs.take(session) == [jobs.Job(DISPATCH_JOB, DISPATCH_JOB,
                                           {"_defer_by": KICK_DELAY_S})]


async def test_a_later_transaction_of_the_same_session_kicks_again(session, factory):
    desk = await factory.desk()
    await record(session, "ticket.created", desk.id)
    jobs.discard(session)
    await session.commit()
    await session.scalar(select(1))  # a new transaction
    await record(session, "ticket.updated", desk.id)
    assert jobs.take(session) == [jobs.Job(DISPATCH_JOB, DISPATCH_JOB,
                                           {"_defer_by": KICK_DELAY_S})]


async def test_creating_a_ticket_enqueues_the_dispatcher_after_its_commit(
        client, admin_headers, factory, redis, settings):
    desk = await factory.desk()
    response = await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(desk.id))
    assert response.status_code == 201, response.text
    functions = [j.function for j in await redis.queued_jobs(queue_name=settings.queue_name)]
    assert functions.count(DISPATCH_JOB) == 1


async def test_sweep_enqueues_the_dispatcher_while_events_wait(ctx, session, factory, redis, queue):
    desk = await factory.desk()
    assert await sweep_webhooks(ctx) == 0
    assert await queued(redis, queue) == []
    await record(session, "ticket.created", desk.id)
    jobs.discard(session)  # the kick is lost (Redis down at commit time)
    await session.commit()
    await sweep_webhooks(ctx)
    assert await queued(redis, queue) == [(DISPATCH_JOB, jobs.qualified(queue, DISPATCH_JOB), {})]


async def test_sweep_re_enqueues_overdue_deliveries_of_active_webhooks_only(
        ctx, session, factory, redis, queue):
    desk = await factory.desk()
    active, disabled = await add(session, webhook(), webhook(state="disabled"))
    event = await record(session, "ticket.created", desk.id)
    await session.flush()
    now = utcnow()
    late = now - OVERDUE - timedelta(seconds=1)
    overdue, _not_yet, _finished, _of_disabled = await add(
        session,
        Delivery(webhook_id=active.id, event_id=event.id, attempts=2, next_attempt_at=late),
        Delivery(webhook_id=active.id, event_id=await _event(session, desk.id), attempts=1,
                 next_attempt_at=now + timedelta(minutes=5)),
        Delivery(webhook_id=active.id, event_id=await _event(session, desk.id), attempts=1,
                 status="succeeded", next_attempt_at=None),
        Delivery(webhook_id=disabled.id, event_id=event.id, next_attempt_at=late))
    await session.execute(update(Event).values(dispatched_at=now))
    jobs.discard(session)
    await session.commit()

    assert await sweep_webhooks(ctx) == 1
    assert await queued(redis, queue) == [
        ("deliver", jobs.qualified(queue, f"deliver:{overdue.id}:2"),
         {"delivery_id": overdue.id, "webhook_id": active.id})]
    await sweep_webhooks(ctx)  # still queued: the same job id is not queued twice
    assert len(await queued(redis, queue)) == 1


async def _event(session, desk_id: int) -> int:
    event = await record(session, "ticket.updated", desk_id)
    await session.flush()
    return event.id
