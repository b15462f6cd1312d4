"""Webhooks with a real arq worker, real commits and real subscribers on 127.0.0.1: end to end
from the API, a subscriber that is down and comes back, a slow subscriber next to a fast one,
and a worker process killed in the middle of a delivery.

These commit for real, on a database of this module's own (dropped at the end)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import standardwebhooks
from sqlalchemy import func, select

from app.auth.service import create_admin
from app.core import outbox
from app.core.config import Settings
from app.core.outbox import EventType
from app.main import create_app
from app.models import Delivery, Desk, Event, Webhook
from app.worker import build_worker
from tests.conftest import TEST_SECRET, bearer
from tests.tickets.conftest import ticket_body
from tests.webhooks.receiver import Receiver, Reply, clear_queue, hook

pytestmark = [pytest.mark.committing,
              pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")]

REPO = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture(loop_scope="session")
async def own_settings(own_url, services, redis) -> AsyncIterator[Settings]:
    settings = Settings(environment="test", secret_key=TEST_SECRET, database_url=own_url,
                        redis_url=services.redis_url,
                        redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}",
                        webhook_allow_hosts="127.0.0.1", webhook_allow_http=True)
    yield settings
    await clear_queue(redis, settings.queue_name)


@pytest_asyncio.fixture(loop_scope="session")
async def desk_id(own_sessions) -> AsyncIterator[int]:
    """A committed desk; its tickets and events go with it, and every webhook is removed."""
    async with own_sessions() as s:
        desk = Desk(name="Webhooks")
        s.add(desk)
        await s.commit()
        made = desk.id
    yield made
    async with own_sessions() as s:
        await s.delete(await s.get_one(Desk, made))
        for webhook in (await s.scalars(select(Webhook))).all():
            await s.delete(webhook)
        await s.commit()


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    worker = build_worker(settings, handle_signals=False)
    task = asyncio.ensure_future(worker.async_run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()


async def subscribe(sessions, url: str, desk_id: int, **kw) -> Webhook:
    async with sessions() as s:
        webhook = hook(url, desk_ids=[desk_id], **kw)
        s.add(webhook)
        await s.commit()
        return webhook


async def emit(sessions, desk_id: int, count: int) -> list[int]:
    """`count` committed ticket events (their dispatcher kick is left to the sweep)."""
    async with sessions() as s:
        for i in range(count):
            outbox.record(s, type=EventType.ticket_created, desk_id=desk_id, subject_type="ticket",
                          subject_id=i, data={"id": i}, scope=None)
        await outbox.write_pending(s)
        made = (await s.scalars(select(Event.id).where(Event.desk_id == desk_id)
                                .order_by(Event.id.desc()).limit(count))).all()
        await s.commit()
        return sorted(made)


async def wait_until(check, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)


def ids_of(received) -> set[int]:
    return {int(r.headers["webhook-id"]) for r in received}


async def test_a_ticket_created_through_the_api_reaches_the_subscriber_signed(
        own_settings, own_sessions, desk_id, redis):
    app = create_app(own_settings, manage_resources=False)
    app.state.sessionmaker = own_sessions
    app.state.redis = app.state.arq = redis
    async with own_sessions() as s:
        _, secret = await create_admin(s, f"admin-{uuid.uuid4().hex[:8]}@x.example")
        await s.commit()
    headers = bearer(secret)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with Receiver() as receiver, httpx.AsyncClient(
            transport=transport, base_url="http://testserver") as client:
        created = await client.post("/v1/webhooks", headers=headers, json={
            "url": receiver.url, "events": ["ticket.created"], "desk_ids": [desk_id]})
        assert created.status_code == 201, created.text
        async with running_worker(own_settings):
            response = await client.post("/v1/tickets", headers=headers,
                                         json=ticket_body(desk_id))
            assert response.status_code == 201, response.text
            [got] = await receiver.wait_for(1)
    body = standardwebhooks.Webhook(created.json()["secret"]).verify(got.body, got.headers)
    assert body["type"] == "ticket.created" and body["data"]["id"] == response.json()["id"]


async def test_a_subscriber_down_for_a_while_receives_every_event_once_back(
        own_settings, own_sessions, desk_id):
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # nothing listens on its port now: connections are refused
    await subscribe(own_sessions, receiver.url, desk_id)
    emitted = await emit(own_sessions, desk_id, 5)

    async def all_failed_once() -> bool:
        async with own_sessions() as s:
            return await s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.attempts >= 1, Delivery.status == "pending",
                Delivery.error.is_not(None))) == len(emitted)

    async with running_worker(own_settings):
        await wait_until(all_failed_once)
        await receiver.start(receiver.port)  # back up: the retries (~5 s later) get through
        try:
            received = await receiver.wait_for(len(emitted), within=60)
        finally:
            await receiver.stop()
    assert ids_of(received) == set(emitted)


async def test_a_slow_subscriber_does_not_delay_another_webhooks_deliveries(
        own_settings, own_sessions, desk_id):
    release = asyncio.Event()

    async def stall(_):
        await release.wait()
        return Reply()

    async with Receiver(stall) as slow, Receiver() as fast:
        await subscribe(own_sessions, slow.url, desk_id)
        # More slow deliveries than the worker has job slots (20).
        stalled = await emit(own_sessions, desk_id, 30)
        await subscribe(own_sessions, fast.url, desk_id)
        async with running_worker(own_settings):
            await slow.wait_for(own_settings.webhook_max_in_flight)
            quick = await emit(own_sessions, desk_id, 1)
            try:
                got = await fast.wait_for(1, where=lambda r: int(r.headers["webhook-id"]) in quick)
                # The slow subscriber still holds every one it got, and no more than its limit.
                assert len(slow.received) <= own_settings.webhook_max_in_flight
            finally:
                release.set()
            assert ids_of(got) == set(quick)
            slow_got = await slow.wait_for(31, within=90)
    assert ids_of(slow_got) == set(stalled) | set(quick)


async def test_an_event_is_delivered_after_the_worker_is_killed_during_its_delivery(
        own_settings, own_sessions, desk_id, tmp_path):
    first, hold = asyncio.Event(), asyncio.Event()

    async def stall_the_first(request):
        if not first.is_set():
            first.set()
            await hold.wait()  # no answer before the worker dies waiting for it
        return Reply()

    env = {**os.environ, "DATABASE_URL": own_settings.database_url,
           "REDIS_URL": own_settings.redis_url, "REDIS_NAMESPACE": own_settings.redis_namespace,
           "SECRET_KEY": TEST_SECRET, "ENVIRONMENT": "test", "DATA_DIR": str(tmp_path),
           "WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "WEBHOOK_ALLOW_HTTP": "true",
           "WEBHOOK_LEASE_SECONDS": "2", "LOG_LEVEL": "WARNING"}

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async with Receiver(stall_the_first) as receiver:
        await subscribe(own_sessions, receiver.url, desk_id)
        [event_id] = await emit(own_sessions, desk_id, 1)
        worker = start_worker()
        try:
            async with asyncio.timeout(60):
                await first.wait()
        finally:
            worker.send_signal(signal.SIGKILL)
            await asyncio.to_thread(worker.wait)
            hold.set()
        async with own_sessions() as s:
            leased = await s.scalar(select(Delivery).join(Event).where(Event.id == event_id))
            assert (leased.status, leased.attempts) == ("pending", 1)

        async def delivered() -> bool:
            async with own_sessions() as s:
                return await s.scalar(select(Delivery.status).join(Event).where(
                    Event.id == event_id)) == "succeeded"

        again = start_worker()
        try:
            received = await receiver.wait_for(2, within=60)
            await wait_until(delivered)
        finally:
            again.send_signal(signal.SIGTERM)
            await asyncio.to_thread(again.wait)
    assert ids_of(received) == {event_id}
    async with own_sessions() as s:
        done = await s.scalar(select(Delivery).join(Event).where(Event.id == event_id))
        assert (done.status, done.attempts) == ("succeeded", 2)
