"""arq's Redis layout, which `app/core/jobs.py`'s Lua scripts write and read directly.

These fail when an arq release changes it (its key prefixes, the queue's sorted set, the job's
serialized form or expiry); pyproject.toml bounds arq below the next minor until they pass on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from arq import constants
from arq.connections import ArqRedis
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus
from arq.worker import Worker, func

from app.core import jobs
from app.core.resources import redis_client

pytestmark = pytest.mark.filterwarnings(
    "ignore:Call to deprecated close:DeprecationWarning")  # arq's own call, in Worker.close


def job_id() -> str:
    return f"layout:{uuid.uuid4().hex}"


async def probe(ctx: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return {"job_id": ctx["job_id"], "job_try": ctx["job_try"], "kwargs": kwargs}


@pytest_asyncio.fixture(loop_scope="session")
async def worker_pool(settings) -> AsyncIterator[ArqRedis]:
    """The worker's own connection: `Worker.close` closes the pool it was given."""
    pool = redis_client(settings.redis_url)
    yield pool
    await pool.aclose()


async def run_worker(pool: ArqRedis, queue: str, *, max_jobs: int = -1) -> int:
    """A plain arq Worker in burst mode; returns how many jobs it completed (raises if one
    failed)."""
    worker = Worker(functions=[func(probe, name="probe")], queue_name=queue, redis_pool=pool,
                    burst=True, max_burst_jobs=max_jobs, handle_signals=False, poll_delay=0.01,
                    keep_result=60)
    try:
        return await worker.run_check()
    finally:
        await worker.close()


def test_the_key_prefixes_our_scripts_write_are_arqs():
    assert (constants.job_key_prefix, constants.result_key_prefix,
            constants.in_progress_key_prefix) == ("arq:job:", "arq:result:", "arq:in-progress:")
    assert constants.expires_extra_ms == 86_400_000
    for prefix in ("arq:job:", "arq:result:"):
        assert f"'{prefix}' .. id" in jobs._ENQUEUE
    for prefix in ("arq:job:", "arq:in-progress:"):
        assert f"'{prefix}' .. id" in jobs._WITHDRAW


async def test_send_writes_the_job_key_and_the_queue_entry_arq_reads(redis, queue):
    wanted = job_id()
    before = time.time() * 1000
    await jobs.send(redis, [jobs.Job("probe", wanted, {"n": 1})], queue_name=queue)
    qualified = jobs.qualified(queue, wanted)

    [(member, score)] = await redis.zrange(queue, 0, -1, withscores=True)
    assert member.decode() == qualified
    assert before - 1000 <= score <= time.time() * 1000  # due now, in milliseconds
    ttl = await redis.pttl(f"arq:job:{qualified}")
    assert 86_400_000 - 60_000 < ttl <= 86_400_000  # kept a day past when it is due


async def test_arq_reads_back_a_job_our_send_enqueued(redis, queue):
    due, later = job_id(), job_id()
    await jobs.send(redis, [jobs.Job("probe", due, {"ticket_id": 7, "note": "ü"}),
                            jobs.Job("probe", later, {"ticket_id": 8, "_defer_by": 60})],
                    queue_name=queue)

    job = ArqJob(jobs.qualified(queue, due), redis, _queue_name=queue)
    assert await job.status() is JobStatus.queued
    info = await job.info()
    assert info is not None
    assert (info.function, info.args, info.kwargs) == ("probe", (), {"ticket_id": 7, "note": "ü"})
    assert info.job_try is None and abs(info.enqueue_time.timestamp() - time.time()) < 5

    deferred = ArqJob(jobs.qualified(queue, later), redis, _queue_name=queue)
    assert await deferred.status() is JobStatus.deferred
    info = await deferred.info()
    assert info is not None and info.kwargs == {"ticket_id": 8}  # the option is ours, not a kwarg
    assert info.score is not None and info.score / 1000 - time.time() > 55


async def test_a_real_arq_worker_runs_the_job_with_its_kwargs_and_keeps_its_result(
        redis, queue, worker_pool):
    wanted, later = job_id(), job_id()
    await jobs.send(redis, [jobs.Job("probe", wanted, {"ticket_id": 7, "attempt": 2}),
                            jobs.Job("probe", later, {"ticket_id": 8, "_defer_by": 60})],
                    queue_name=queue)

    assert await run_worker(worker_pool, queue, max_jobs=1) == 1

    job = ArqJob(jobs.qualified(queue, wanted), redis, _queue_name=queue)
    assert await job.status() is JobStatus.complete
    assert await job.result(timeout=5) == {"job_id": jobs.qualified(queue, wanted), "job_try": 1,
                                           "kwargs": {"ticket_id": 7, "attempt": 2}}
    # Not due yet: still waiting in the queue.
    later_job = ArqJob(jobs.qualified(queue, later), redis, _queue_name=queue)
    assert await later_job.status() is JobStatus.deferred
    # A kept result refuses the same id again (the deterministic-id guarantee reads arq's key).
    assert await jobs.send(redis, [jobs.Job("probe", wanted, {"ticket_id": 7})],
                           queue_name=queue) == 0


async def test_a_withdrawn_job_is_never_run_by_a_real_worker(redis, queue, worker_pool):
    withdrawn, kept = job_id(), job_id()
    await jobs.send(redis, [jobs.Job("probe", i, {"n": n}) for n, i in enumerate((withdrawn, kept))],
                    queue_name=queue)
    assert await jobs.withdraw(redis, [withdrawn], queue_name=queue) == 1

    assert await run_worker(worker_pool, queue) == 1

    assert await ArqJob(jobs.qualified(queue, withdrawn), redis, _queue_name=queue).info() is None
    result = await ArqJob(jobs.qualified(queue, kept), redis, _queue_name=queue).result(timeout=5)
    assert result["kwargs"] == {"n": 1}
