"""Every way of starting a worker runs the same worker: `switchboard worker` and
`arq app.worker.WorkerSettings` each route a ticket, as processes of their own against a
database of the module's own."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from app.models import Ticket
from tests.conftest import TEST_SECRET
from tests.routing import test_execution_workers as shared
from tests.routing.test_execution_workers import (
    add_rule,
    clear_queue,
    enqueue,
    new_tickets,
    own_settings,
    runs_of,
)

own_url, own_engine, own_sessions, desk = (shared.own_url, shared.own_engine,
                                           shared.own_sessions, shared.desk)

pytestmark = [pytest.mark.committing]

ENTRY_POINTS = {
    "switchboard worker": [sys.executable, "-m", "app.cli", "worker", "--burst"],
    "arq app.worker.WorkerSettings": [sys.executable, "-m", "arq", "app.worker.WorkerSettings",
                                      "--burst"],
}


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
async def test_each_worker_entry_point_routes_a_ticket(entry_point, own_url, own_sessions, desk,
                                                      services, redis):
    desk_id, _ = desk
    settings = own_settings(own_url, services.redis_url)
    await add_rule(own_sessions, desk_id, [{"type": "add_tags", "value": ["routed"]}])
    [ticket_id] = await new_tickets(own_sessions, desk_id, 1)
    assert await enqueue(redis, settings.queue_name, [ticket_id]) == 1
    env = {**os.environ, "DATABASE_URL": own_url, "REDIS_URL": services.redis_url,
           "REDIS_NAMESPACE": settings.redis_namespace, "SECRET_KEY": TEST_SECRET,
           "ENVIRONMENT": "test"}
    try:
        process = await asyncio.create_subprocess_exec(
            *ENTRY_POINTS[entry_point], env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(process.communicate(), 120)
    finally:
        await clear_queue(redis, settings.queue_name)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    [run] = await runs_of(own_sessions, ticket_id)
    assert run.outcome == "done"
    async with own_sessions() as s:
        assert (await s.get_one(Ticket, ticket_id)).tags == ["routed"]
