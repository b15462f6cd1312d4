"""Routing jobs of the arq worker: `route_ticket` and the sweep that loses no ticket.

arq runs a job at least once. `route_ticket` is safe to run again (row lock + state check in
`executor.route`). A plain exception fails an arq job for good, so this job decides itself:
a transient failure (connection lost, deadlock, lock wait too long) raises `Retry` with a
doubling backoff; on the last try, or for any other error (a bug, a rule the data breaks), it
records a `failed` run in a fresh transaction and sets `routing_state='failed'`, which
`GET /v1/tickets/{id}/routing` shows. It keeps no arq result, so the same job id can be
enqueued again at once.

Whatever Redis loses (down at enqueue time, flushed, a worker killed mid-job) the database
still says: `sweep_routing` re-enqueues every ticket `pending` longer than
`ROUTING_SWEEP_AFTER_SECONDS` that no transaction is routing right now.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from arq import cron
from arq.constants import in_progress_key_prefix, result_key_prefix
from arq.worker import Retry, func
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core import jobs
from app.core.db import utcnow
from app.models import RoutingRun, Ticket
from app.routing import executor
from app.tickets.service import route_job_id

log = logging.getLogger(__name__)

ROUTE_TIMEOUT_S = 20  # arq cancels a job running longer (the lock timeout keeps waits shorter)
MAX_TRIES = 5
MAX_BACKOFF_S = 60.0
SWEEP_BATCH = 1000
ERROR_CHARS = 2000

# serialization_failure, deadlock_detected, lock_not_available, admin/crash shutdown,
# cannot_connect_now, too_many_connections; and class 08 (connection exceptions).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})


def is_transient(exc: BaseException) -> bool:
    """Pure: whether a failure may pass if the job runs again a little later."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError | PoolTimeout):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate in TRANSIENT_SQLSTATES
                                          or sqlstate.startswith("08")):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def backoff(job_try: int, base: float) -> float:
    """Pure: seconds before try `job_try + 1`: base, 2·base, 4·base, … at most a minute."""
    return min(base * 2 ** max(job_try - 1, 0), MAX_BACKOFF_S)


def waited_long(enqueue_time: datetime | None, now: datetime, after: float) -> bool:
    """Pure: whether a job started `after` seconds or more past its enqueueing, so the queue
    is behind and the job should route a batch (a job on time routes its ticket alone, with
    no extra query)."""
    return enqueue_time is not None and (now - enqueue_time).total_seconds() >= after


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


async def route_ticket(ctx: dict[str, Any], ticket_id: int) -> str:
    """Route one ticket, and, when the queue is behind (this job waited
    `ROUTING_BATCH_AFTER_SECONDS` or more), a batch of the desk's other pending tickets with
    it (their queued jobs withdrawn after the commit); returns what happened to this one
    (`done`, `skipped`, `failed`). A batch that fails is not retried as a batch: this ticket is
    routed alone at once, and a retried job routes its ticket alone."""
    settings = ctx["settings"]
    job_try = int(ctx.get("job_try") or 1)
    behind = waited_long(ctx.get("enqueue_time"), utcnow(), settings.routing_batch_after_seconds)
    batch = settings.routing_batch_size if job_try == 1 and behind else 1
    try:
        try:
            run, more = await _route(ctx, ticket_id, job_try, batch)
        except Exception:
            if batch == 1:
                raise
            log.info("routing batch of ticket %s failed; routing it alone", ticket_id,
                     exc_info=True)
            run, more = await _route(ctx, ticket_id, job_try, 1)
    except Exception as exc:
        if is_transient(exc) and job_try < MAX_TRIES:
            delay = backoff(job_try, settings.routing_retry_delay_seconds)
            log.warning("routing ticket %s failed (try %d), retrying in %.1fs: %s", ticket_id,
                        job_try, delay, describe(exc))
            await _note(ctx, ticket_id, job_try, exc, final=False)
            raise Retry(defer=delay) from exc
        log.exception("routing ticket %s failed (try %d)", ticket_id, job_try)
        await _note(ctx, ticket_id, job_try, exc, final=True)
        return "failed"
    if more:
        await jobs.withdraw(ctx["redis"], [route_job_id(i) for i in more],
                            queue_name=settings.queue_name)
    return "done" if run is not None else "skipped"


async def _route(ctx: dict[str, Any], ticket_id: int, job_try: int,
                 batch: int) -> tuple[RoutingRun | None, list[int]]:
    async with jobs.job_session(ctx) as session:
        settings = ctx["settings"]
        routed = await executor.route(session, ticket_id, attempt=job_try, batch=batch,
                                      waited=settings.routing_batch_after_seconds,
                                      lock_timeout=settings.routing_lock_timeout_seconds)
    return routed


async def _note(ctx: dict[str, Any], ticket_id: int, job_try: int, exc: BaseException, *,
                final: bool) -> None:
    """Record a failed attempt in a transaction of its own: a `retrying` run, or (final) a
    `failed` run and `routing_state='failed'`. A retrying note that cannot be written (the
    database is what failed) is only logged; a final one raises, leaving the ticket `pending`
    for the sweep."""
    try:
        async with jobs.job_session(ctx) as session:
            await executor.set_lock_timeout(session, ctx["settings"].routing_lock_timeout_seconds)
            ticket = await executor.lock_pending(session, ticket_id)
            if ticket is None:
                return
            session.add(RoutingRun(ticket_id=ticket.id, desk_id=ticket.desk_id, attempt=job_try,
                                   outcome="failed" if final else "retrying",
                                   error=describe(exc)))
            if final:
                # Routing changed nothing of the ticket: its version (the ETag) stays.
                await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
                    routing_state="failed").execution_options(synchronize_session=False))
    except Exception:
        if final:
            raise
        log.warning("could not record the failed routing of ticket %s", ticket_id, exc_info=True)


async def sweep_routing(ctx: dict[str, Any]) -> int:
    """Enqueue again the tickets pending longer than the threshold; returns how many were new
    in the queue. Rows locked right now are being routed and are left alone; for the others,
    a stale arq in-progress marker (a killed worker's: arq would wait out the longest job
    timeout + 10 s) or kept result is dropped first, so their job runs at the next poll."""
    settings = ctx["settings"]
    cutoff = utcnow() - timedelta(seconds=settings.routing_sweep_after_seconds)
    async with ctx["sessionmaker"]() as session:
        ids = list(await session.scalars(
            select(Ticket.id)
            .where(Ticket.routing_state == "pending", Ticket.created_at <= cutoff)
            .order_by(Ticket.created_at).limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)))
        await session.rollback()
    if not ids:
        return 0
    queue = settings.queue_name
    keys = [jobs.qualified(queue, route_job_id(i)) for i in ids]
    await ctx["redis"].delete(*(in_progress_key_prefix + k for k in keys),
                              *(result_key_prefix + k for k in keys))
    sent = await jobs.send(ctx["redis"], [jobs.Job("route_ticket", route_job_id(i),
                                                   {"ticket_id": i}) for i in ids],
                           queue_name=queue)
    log.info("routing sweep: %d ticket(s) overdue, %d enqueued again", len(ids), sent)
    return sent


FUNCTIONS: list[Any] = [func(route_ticket, timeout=ROUTE_TIMEOUT_S, max_tries=MAX_TRIES,
                             keep_result=0)]
CRON_JOBS: list[Any] = [cron(sweep_routing, second={0, 15, 30, 45}, run_at_startup=True,
                             timeout=60)]
