"""Webhook delivery benchmark: a worker's deliveries next to the raw rate of its HTTP client.

    .venv/bin/python scripts/bench/webhooks.py [--events 2000] [--webhooks 4]

Creates a fresh database on the local PostgreSQL (DATABASE_URL's server, default
postgres@127.0.0.1:5432; dropped at the end), starts a subscriber on 127.0.0.1 (allow-listed) and
measures, in one run:

  raw       the worker's own HTTP client (`delivery.client`, SSRF guard included) POSTing the
            same signed bodies to the subscriber, 20 at a time (the worker's job slots)
  delivery  one `switchboard worker` process; events committed by 4 writers in transactions
            of 10 (each kicking the dispatcher after commit, as the API does), spread over
            `--webhooks` webhooks (each at most WEBHOOK_MAX_IN_FLIGHT at once): deliveries/s
            and event-commit -> delivered p50/p95

and prints the figures with the ratio delivery/raw (target >= 0.5). Nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core import jobs, outbox
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import upgrade
from app.core.outbox import EventType
from app.core.resources import redis_client
from app.models import Delivery, Desk, Event, Webhook
from app.webhooks import delivery, signing
from scripts.bench.common import REPO_ROOT, log, percentile
from sqlalchemy import func, literal_column, select
from tests.services import create_database, drop_database
from tests.webhooks.receiver import Receiver

SERVER = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"
SLOTS = 20  # the worker's max_jobs
THIS_TRANSACTION = literal_column("(pg_current_xact_id()::text)::bigint")  # events.txid's default


def data(i: int) -> dict[str, Any]:
    return {"id": i, "subject": "Printer on fire", "status": "new", "priority": "normal",
            "tags": ["printer", "fire"], "description": "Smoke everywhere. " * 8}


async def raw_rate(settings: Settings, receiver: Receiver, count: int) -> float:
    """Requests/s of the delivery client posting signed envelopes, SLOTS at a time."""
    secret = signing.new_secret()
    body = delivery.envelope(_Event(data(1)))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    async with delivery.client(settings) as http:
        async def post_one(i: int) -> None:
            headers = signing.headers([secret], str(i), int(time.time()), body)
            response = await http.post(receiver.url, content=body, headers=headers)
            response.raise_for_status()

        async def post() -> None:
            while not queue.empty():
                await post_one(queue.get_nowait())

        await asyncio.gather(*(post_one(-1) for _ in range(SLOTS)))  # connections warm
        started = time.perf_counter()
        await asyncio.gather(*(post() for _ in range(SLOTS)))
        return count / (time.perf_counter() - started)


class _Event:
    def __init__(self, payload: dict[str, Any]) -> None:
        from datetime import UTC, datetime

        self.id, self.type, self.desk_id = 1, "ticket.created", 1
        self.created_at, self.actor = datetime.now(UTC), dict(outbox.SYSTEM_ACTOR)
        self.data, self.changes = payload, None


async def main(count: int, hooks: int) -> None:
    url = await create_database(SERVER)
    namespace = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    settings = Settings(environment="test", secret_key=SECRET, database_url=url, redis_url=REDIS,
                        redis_namespace=namespace, webhook_allow_hosts="127.0.0.1",
                        webhook_allow_http=True)
    redis = redis_client(REDIS)
    engine = create_engine(url, pool_size=8)
    sessions = create_sessionmaker(engine)
    worker: asyncio.subprocess.Process | None = None
    emitted: dict[int, float] = {}
    try:
        await asyncio.to_thread(upgrade, url)
        async with Receiver() as receiver:
            log(f"raw: {count} POSTs of the delivery client, {SLOTS} at a time")
            raw = await raw_rate(settings, receiver, count)
            receiver.received.clear()

            async with sessions() as s:
                desks = [Desk(name=f"Bench {i}") for i in range(hooks)]
                s.add_all(desks)
                await s.flush()
                s.add_all([Webhook(url=receiver.url, events=["*"], desk_ids=[d.id],
                                   owner_kind="api_token", secret=signing.new_secret())
                           for d in desks])
                await s.commit()
                desk_ids = [d.id for d in desks]

            env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS,
                   "REDIS_NAMESPACE": namespace, "SECRET_KEY": SECRET, "ENVIRONMENT": "test",
                   "WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "WEBHOOK_ALLOW_HTTP": "true",
                   "LOG_LEVEL": "WARNING"}
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "worker", cwd=REPO_ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(2)  # the worker connects and runs its startup sweep

            log(f"delivery: {count} events over {hooks} webhooks, one worker process")
            per_writer = count // 4

            async def writer(w: int) -> None:
                for start in range(0, per_writer, 10):
                    async with sessions() as s:
                        for i in range(start, min(start + 10, per_writer)):
                            outbox.record(s, type=EventType.ticket_created,
                                          desk_id=desk_ids[(w + i) % hooks],
                                          subject_type="ticket", subject_id=i, data=data(i),
                                          scope=None)
                        await outbox.write_pending(s)
                        made = (await s.scalars(select(Event.id).where(
                            Event.txid == THIS_TRANSACTION))).all()
                        await s.commit()
                        committed = time.monotonic()
                        await jobs.send(redis, jobs.take(s), queue_name=settings.queue_name)
                    for event_id in made:
                        emitted[event_id] = committed

            started = time.monotonic()
            await asyncio.gather(*(writer(w) for w in range(4)))
            written = time.monotonic() - started
            got = await receiver.wait_for(len(emitted), within=600)
            finished = max(r.at for r in got)
            latencies = [(r.at - emitted[int(r.headers["webhook-id"])]) * 1000 for r in got]
            async with sessions() as s:
                succeeded = await s.scalar(select(func.count()).select_from(Delivery)
                                           .where(Delivery.status == "succeeded"))
        rate = len(got) / (finished - started)
        print()
        print(f"events written        {len(emitted)} in {written:.2f} s "
              f"({len(emitted) / written:.0f}/s, 4 writers, 10 per transaction)")
        print(f"raw client POSTs/s    {raw:.0f}")
        print(f"deliveries/s          {rate:.0f}  (first commit -> last delivery; "
              f"{succeeded} rows succeeded)")
        print(f"ratio delivery/raw    {rate / raw:.2f}  (target >= 0.5)")
        print(f"event -> delivered    p50 {percentile(latencies, 50):.1f} ms, "
              f"p95 {percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms")
    finally:
        if worker is not None:
            worker.terminate()
            await worker.wait()
        keys = [k async for k in redis.scan_iter(f"*{namespace}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await engine.dispose()
        await drop_database(SERVER, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--webhooks", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.webhooks))
