"""The arq worker: job functions, cron jobs, and the resources they share.

Jobs take ids, open their own session and are safe to run twice. `build_worker()` makes a worker
from the settings (used by `switchboard worker` and `switchboard dev`); `WorkerSettings` serves
`arq app.worker.WorkerSettings` too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from app.core import idempotency, jobs
from app.core.config import Settings, get_settings
from app.core.heap import freeze_startup_heap
from app.core.resources import Resources
from app.routing import tasks as routing_tasks
from app.webhooks import delivery as webhook_delivery
from app.webhooks import tasks as webhook_tasks

log = logging.getLogger(__name__)

MAX_JOBS = 20  # jobs one worker runs at once


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    # A connection for every job that may run at once: a pool smaller than that would open and
    # close overflow connections through every burst.
    resources = Resources.open(settings, custom_plans=False,
                               pool_size=max(settings.db_pool_size, MAX_JOBS))
    ctx.update(settings=settings, resources=resources, sessionmaker=resources.sessionmaker,
               http=webhook_delivery.client(settings))


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["http"].aclose()
    await ctx["resources"].close()


async def commit(ctx: dict[str, Any], session: Any) -> None:
    """Commit a job's session, then send the jobs it deferred (the worker's transaction boundary)."""
    await session.commit()
    pending = jobs.take(session)
    if pending:
        await jobs.send(ctx["redis"], pending, queue_name=ctx["settings"].queue_name)


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Forget stored responses older than their 24 h window."""
    async with ctx["sessionmaker"]() as session:
        removed = await idempotency.purge_expired(session)
        await commit(ctx, session)
    if removed:
        log.info("purged %d expired idempotency keys", removed)
    return removed


FUNCTIONS: list[Any] = [purge_idempotency_keys, *routing_tasks.FUNCTIONS, *webhook_tasks.FUNCTIONS]
CRON_JOBS = [cron(purge_idempotency_keys, minute={7}, run_at_startup=False),
             *routing_tasks.CRON_JOBS, *webhook_tasks.CRON_JOBS]


def worker_options(settings: Settings) -> dict[str, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        await startup(ctx)
        freeze_startup_heap()

    return {
        "functions": FUNCTIONS,
        # arq ids cron runs by name and time across every queue of a Redis: qualify the names,
        # so deployments sharing a Redis never skip each other's sweeps.
        "cron_jobs": [replace(c, name=jobs.qualified(settings.queue_name, c.name))
                      for c in CRON_JOBS],
        "on_startup": on_startup,
        "on_shutdown": shutdown,
        "queue_name": settings.queue_name,
        "redis_settings": RedisSettings.from_dsn(settings.require_redis_url()),
        "job_timeout": 60,
        "max_jobs": MAX_JOBS,
        "poll_delay": settings.worker_poll_delay,
        "keep_result": 3600,
    }


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    return Worker(**{**worker_options(settings), **overrides})


class WorkerSettings:  # pragma: no cover - for `arq app.worker.WorkerSettings`
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
