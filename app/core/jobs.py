"""Jobs held until commit: a service defers, the transaction boundary sends.

A service calls `defer(session, "route_ticket", ticket_id=1, job_id="route:1")`; nothing leaves
the process until the session commits, and a rollback drops the jobs. Every job can be derived
again from a database row, so a Redis outage at send time loses nothing: the cron sweeps pick it
up. The request's boundary is `core/boundary.py`; a job's (and the SMTP listener's) is
`job_session(ctx)`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms, to_unix_ms
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_KEY = "switchboard.jobs"


@dataclass(frozen=True)
class Job:
    function: str
    job_id: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)


def defer(session: AsyncSession, function: str, *, job_id: str | None = None, **kwargs: Any) -> None:
    session.info.setdefault(_KEY, []).append(Job(function, job_id, kwargs))


def take(session: AsyncSession) -> list[Job]:
    """The jobs deferred so far, removed from the session."""
    taken: list[Job] = session.info.pop(_KEY, [])
    return taken


def discard(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


def qualified(queue_name: str, job_id: str) -> str:
    """arq keys a job by its id across every queue of a Redis; ours carry the queue name, so two
    deployments (or test runs) sharing one Redis never refuse each other's jobs."""
    return f"{queue_name}:{job_id}"


@asynccontextmanager
async def job_session(ctx: Mapping[str, Any]) -> AsyncIterator[AsyncSession]:
    """A job's unit of work: a session that commits when the block ends, then sends the jobs
    deferred in it; an error discards them and rolls back. `ctx` is arq's job context (or one
    shaped like it): `sessionmaker`, `redis` and `settings`. A block may commit earlier itself
    (a claim that must be visible at once); the jobs go out at the end."""
    async with ctx["sessionmaker"]() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            discard(session)
            raise
        await send(ctx["redis"], take(session), queue_name=ctx["settings"].queue_name)


# arq's own enqueue (WATCH, EXISTS, MULTI/EXEC) costs three round trips a job; this does the
# same checks and writes for a whole batch in one: a job whose key or kept result exists is
# not enqueued again (the deterministic-id guarantee).
_ENQUEUE = f"""
local sent = 0
for i = 2, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('EXISTS', '{job_key_prefix}' .. id, '{result_key_prefix}' .. id) == 0 then
    redis.call('PSETEX', '{job_key_prefix}' .. id, ARGV[i + 2], ARGV[i + 3])
    redis.call('ZADD', ARGV[1], ARGV[i + 1], id)
    sent = sent + 1
  end
end
return sent
"""


def _arguments(jobs: list[Job], queue_name: str, serializer: Any) -> list[Any]:
    now = timestamp_ms()
    args: list[Any] = [queue_name]
    for job in jobs:
        kwargs = dict(job.kwargs)
        defer_until, defer_by = kwargs.pop("_defer_until", None), kwargs.pop("_defer_by", None)
        if defer_until is not None:
            score = to_unix_ms(defer_until)
        else:
            score = now + (to_ms(defer_by) or 0)
        job_id = qualified(queue_name, job.job_id) if job.job_id else uuid4().hex
        payload = serialize_job(job.function, (), kwargs, None, now, serializer=serializer)
        args += [job_id, score, max(score - now, 0) + expires_extra_ms, payload]
    return args


async def send(pool: ArqRedis | None, jobs: list[Job], *, queue_name: str) -> int:
    """Enqueue after a commit, in one round trip; returns how many were new. Failures are logged,
    not raised: the rows still say what is due, and the sweeps pick it up."""
    if not jobs:
        return 0
    if pool is None:
        log.warning("no job queue configured; %d job(s) left for the sweeps", len(jobs))
        return 0
    try:
        args = _arguments(jobs, queue_name, pool.job_serializer)
        # redis-py types eval for its sync and async clients at once (`Awaitable[str] | str`).
        return int(await pool.eval(_ENQUEUE, 0, *args))  # type: ignore[misc]
    except Exception:  # Redis down: the row still says what is due
        log.warning("could not enqueue %s; the sweeps will", [j.function for j in jobs],
                    exc_info=True)
        return 0


# A job no worker has started leaves the queue with its key. Its in-progress marker is set for
# a moment first: a worker between its check of that marker (WATCHed) and its claim then
# fails the claim and skips the job, instead of starting it and finding its key gone.
_WITHDRAW = f"""
local removed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', '{in_progress_key_prefix}' .. id) == 0
     and redis.call('ZSCORE', ARGV[1], id) then
    redis.call('PSETEX', '{in_progress_key_prefix}' .. id, 10000, 'withdrawn')
    redis.call('ZREM', ARGV[1], id)
    redis.call('DEL', '{job_key_prefix}' .. id)
    removed = removed + 1
  end
end
return removed
"""


async def withdraw(pool: ArqRedis | None, job_ids: list[str], *, queue_name: str) -> int:
    """Take queued jobs whose work is already done out of the queue, in one round trip; a job a
    worker has started is left to run (our jobs are safe to run twice). Returns how many were
    withdrawn; failures are logged, not raised: a job left queued only runs for nothing."""
    if not job_ids or pool is None:
        return 0
    try:
        ids = [qualified(queue_name, i) for i in job_ids]
        # redis-py types eval for its sync and async clients at once (`Awaitable[str] | str`).
        return int(await pool.eval(_WITHDRAW, 0, queue_name, *ids))  # type: ignore[misc]
    except Exception:
        log.warning("could not withdraw %d job(s)", len(job_ids), exc_info=True)
        return 0
