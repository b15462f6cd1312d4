"""The arq worker, wired: job functions, cron jobs, and the resources they share.

Jobs live in their domains (`routing/tasks.py`, `webhooks/tasks.py`, `core/idempotency.py`);
each opens its unit of work with `core.jobs.job_session(ctx)`. This module only assembles them.
`worker_options(settings)` is the one description of a worker: `switchboard worker` and
`switchboard dev` build theirs from it, and so does `arq app.worker.WorkerSettings` (read from
the environment when arq asks for it).
"""

from __future__ import annotations

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


FUNCTIONS: list[Any] = [idempotency.purge_idempotency_keys, *routing_tasks.FUNCTIONS,
                        *webhook_tasks.FUNCTIONS]
CRON_JOBS = [cron(idempotency.purge_idempotency_keys, minute={7}, run_at_startup=False),
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


def __getattr__(name: str) -> Any:
    """`arq app.worker.WorkerSettings`: the same options as `switchboard worker`, from the
    environment's settings, built when arq asks (importing this module needs no settings)."""
    if name == "WorkerSettings":
        settings = get_settings()
        settings.require_database_url()
        return worker_options(settings)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
