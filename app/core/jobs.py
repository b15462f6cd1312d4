"""Jobs held until commit: a service defers, the transaction boundary sends.

A service calls `defer(session, "route_ticket", ticket_id=1, job_id="route:1")`; nothing leaves
the process until the session commits, and a rollback drops the jobs. Every job can be derived
again from a database row, so a Redis outage at send time loses nothing: the cron sweeps pick it
up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
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
    return session.info.pop(_KEY, [])


def discard(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


async def send(pool: ArqRedis | None, jobs: list[Job], *, queue_name: str) -> int:
    """Enqueue after a commit; returns how many were sent. Failures are logged, not raised."""
    sent = 0
    for job in jobs:
        if pool is None:
            log.warning("no job queue configured; %s left for the sweep", job.function)
            continue
        try:
            await pool.enqueue_job(job.function, _job_id=job.job_id, _queue_name=queue_name,
                                   **job.kwargs)
            sent += 1
        except Exception:  # Redis down: the row still says what is due
            log.warning("could not enqueue %s (%s); the sweep will", job.function, job.job_id,
                        exc_info=True)
    return sent
