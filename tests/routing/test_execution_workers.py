"""Routing through real arq workers against a database of this module's own (committing):
rules and tickets made over HTTP and routed by a worker; round-robin turns shared fairly by two
workers routing one team's tickets at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from arq.constants import job_key_prefix, result_key_prefix
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.service import create_admin
from app.core import jobs
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.migrate import upgrade
from app.main import create_app
from app.models import (
    Desk,
    DeskMember,
    RoundRobinCursor,
    RoutingRule,
    RoutingRun,
    Team,
    TeamMember,
    Ticket,
    User,
)
from app.routing import executor
from app.routing.tasks import route_ticket
from app.tickets import service as tickets
from app.tickets.schemas import TicketCreate
from app.tickets.service import route_job_id
from app.worker import build_worker
from tests.conftest import TEST_SECRET, bearer
from tests.services import create_database, drop_database
from tests.tickets.conftest import ticket_body

pytestmark = [pytest.mark.committing,
              pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")]


# --- a database of the module's own, shared by test_failures.py -------------------------------

@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def own_url(services) -> AsyncIterator[str]:
    url = await create_database(services.database_url)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_database(services.database_url, url)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def own_engine(own_url) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_url, pool_size=8)
    yield engine
    await engine.dispose()


@pytest.fixture
def own_sessions(own_engine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(own_engine)


def own_settings(own_url: str, redis_url: str, **changes: Any) -> Settings:
    return Settings(environment="test", secret_key=TEST_SECRET, database_url=own_url,
                    redis_url=redis_url, redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}",
                    **changes)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(own_sessions) -> AsyncIterator[tuple[int, dict[str, str]]]:
    """A committed desk and an admin token; the desk (with its tickets, rules, runs) is deleted
    afterwards."""
    async with own_sessions() as s:
        row = Desk(name=f"Routing {uuid.uuid4().hex[:6]}")
        s.add(row)
        _, secret = await create_admin(s, f"admin-{uuid.uuid4().hex[:8]}@x.example")
        await s.commit()
        desk_id = row.id
    yield desk_id, bearer(secret)
    async with own_sessions() as s:
        await s.delete(await s.get_one(Desk, desk_id))
        await s.commit()


async def add_team(sessions, desk_id: int, size: int) -> tuple[int, list[int]]:
    """A committed team of `size` new agents with access to the desk: (team id, user ids)."""
    async with sessions() as s:
        team = Team(name=f"Team {uuid.uuid4().hex[:8]}")
        users = [User(email=f"{uuid.uuid4().hex[:8]}@staff.example", name="Agent", role="agent")
                 for _ in range(size)]
        s.add_all([team, *users])
        await s.flush()
        s.add_all([TeamMember(team_id=team.id, user_id=u.id) for u in users])
        s.add(DeskMember(desk_id=desk_id, team_id=team.id, role="agent"))
        await s.commit()
        return team.id, sorted(u.id for u in users)


async def add_rule(sessions, desk_id: int, actions: list[dict[str, Any]]) -> int:
    async with sessions() as s:
        rule = RoutingRule(desk_id=desk_id, name="rule", conditions={}, actions=actions)
        s.add(rule)
        await s.commit()
        return rule.id


async def new_tickets(sessions, desk_id: int, count: int) -> list[int]:
    """Committed pending tickets (made by the service, so no job is sent)."""
    async with sessions() as s:
        desk_row = await s.get_one(Desk, desk_id)
        made = [await tickets.create(s, None, TicketCreate(
            desk_id=desk_id, subject=f"Ticket {i}", requester={"email": f"c{i}@acme.example"}),
            desk=desk_row) for i in range(count)]
        await s.commit()
        return [t.id for t in made]


async def enqueue(redis, queue: str, ticket_ids: list[int]) -> int:
    return await jobs.send(redis, [jobs.Job("route_ticket", route_job_id(i), {"ticket_id": i})
                                   for i in ticket_ids], queue_name=queue)


async def clear_queue(redis, queue: str) -> None:
    ids = [j.job_id for j in await redis.queued_jobs(queue_name=queue)]
    await redis.delete(queue, *(p + i for i in ids for p in (job_key_prefix, result_key_prefix)))


@contextlib.asynccontextmanager
async def api(settings: Settings, sessions, arq) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose requests commit for real and send jobs to `arq`."""
    app = create_app(settings, manage_resources=False)
    app.state.sessionmaker = sessions
    app.state.redis = app.state.arq = arq
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def run_burst(settings: Settings, **options: Any) -> Any:
    """A real arq worker that runs until its queue is empty (retries included)."""
    worker = build_worker(settings, burst=True, handle_signals=False, **options)
    try:
        await worker.run_check()
    finally:
        await worker.close()
    return worker


async def runs_of(sessions, ticket_id: int) -> list[RoutingRun]:
    async with sessions() as s:
        return list(await s.scalars(select(RoutingRun).where(RoutingRun.ticket_id == ticket_id)
                                    .order_by(RoutingRun.id)))


def job_ctx(sessions, settings: Settings, redis: Any = None, *,
            late: timedelta = timedelta(0)) -> dict[str, Any]:
    """What arq hands a first try of a job enqueued `late` ago."""
    return {"sessionmaker": sessions, "settings": settings, "redis": redis, "job_try": 1,
            "enqueue_time": utcnow() - late}


async def routing_states(sessions, desk_id: int) -> dict[int, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Ticket.id, Ticket.routing_state)
                                     .where(Ticket.desk_id == desk_id))).all())


# --- tests ------------------------------------------------------------------------------------

async def test_rules_and_tickets_made_over_http_are_routed_by_a_real_worker(
        own_url, own_sessions, services, redis, desk):
    desk_id, headers = desk
    settings = own_settings(own_url, services.redis_url)
    _, [agent] = await add_team(own_sessions, desk_id, 1)
    try:
        async with api(settings, own_sessions, redis) as client:
            rule = await client.post("/v1/routing-rules", headers=headers, json={
                "desk_id": desk_id, "name": "Refunds", "position": 0,
                "conditions": {"all": [{"field": "subject", "op": "contains", "value": "refund"}]},
                "actions": [{"type": "assign_agent", "value": agent},
                            {"type": "add_tags", "value": ["billing"]}]})
            assert rule.status_code == 201, rule.text
            made = [await client.post("/v1/tickets", headers=headers,
                                      json=ticket_body(desk_id, subject=subject))
                    for subject in ("REFUND please", "Hello")]
            assert [(r.status_code, r.json()["routing_state"]) for r in made] == [
                (201, "pending")] * 2
            refund, hello = (r.json()["id"] for r in made)
            queued = await redis.queued_jobs(queue_name=settings.queue_name)
            assert sorted(j.kwargs["ticket_id"] for j in queued
                          if j.function == "route_ticket") == [refund, hello]

            await run_burst(settings)

            routed = (await client.get(f"/v1/tickets/{refund}", headers=headers)).json()
            assert (routed["routing_state"], routed["assignee_id"], routed["tags"]) == (
                "done", agent, ["billing"])
            runs = (await client.get(f"/v1/tickets/{refund}/routing", headers=headers)).json()
            assert runs["routing_state"] == "done"
            [run] = runs["items"]
            assert (run["outcome"], run["matched_rule_ids"]) == ("done", [rule.json()["id"]])
            assert [a["type"] for a in run["actions"]] == ["assign_agent", "add_tags"]
            other = (await client.get(f"/v1/tickets/{hello}/routing", headers=headers)).json()
            assert (other["routing_state"], other["items"][0]["matched_rule_ids"]) == ("done", [])
            history = (await client.get(f"/v1/tickets/{refund}/events", headers=headers)).json()
            assert [e["type"] for e in history["items"]] == [
                "ticket.created", "ticket.routed", "ticket.assigned"]
        # route_ticket keeps no result: its job id can be sent again at once (the sweep's way)
        assert await enqueue(redis, settings.queue_name, [refund]) == 1
    finally:
        await clear_queue(redis, settings.queue_name)


@pytest.mark.parametrize("batch", [1, 5])
async def test_two_workers_hand_out_round_robin_turns_fairly_and_in_order(
        own_url, own_sessions, services, redis, desk, batch):
    """Each job one ticket (every turn contended), or batches of five."""
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url, routing_batch_size=batch,
                            routing_batch_after_seconds=0)
    team_id, members = await add_team(own_sessions, desk_id, 3)
    await add_rule(own_sessions, desk_id, [{"type": "assign_round_robin", "value": team_id}])
    ticket_ids = await new_tickets(own_sessions, desk_id, 24)
    try:
        assert await enqueue(redis, settings.queue_name, ticket_ids) == 24
        workers = await asyncio.gather(run_burst(settings, max_jobs=2),
                                       run_burst(settings, max_jobs=2))
    finally:
        await clear_queue(redis, settings.queue_name)

    assert all(w.jobs_complete > 0 for w in workers), [w.jobs_complete for w in workers]
    async with own_sessions() as s:
        runs = list(await s.scalars(select(RoutingRun).where(RoutingRun.desk_id == desk_id)
                                    .order_by(RoutingRun.id)))
        assignees = dict((await s.execute(select(Ticket.id, Ticket.assignee_id)
                                          .where(Ticket.id.in_(ticket_ids)))).all())
        cursor = await s.get_one(RoundRobinCursor, (desk_id, team_id))
    assert len(runs) == 24 and all(r.outcome == "done" for r in runs)
    in_turn_order = [assignees[r.ticket_id] for r in runs]
    assert in_turn_order == members * 8  # each member 8 times, never the same one twice running
    assert cursor.last_user_id == members[-1]


async def test_a_batch_routes_the_tickets_no_one_holds_and_withdraws_their_jobs(
        own_url, own_sessions, services, redis, desk):
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url, routing_batch_size=3,
                            routing_batch_after_seconds=0)
    await add_rule(own_sessions, desk_id, [{"type": "add_tags", "value": ["seen"]}])
    first, held, second, third, fourth = await new_tickets(own_sessions, desk_id, 5)
    queue = settings.queue_name
    ctx = job_ctx(own_sessions, settings, redis)
    try:
        assert await enqueue(redis, queue, [first, held, second, third, fourth]) == 5
        async with own_sessions() as other:  # another transaction holds one ticket
            await other.execute(select(Ticket).where(Ticket.id == held).with_for_update())
            assert await route_ticket(ctx, first) == "done"
            await other.rollback()
        async with own_sessions() as s:
            stored = dict((await s.execute(select(Ticket.id, Ticket.routing_state)
                                           .where(Ticket.desk_id == desk_id))).all())
            tags = dict((await s.execute(select(Ticket.id, Ticket.tags)
                                         .where(Ticket.desk_id == desk_id))).all())
        # its own ticket and the two oldest no one held: one batch of three
        assert stored == {first: "done", held: "pending", second: "done", third: "done",
                          fourth: "pending"}
        assert tags[second] == tags[third] == ["seen"]
        for ticket_id in (first, second, third):
            [run] = await runs_of(own_sessions, ticket_id)
            assert (run.outcome, run.attempt) == ("done", 1)
        # the jobs of the tickets routed with it are gone; the others wait for a worker
        queued = await redis.queued_jobs(queue_name=queue)
        assert sorted(j.kwargs["ticket_id"] for j in queued
                      if j.function == "route_ticket") == sorted([first, held, fourth])
        for ticket_id in (second, third):
            assert not await redis.exists(job_key_prefix
                                          + jobs.qualified(queue, route_job_id(ticket_id)))
        assert await route_ticket(ctx, second) == "skipped"
    finally:
        await clear_queue(redis, queue)


async def test_a_batch_leaves_tickets_routing_already_tried_to_their_own_jobs(
        own_url, own_sessions, services, redis, desk):
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url, routing_batch_after_seconds=0)
    first, tried, fresh = await new_tickets(own_sessions, desk_id, 3)
    async with own_sessions() as s:
        s.add(RoutingRun(ticket_id=tried, desk_id=desk_id, outcome="retrying", error="lost"))
        await s.commit()
    ctx = job_ctx(own_sessions, settings)

    assert await route_ticket(ctx, first) == "done"

    assert await routing_states(own_sessions, desk_id) == {first: "done", tried: "pending", fresh: "done"}


async def test_a_failing_batch_routes_the_jobs_own_ticket_alone(
        own_url, own_sessions, services, redis, desk, monkeypatch):
    """One ticket that breaks routing (here: a fault injected for it) fails the batch that
    claimed it; the job's own ticket is routed alone at once, the broken one stays pending
    for its own job."""
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url, routing_batch_after_seconds=0)
    first, broken = await new_tickets(own_sessions, desk_id, 2)
    real_route = executor._route

    async def faulty(session, loaded, *args, **kwargs):
        if loaded.ticket.id == broken:
            raise RuntimeError("a bug for this ticket")
        return await real_route(session, loaded, *args, **kwargs)

    monkeypatch.setattr(executor, "_route", faulty)
    ctx = job_ctx(own_sessions, settings)

    assert await route_ticket(ctx, first) == "done"

    assert await routing_states(own_sessions, desk_id) == {first: "done", broken: "pending"}
    assert len(await runs_of(own_sessions, first)) == 1
    assert await runs_of(own_sessions, broken) == []


async def test_a_late_job_leaves_tickets_fresher_than_the_threshold_to_their_own_jobs(
        own_url, own_sessions, services, desk):
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url, routing_batch_after_seconds=30)
    old, fresh = await new_tickets(own_sessions, desk_id, 2)
    async with own_sessions() as s:  # `old` waited a minute, `fresh` just arrived
        await s.execute(update(Ticket).where(Ticket.id == old).values(
            created_at=utcnow() - timedelta(minutes=1)))
        await s.commit()
    first, *_ = await new_tickets(own_sessions, desk_id, 1)
    ctx = job_ctx(own_sessions, settings, late=timedelta(minutes=1))

    assert await route_ticket(ctx, first) == "done"

    assert await routing_states(own_sessions, desk_id) == {first: "done", old: "done", fresh: "pending"}
