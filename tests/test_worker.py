"""The arq worker and jobs held until commit, against the real Redis and PostgreSQL."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from fastapi import FastAPI
from redis.exceptions import WatchError
from sqlalchemy import select, text

from app.core import jobs
from app.core.boundary import api_router
from app.core.db import Session, create_engine, create_sessionmaker, utcnow
from app.core.errors import Conflict
from app.core.idempotency import purge_idempotency_keys
from app.core.resources import Resources, redis_client
from app.models import IdempotencyKey
from app.worker import MAX_JOBS, build_worker, shutdown, startup, worker_options
from tests.services import migrated_database


def idempotency_key(key: str, expires_in: timedelta) -> IdempotencyKey:
    return IdempotencyKey(principal="api_token:1", key=key, method="POST", path="/v1/desks",
                          request_hash=b"\0" * 32, status_code=201, response_headers={},
                          response_body=b"{}", expires_at=utcnow() + expires_in)


def job_id() -> str:
    return f"test:{uuid.uuid4().hex}"


async def queued(redis, queue_name: str) -> list[tuple[str, str | None, dict]]:
    return sorted((j.function, j.job_id, j.kwargs)
                  for j in await redis.queued_jobs(queue_name=queue_name))


# --- the job function with a real ctx -------------------------------------------------------

async def test_purge_idempotency_keys_deletes_only_expired_keys(session, sessionmaker, settings,
                                                               redis):
    session.add_all([idempotency_key("old", timedelta(hours=-25)),
                     idempotency_key("just-expired", timedelta(seconds=-1)),
                     idempotency_key("fresh", timedelta(hours=23))])
    await session.flush()
    ctx = {"sessionmaker": sessionmaker, "settings": settings, "redis": redis}

    assert await purge_idempotency_keys(ctx) == 2

    session.expunge_all()
    left = (await session.scalars(select(IdempotencyKey.key))).all()
    assert left == ["fresh"]
    assert await purge_idempotency_keys(ctx) == 0


async def test_job_session_commits_then_sends_the_deferred_jobs(sessionmaker, session, settings,
                                                               redis, queue):
    ctx = {"sessionmaker": sessionmaker, "settings": settings, "redis": redis}
    wanted = job_id()
    async with jobs.job_session(ctx) as s:
        s.add(idempotency_key("by-job", timedelta(hours=1)))
        jobs.defer(s, "purge_idempotency_keys", job_id=wanted)
        assert await queued(redis, queue) == []
    assert not s.in_transaction()
    assert await queued(redis, queue) == [
        ("purge_idempotency_keys", jobs.qualified(queue, wanted), {})]
    assert (await session.scalars(select(IdempotencyKey.key))).all() == ["by-job"]


async def test_job_session_that_fails_rolls_back_and_sends_nothing(sessionmaker, session,
                                                                   settings, redis, queue):
    ctx = {"sessionmaker": sessionmaker, "settings": settings, "redis": redis}
    with pytest.raises(RuntimeError):
        async with jobs.job_session(ctx) as s:
            s.add(idempotency_key("lost", timedelta(hours=1)))
            await s.flush()
            jobs.defer(s, "purge_idempotency_keys", job_id=job_id())
            raise RuntimeError("the job failed")
    assert jobs.take(s) == []
    assert await queued(redis, queue) == []
    assert (await session.scalars(select(IdempotencyKey.key))).all() == []


# --- jobs held until commit -----------------------------------------------------------------

async def test_take_returns_deferred_jobs_in_order_once(session):
    jobs.defer(session, "route_ticket", job_id="route:1", ticket_id=1)
    jobs.defer(session, "deliver", webhook_id=2)
    assert jobs.take(session) == [jobs.Job("route_ticket", "route:1", {"ticket_id": 1}),
                                  jobs.Job("deliver", None, {"webhook_id": 2})]
    assert jobs.take(session) == []


async def test_discard_drops_deferred_jobs(session):
    jobs.defer(session, "route_ticket", ticket_id=1)
    jobs.discard(session)
    assert jobs.take(session) == []


async def test_send_puts_the_jobs_in_the_named_arq_queue(redis, queue):
    first, second = job_id(), job_id()
    pending = [jobs.Job("route_ticket", first, {"ticket_id": 7}),
               jobs.Job("deliver", second, {"webhook_id": 3, "attempt": 1})]
    assert await jobs.send(redis, pending, queue_name=queue) == 2
    assert await queued(redis, queue) == sorted([
        ("route_ticket", jobs.qualified(queue, first), {"ticket_id": 7}),
        ("deliver", jobs.qualified(queue, second), {"webhook_id": 3, "attempt": 1})])


async def test_send_enqueues_a_batch_in_one_round_trip_skipping_known_ids(redis, queue):
    known = job_id()
    assert await jobs.send(redis, [jobs.Job("route_ticket", known, {"ticket_id": 1})],
                           queue_name=queue) == 1
    fresh = job_id()
    batch = [jobs.Job("route_ticket", known, {"ticket_id": 1}),
             jobs.Job("route_ticket", fresh, {"ticket_id": 2}),
             jobs.Job("purge_idempotency_keys", None, {})]
    assert await jobs.send(redis, batch, queue_name=queue) == 2
    assert sorted(f for f, _, _ in await queued(redis, queue)) == [
        "purge_idempotency_keys", "route_ticket", "route_ticket"]


async def test_send_honours_defer_by(redis, queue):
    await jobs.send(redis, [jobs.Job("purge_idempotency_keys", job_id(), {"_defer_by": 60})],
                    queue_name=queue)
    [(_member, score)] = await redis.zrange(queue, 0, -1, withscores=True)
    [job] = await redis.queued_jobs(queue_name=queue)
    assert job.kwargs == {}
    assert score >= job.enqueue_time.timestamp() * 1000 + 59_000


async def test_sending_the_same_job_id_twice_queues_it_once(redis, queue):
    pending = [jobs.Job("route_ticket", job_id(), {"ticket_id": 7})]
    await jobs.send(redis, pending, queue_name=queue)
    await jobs.send(redis, pending, queue_name=queue)
    assert len(await redis.queued_jobs(queue_name=queue)) == 1


async def test_withdraw_takes_queued_jobs_out_but_leaves_a_started_one(redis, queue):
    queued_id, started, unknown = job_id(), job_id(), job_id()
    await jobs.send(redis, [jobs.Job("route_ticket", i, {"ticket_id": n})
                            for n, i in enumerate((queued_id, started))], queue_name=queue)
    await redis.set(in_progress_key_prefix + jobs.qualified(queue, started), b"1", ex=60)
    try:
        assert await jobs.withdraw(redis, [queued_id, started, unknown], queue_name=queue) == 1
        assert [i for _, i, _ in await queued(redis, queue)] == [jobs.qualified(queue, started)]
        assert not await redis.exists(job_key_prefix + jobs.qualified(queue, queued_id))
        assert await redis.exists(job_key_prefix + jobs.qualified(queue, started))
    finally:
        await redis.delete(in_progress_key_prefix + jobs.qualified(queue, started))


async def test_withdraw_makes_a_worker_claiming_the_job_at_that_moment_skip_it(redis, queue):
    """arq claims a job by WATCHing its in-progress key, checking it and the queue, then
    setting it in MULTI/EXEC; a withdraw in between must make that claim fail, or the worker
    would start a job whose key is gone ("job expired")."""
    withdrawn = job_id()
    await jobs.send(redis, [jobs.Job("route_ticket", withdrawn, {"ticket_id": 1})],
                    queue_name=queue)
    in_progress = in_progress_key_prefix + jobs.qualified(queue, withdrawn)
    try:
        async with redis.pipeline(transaction=True) as pipe:  # arq's Worker.start_jobs
            await pipe.watch(in_progress)
            assert not await pipe.exists(in_progress)
            assert await pipe.zscore(queue, jobs.qualified(queue, withdrawn))
            assert await jobs.withdraw(redis, [withdrawn], queue_name=queue) == 1
            pipe.multi()
            pipe.psetex(in_progress, 60_000, b"1")
            with pytest.raises(WatchError):
                await pipe.execute()
    finally:
        await redis.delete(in_progress)


async def test_withdraw_without_a_queue_or_jobs_does_nothing():
    assert await jobs.withdraw(None, ["x"], queue_name="q") == 0


async def test_send_without_a_queue_sends_nothing_and_does_not_raise():
    assert await jobs.send(None, [jobs.Job("route_ticket", None, {})], queue_name="q") == 0


async def test_send_while_redis_is_down_logs_and_does_not_raise(caplog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = redis_client(f"redis://127.0.0.1:{port}/0")
    try:
        sent = await jobs.send(down, [jobs.Job("route_ticket", job_id(), {})], queue_name="q")
    finally:
        await down.aclose()
    assert sent == 0
    assert "could not enqueue ['route_ticket']" in caplog.text


# --- through the route boundary (AppRoute) --------------------------------------------------

@pytest.fixture
def boundary_app(settings, sessionmaker, redis) -> tuple[FastAPI, list[list]]:
    """A route that adds a row and defers a job, then succeeds or fails; records the queue
    as the endpoint saw it."""
    seen: list[list] = []
    router = api_router(authenticated=False)

    @router.post("/work")
    async def work(session: Session, id: str, fail: bool = False) -> dict:
        session.add(idempotency_key(id, timedelta(hours=1)))
        await session.flush()
        jobs.defer(session, "purge_idempotency_keys", job_id=id)
        seen.append(await redis.queued_jobs(queue_name=settings.queue_name))
        if fail:
            raise Conflict("the work failed")
        return {"ok": True}

    application = FastAPI()
    application.include_router(router)
    application.state.settings = settings
    application.state.sessionmaker = sessionmaker
    application.state.redis = application.state.arq = redis
    return application, seen


async def call(application: FastAPI, **params) -> httpx.Response:
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return await c.post("/work", params=params)


async def test_route_sends_deferred_jobs_only_after_its_commit(boundary_app, redis, queue,
                                                              session):
    application, seen = boundary_app
    wanted = job_id()
    response = await call(application, id=wanted)
    assert response.status_code == 200, response.text
    assert seen == [[]]
    assert await queued(redis, queue) == [("purge_idempotency_keys", jobs.qualified(queue, wanted), {})]
    assert await session.scalar(select(IdempotencyKey.key).where(IdempotencyKey.key == wanted))


async def test_route_that_fails_drops_its_deferred_jobs_with_its_rows(boundary_app, redis, queue,
                                                                     session, problem):
    application, seen = boundary_app
    wanted = job_id()
    problem(await call(application, id=wanted, fail="true"), 409)
    assert seen == [[]]
    assert await queued(redis, queue) == []
    assert await session.scalar(
        select(IdempotencyKey.key).where(IdempotencyKey.key == wanted)) is None


# --- a real arq worker ------------------------------------------------------------------------

@pytest_asyncio.fixture(loop_scope="session")
async def committed_url(services) -> AsyncIterator[str]:
    async with migrated_database(services.database_url) as url:
        yield url


@pytest.mark.committing
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # arq's own call
async def test_real_worker_runs_an_enqueued_purge_against_its_database(committed_url, settings,
                                                                      redis, queue):
    engine = create_engine(committed_url, pool_size=1)
    make_session = create_sessionmaker(engine)
    try:
        async with make_session() as s:
            s.add_all([idempotency_key("expired", timedelta(minutes=-5)),
                       idempotency_key("kept", timedelta(hours=2))])
            await s.commit()

        job = await redis.enqueue_job("purge_idempotency_keys", _queue_name=queue)
        assert job is not None
        worker = build_worker(settings.model_copy(update={"database_url": committed_url}),
                              burst=True, handle_signals=False)
        try:
            completed = await worker.run_check()  # raises FailedJobs if a job failed
        finally:
            await worker.close()
        assert completed >= 1
        assert await job.result(poll_delay=0.05) == 1
        await redis.delete(result_key_prefix + job.job_id)

        async with make_session() as s:
            assert (await s.scalars(select(IdempotencyKey.key))).all() == ["kept"]
    finally:
        await engine.dispose()


def test_cron_jobs_are_named_per_queue_so_deployments_sharing_redis_do_not_collide(settings):
    other = settings.model_copy(update={"redis_namespace": "other"})
    mine = {c.name for c in worker_options(settings)["cron_jobs"]}
    theirs = {c.name for c in worker_options(other)["cron_jobs"]}
    assert mine and not mine & theirs
    assert all(name.startswith(settings.queue_name + ":") for name in mine)


async def test_the_worker_reuses_plans_and_pools_a_connection_per_job_the_api_plans_per_value(
        settings):
    ctx: dict = {"settings": settings}
    await startup(ctx)
    api = Resources.open(settings)
    try:
        async with ctx["resources"].engine.connect() as conn:
            assert await conn.scalar(text("SHOW plan_cache_mode")) == "auto"
        async with api.engine.connect() as conn:
            assert await conn.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
        assert ctx["resources"].engine.pool.size() == max(settings.db_pool_size, MAX_JOBS)
    finally:
        await shutdown(ctx)
        await api.close()
