"""The routing jobs: failure classification, backoff, turns (pure), the sweep and a failing
rule with a real ctx against the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix, result_key_prefix
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.core import jobs
from app.core.db import utcnow
from app.models import Ticket
from app.routing.tasks import (
    MAX_BACKOFF_S,
    backoff,
    is_transient,
    route_ticket,
    sweep_routing,
    waited_long,
)
from app.tickets.service import route_job_id
from tests.routing.test_execution import add_rule, new_ticket, reload, runs_of


def wrapped(orig: BaseException) -> DBAPIError:
    """An asyncpg error as SQLAlchemy raises it."""
    return DBAPIError("SELECT 1", {}, orig)


# --- pure ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [
    wrapped(asyncpg.DeadlockDetectedError("deadlock detected")),
    wrapped(asyncpg.SerializationError("could not serialize access")),
    wrapped(asyncpg.LockNotAvailableError("canceling statement due to lock timeout")),
    wrapped(asyncpg.AdminShutdownError("terminating connection")),
    wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
    wrapped(asyncpg.TooManyConnectionsError("too many clients")),
    OperationalError("SELECT 1", {}, asyncpg.ConnectionFailureError("connection failure")),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
])
def test_connection_losses_deadlocks_and_lock_timeouts_are_transient(exc):
    assert is_transient(exc)


def test_a_transient_error_raised_from_another_is_transient():
    try:
        try:
            raise wrapped(asyncpg.DeadlockDetectedError("deadlock detected"))
        except DBAPIError as inner:
            raise RuntimeError("while routing") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


@pytest.mark.parametrize("exc", [
    IntegrityError("INSERT", {}, asyncpg.UniqueViolationError("duplicate key")),
    wrapped(asyncpg.UndefinedColumnError("column does not exist")),
    KeyError("priority"), ValueError("bad rule"), TypeError("not a routing action"),
])
def test_bugs_and_bad_data_are_not_transient(exc):
    assert not is_transient(exc)


def test_a_job_is_late_when_it_starts_the_threshold_or_more_after_its_enqueueing():
    now = utcnow()
    assert waited_long(now - timedelta(seconds=0.5), now, 0.5)
    assert not waited_long(now - timedelta(seconds=0.4), now, 0.5)
    assert not waited_long(None, now, 0.0)  # not run by arq: no batch


def test_backoff_doubles_from_the_base_up_to_a_minute():
    assert [backoff(t, 1.0) for t in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(30, 1.0) == MAX_BACKOFF_S
    assert backoff(1, 0.0) == 0.0


# --- a rule that breaks -----------------------------------------------------------------------

@pytest.fixture
def ctx(sessionmaker, settings, redis) -> dict:
    return {"sessionmaker": sessionmaker, "settings": settings, "redis": redis, "job_try": 1}


@pytest.fixture
def job_ctx(sessionmaker, settings) -> dict:
    """A job's ctx without a queue (nothing it would send outlives the rolled-back test)."""
    return {"sessionmaker": sessionmaker, "settings": settings, "redis": None, "job_try": 1}


async def test_a_rule_whose_stored_actions_are_broken_fails_the_ticket_visibly(job_ctx, session,
                                                                                factory):
    ctx = job_ctx
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "set_priority", "value": "high"}])
    await add_rule(session, desk.id, [{"type": "teleport", "value": 1}], position=1)
    ticket = await new_ticket(session, desk)

    assert await route_ticket(ctx, ticket.id) == "failed"

    stored = await reload(session, ticket.id)
    assert (stored.routing_state, stored.priority, stored.version) == ("failed", 1, 1)
    [run] = await runs_of(session, ticket.id)
    assert (run.outcome, run.attempt, run.actions) == ("failed", 1, [])
    assert "teleport" in run.error
    assert await route_ticket(ctx, ticket.id) == "skipped"  # failed is final


# --- the sweep ----------------------------------------------------------------------------------

async def age(session, ticket: Ticket, seconds: float) -> None:
    await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
        created_at=utcnow() - timedelta(seconds=seconds)))


async def queued_tickets(redis, queue: str) -> list[int]:
    return sorted(j.kwargs["ticket_id"] for j in await redis.queued_jobs(queue_name=queue)
                  if j.function == "route_ticket")


async def test_sweep_enqueues_tickets_pending_longer_than_the_threshold_only(
        ctx, session, factory, redis, queue):
    desk = await factory.desk()
    overdue, young, routed = [await new_ticket(session, desk, subject=s)
                              for s in ("overdue", "young", "routed")]
    await age(session, overdue, 60)
    await age(session, routed, 60)
    await session.execute(update(Ticket).where(Ticket.id == routed.id).values(
        routing_state="done"))

    assert await sweep_routing(ctx) == 1
    assert await queued_tickets(redis, queue) == [overdue.id]
    [job] = await redis.queued_jobs(queue_name=queue)
    assert job.job_id == jobs.qualified(queue, route_job_id(overdue.id))

    assert await sweep_routing(ctx) == 0  # the same job id: queued once
    assert await queued_tickets(redis, queue) == [overdue.id]
    await age(session, young, 31)
    assert await sweep_routing(ctx) == 1
    assert await queued_tickets(redis, queue) == sorted([overdue.id, young.id])


async def test_sweep_drops_a_dead_workers_in_progress_marker_and_a_kept_result(
        ctx, session, factory, redis, queue):
    desk = await factory.desk()
    ticket = await new_ticket(session, desk)
    await age(session, ticket, 60)
    job_id = jobs.qualified(queue, route_job_id(ticket.id))
    await redis.set(in_progress_key_prefix + job_id, b"1", ex=70)
    await redis.set(result_key_prefix + job_id, b"old", ex=3600)

    assert await sweep_routing(ctx) == 1

    assert not await redis.exists(in_progress_key_prefix + job_id, result_key_prefix + job_id)
    assert await queued_tickets(redis, queue) == [ticket.id]
