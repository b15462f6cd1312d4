"""Routing benchmark: created→routed latency and routing throughput of one worker, next to a
raw arq no-op job measured in the same run with the same `poll_delay`.

    .venv/bin/python scripts/bench/routing.py [--rate 50] [--duration 20] [--quick] [--keep]

Creates `switchboard_bench_routing` on the local PostgreSQL (dropped and recreated each run),
migrates it, makes `--desks` desks each with a team of agents and 20 routing rules (through
`POST /v1/routing-rules`), serves the API (`switchboard serve`, 1 process) and runs one
`switchboard worker`, then measures

  latency     a sustained open-loop stream of `POST /v1/tickets` at `--rate` per second for
              `--duration` seconds; per ticket, routed − created, where created is the ticket's
              `created_at` (its transaction's start) and routed is its routing run's
              `created_at` (the clock when the run was written, just before the commit)
              vs a raw arq no-op job enqueued at the same rate: enqueue → start
  throughput  a backlog of `--backlog` tickets created with the worker stopped, then drained
              by one worker (a job routes its ticket and up to ROUTING_BATCH_SIZE − 1 more
              pending tickets of the desk in one transaction): tickets routed per second
              (first routing start → last run written)
              vs the same number of no-op jobs drained by one plain arq worker

and prints one table (also written to scripts/bench/results/routing-<date>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from scripts.bench import seed
from scripts.bench.common import (
    REPO_ROOT,
    Server,
    busy_pct,
    fmt,
    free_port,
    log,
    machine_cpu,
    percentile,
    render_table,
    step,
    venv_bin,
)

RESULTS = REPO_ROOT / "scripts" / "bench" / "results"
NAMESPACE = "bench_routing"
ROUTE_QUEUE = f"{NAMESPACE}:queue"
NOOP_QUEUE = f"{NAMESPACE}:noop"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
RULES_PER_DESK = 20
TEAM_SIZE = 4
P95_TARGET_MS = 100.0
THROUGHPUT_TARGET = 0.25
WORDS = [w for w in seed.VOCABULARY if len(w) > 4]


# --- the no-op arq worker (a subprocess of this script) ------------------------------------

async def noop(ctx: dict[str, Any], **_: Any) -> None:
    return None


def run_noop_worker(redis_url: str, poll_delay: float) -> None:
    """A plain arq worker with one no-op function: the baseline's worker process."""
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    Worker(functions=[func(noop, name="noop")], queue_name=NOOP_QUEUE,
           redis_settings=RedisSettings.from_dsn(redis_url), poll_delay=poll_delay,
           max_jobs=20, keep_result=600).run()


# --- processes ------------------------------------------------------------------------------

def environment(database_url: str, redis_url: str, poll_delay: float) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET_KEY, "ENVIRONMENT": "production", "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "1000000000", "REDIS_NAMESPACE": NAMESPACE,
            "WORKER_POLL_DELAY": str(poll_delay)}


def api_server(env: dict[str, str]) -> Server:
    port = free_port()
    argv = [venv_bin("switchboard"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    return Server("switchboard serve", argv, env, port, RESULTS / "logs" / "routing-api.log")


def routing_worker(env: dict[str, str]) -> Server:
    return Server("switchboard worker", [venv_bin("switchboard"), "worker"], env, 0,
                  RESULTS / "logs" / "routing-worker.log")


def noop_worker(redis_url: str, poll_delay: float) -> Server:
    argv = [sys.executable, str(Path(__file__).resolve()), "--noop-worker",
            "--redis-url", redis_url, "--poll-delay", str(poll_delay)]
    return Server("arq no-op worker", argv, dict(os.environ), 0,
                  RESULTS / "logs" / "routing-noop-worker.log")


async def wait_worker(redis: Any, queue: str, server: Server, limit_s: float = 60) -> None:
    """Until the worker's first arq health check lands in Redis (it polls from then on)."""
    key = f"{queue}:health-check"
    await redis.delete(key)
    server.start()
    deadline = time.monotonic() + limit_s
    while not await redis.exists(key):
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} not polling after {limit_s:.0f}s")
        await asyncio.sleep(0.1)


# --- setup ------------------------------------------------------------------------------------

async def make_teams(dsn: str, desk_ids: list[int]) -> dict[int, int]:
    """Per desk, a team of TEAM_SIZE active agents with access to it: {desk id: team id}."""
    conn = await asyncpg.connect(dsn)
    try:
        teams = {}
        for desk_id in desk_ids:
            team_id = await conn.fetchval(
                "INSERT INTO teams (name) VALUES ($1) RETURNING id", f"Bench team {desk_id}")
            for i in range(TEAM_SIZE):
                user_id = await conn.fetchval(
                    "INSERT INTO users (email, name, role) VALUES ($1, $2, 'agent') RETURNING id",
                    f"agent{i}-desk{desk_id}@bench.example", f"Agent {i}")
                await conn.execute("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)",
                                   team_id, user_id)
            await conn.execute("INSERT INTO desk_members (desk_id, team_id, role) "
                               "VALUES ($1, $2, 'agent')", desk_id, team_id)
            teams[desk_id] = team_id
        return teams
    finally:
        await conn.close()


def rules_for(desk_id: int, team_id: int) -> list[dict[str, Any]]:
    """20 rules: 16 keyword rules that rarely match, then priority, domain, round-robin and a
    catch-all, so every ticket is checked against all 20 and changed by a few."""
    rng = random.Random(desk_id)
    rules: list[dict[str, Any]] = []
    for i, word in enumerate(rng.sample(WORDS, RULES_PER_DESK - 4)):
        rules.append({"name": f"keyword {word}", "conditions": {"any": [
            {"field": "subject", "op": "contains", "value": word},
            {"field": "description", "op": "starts_with", "value": word}]},
            "actions": [{"type": "add_tags", "value": [f"kw-{i}"]}]})
    rules += [
        {"name": "urgent words", "conditions": {"all": [
            {"field": "subject", "op": "matches", "value": r"\b(outage|down|urgent)\b"}]},
         "actions": [{"type": "set_priority", "value": "urgent"}]},
        {"name": "bench customers", "conditions": {"all": [
            {"field": "requester.domain", "op": "ends_with", "value": "example.com"}]},
         "actions": [{"type": "set_type", "value": "question"}]},
        {"name": "round robin", "conditions": {"all": [
            {"field": "status", "op": "eq", "value": "new"}]},
         "actions": [{"type": "assign_round_robin", "value": team_id}]},
        {"name": "routed", "conditions": {},
         "actions": [{"type": "add_tags", "value": ["routed"]}]},
    ]
    return [{**r, "desk_id": desk_id, "position": i} for i, r in enumerate(rules)]


async def create_rules(client: httpx.AsyncClient, teams: dict[int, int]) -> None:
    for desk_id, team_id in teams.items():
        for rule in rules_for(desk_id, team_id):
            response = await client.post("/v1/routing-rules", json=rule)
            if response.status_code != 201:
                raise RuntimeError(f"POST /v1/routing-rules: {response.status_code} "
                                   f"{response.text[:500]}")


def ticket_body(rng: random.Random, desk_id: int, n: int, tag: str) -> dict[str, Any]:
    return {"desk_id": desk_id, "subject": " ".join(rng.choices(seed.VOCABULARY, k=6)),
            "description": " ".join(rng.choices(seed.VOCABULARY, k=25)),
            "requester": {"email": f"{tag}-{n % 500}@customers.example.com", "name": "Bench"}}


# --- measurements -----------------------------------------------------------------------------

async def stream_tickets(client: httpx.AsyncClient, desk_ids: list[int], rate: float,
                         duration: float, tag: str) -> dict[str, Any]:
    """Open loop: one POST every 1/rate s whatever the answers take; the created ids."""
    rng = random.Random(tag)
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    ids: list[int] = []
    errors: list[str] = []
    post_ms: list[float] = []

    async def one(n: int) -> None:
        began = loop.time()
        try:
            response = await client.post("/v1/tickets", json=ticket_body(
                rng, desk_ids[n % len(desk_ids)], n, tag))
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        post_ms.append((loop.time() - began) * 1000)
        if response.status_code == 201:
            ids.append(response.json()["id"])
        else:
            errors.append(f"{response.status_code} {response.text[:300]}")

    start = loop.time()
    tasks = []
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        tasks.append(asyncio.create_task(one(n)))
    sent_s = loop.time() - start
    await asyncio.gather(*tasks)
    return {"ids": ids, "errors": len(errors), "first_error": errors[0] if errors else None,
            "sent_per_s": round(total / sent_s, 1) if sent_s else None,
            "post_p50_ms": percentile(post_ms, 50), "post_p95_ms": percentile(post_ms, 95)}


async def wait_routed(dsn: str, ids: list[int], limit_s: float) -> int:
    """Until none of `ids` is pending; how many are still pending when giving up."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + limit_s
        while True:
            pending = await conn.fetchval("SELECT count(*) FROM tickets WHERE id = ANY($1) "
                                          "AND routing_state = 'pending'", ids)
            if pending == 0 or time.monotonic() > deadline:
                return int(pending)
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def routing_latencies(dsn: str, ids: list[int]) -> tuple[list[float], dict[str, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("""
            SELECT extract(epoch FROM r.created_at - t.created_at) * 1000 AS ms
            FROM routing_runs r JOIN tickets t ON t.id = r.ticket_id
            WHERE r.ticket_id = ANY($1) AND r.outcome = 'done'""", ids)
        outcomes = {r["routing_state"]: r["n"] for r in await conn.fetch(
            "SELECT routing_state, count(*) AS n FROM tickets WHERE id = ANY($1) "
            "GROUP BY routing_state", ids)}
        return [float(r["ms"]) for r in rows], outcomes
    finally:
        await conn.close()


async def routing_drain_rate(dsn: str, ids: list[int]) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("""
            SELECT count(*) AS n,
                   min(created_at - duration_ms * interval '1 millisecond') AS first,
                   max(created_at) AS last,
                   avg(duration_ms) AS avg_ms
            FROM routing_runs WHERE ticket_id = ANY($1) AND outcome = 'done'""", ids)
    finally:
        await conn.close()
    seconds = (row["last"] - row["first"]).total_seconds() if row["n"] else 0
    return {"routed": row["n"], "seconds": round(seconds, 2),
            "per_s": round(row["n"] / seconds, 1) if seconds else None,
            "avg_job_ms": round(float(row["avg_ms"] or 0), 2)}


async def noop_results(redis: Any, job_ids: list[str], limit_s: float) -> list[Any]:
    from arq.jobs import Job

    deadline = time.monotonic() + limit_s
    found: dict[str, Any] = {}
    while len(found) < len(job_ids) and time.monotonic() < deadline:
        for job_id in job_ids:
            if job_id not in found:
                info = await Job(job_id, redis, _queue_name=NOOP_QUEUE).result_info()
                if info is not None:
                    found[job_id] = info
        if len(found) < len(job_ids):
            await asyncio.sleep(0.2)
    return list(found.values())


async def noop_stream(redis: Any, rate: float, duration: float) -> dict[str, Any]:
    """No-op jobs enqueued at `rate`/s: enqueue → start per job (arq's own timestamps)."""
    loop = asyncio.get_running_loop()
    run = uuid.uuid4().hex[:8]
    job_ids = []
    start = loop.time()
    for n in range(int(rate * duration)):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        job = await redis.enqueue_job("noop", _job_id=f"{NOOP_QUEUE}:{run}:{n}",
                                      _queue_name=NOOP_QUEUE)
        job_ids.append(job.job_id)
    results = await noop_results(redis, job_ids, 60)
    waits = [(r.start_time - r.enqueue_time).total_seconds() * 1000 for r in results]
    return {"jobs": len(job_ids), "started": len(results), **latency(waits)}


async def noop_drain(redis: Any, server: Server, count: int) -> dict[str, Any]:
    """`count` no-op jobs queued with the worker stopped, then drained by one worker."""
    run = uuid.uuid4().hex[:8]
    job_ids = []
    for n in range(count):
        job = await redis.enqueue_job("noop", _job_id=f"{NOOP_QUEUE}:{run}:{n}",
                                      _queue_name=NOOP_QUEUE)
        job_ids.append(job.job_id)
    await wait_worker(redis, NOOP_QUEUE, server)
    results = await noop_results(redis, job_ids, 120)
    if not results:
        return {"drained": 0}
    seconds = (max(r.finish_time for r in results)
               - min(r.start_time for r in results)).total_seconds()
    return {"drained": len(results), "seconds": round(seconds, 2),
            "per_s": round(len(results) / seconds, 1) if seconds else None}


def latency(values_ms: list[float]) -> dict[str, Any]:
    def r(p: float) -> float | None:
        v = percentile(values_ms, p)
        return None if v is None else round(v, 1)

    return {"count": len(values_ms), "p50_ms": r(50), "p95_ms": r(95), "p99_ms": r(99),
            "max_ms": round(max(values_ms), 1) if values_ms else None}


async def clean_redis(redis: Any) -> None:
    with contextlib.suppress(Exception):
        keys = [k async for k in redis.scan_iter(match=f"*{NAMESPACE}:*", count=1000)]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])


# --- the run ----------------------------------------------------------------------------------

async def amain(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.migrate import upgrade
    from app.core.resources import redis_client

    admin_dsn = seed.server_dsn(host=args.pg_host, port=args.pg_port, user=args.pg_user)
    dsn = seed.server_dsn(args.db, host=args.pg_host, port=args.pg_port, user=args.pg_user)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    r: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                         "config": {k: getattr(args, k) for k in (
                             "rate", "duration", "desks", "backlog", "poll_delay")}
                         | {"rules_per_desk": RULES_PER_DESK, "cpus": os.cpu_count()}}
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main_task.cancel)
    env = environment(url, args.redis_url, args.poll_delay)
    api, worker = api_server(env), routing_worker(env)
    noop_server = noop_worker(args.redis_url, args.poll_delay)
    servers = [api, worker, noop_server]
    redis = redis_client(args.redis_url)
    await clean_redis(redis)
    try:
        with step(f"database {args.db}: drop, create, migrate, {args.desks} desks, teams"):
            await seed.recreate_database(admin_dsn, args.db)
            await asyncio.to_thread(upgrade, url)
            token, desk_ids = await seed.create_admin_and_desks(url, args.desks)
            teams = await make_teams(dsn, desk_ids)
        api.start()
        await api.wait_healthy("/healthz")
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30.0,
                                     limits=limits) as client:
            with step(f"{RULES_PER_DESK} rules per desk through POST /v1/routing-rules"):
                await create_rules(client, teams)
            with step("routing worker: start; warm-up stream (not recorded)"):
                await wait_worker(redis, ROUTE_QUEUE, worker)
                warm = await stream_tickets(client, desk_ids, args.rate, 2, "warm")
                await wait_routed(dsn, warm["ids"], 60)

            with step(f"latency: {args.rate:g} tickets/s for {args.duration:g}s"):
                before = machine_cpu()
                sent = await stream_tickets(client, desk_ids, args.rate, args.duration, "load")
                left = await wait_routed(dsn, sent["ids"], 120)
                cpu = busy_pct(before, machine_cpu())
                values, states = await routing_latencies(dsn, sent["ids"])
                r["latency"] = {**latency(values), **{k: v for k, v in sent.items()
                                                       if k != "ids"},
                                "created": len(sent["ids"]), "still_pending": left,
                                "routing_states": states, "machine_cpu_pct": cpu}
                log(f"   routed p50 {r['latency']['p50_ms']} ms, p95 {r['latency']['p95_ms']} "
                    f"ms, p99 {r['latency']['p99_ms']} ms; states {states}")

            with step(f"throughput: {args.backlog} tickets queued, then one worker drains them"):
                worker.stop()
                backlog: list[int] = []
                rng = random.Random(9)

                async def create(i: int, n: int) -> str | None:
                    response = await client.post("/v1/tickets", json=ticket_body(
                        rng, desk_ids[(i + n) % len(desk_ids)], n, f"drain{i}"))
                    if response.status_code != 201:
                        return f"{response.status_code} {response.text[:200]}"
                    backlog.append(response.json()["id"])
                    return None

                await _fill(create, args.backlog, backlog)
                await wait_worker(redis, ROUTE_QUEUE, worker)  # polling: imports behind it
                before, cpu_before = machine_cpu(), worker.cpu_seconds()
                left = await wait_routed(dsn, backlog, 300)
                r["throughput"] = {**await routing_drain_rate(dsn, backlog), "still_pending": left,
                                   "worker_cpu_ms_per_ticket": round(
                                       (worker.cpu_seconds() - cpu_before) * 1000
                                       / max(len(backlog), 1), 2),
                                   "machine_cpu_pct": busy_pct(before, machine_cpu())}
                log(f"   {r['throughput']}")
        worker.stop()

        with step(f"raw arq no-op: {args.rate:g} jobs/s for {args.duration:g}s, then a drain"):
            await wait_worker(redis, NOOP_QUEUE, noop_server)
            r["noop_latency"] = await noop_stream(redis, args.rate, args.duration)
            noop_server.stop()
            r["noop_throughput"] = await noop_drain(redis, noop_server, args.noop_backlog)
            log(f"   latency {r['noop_latency']}; drain {r['noop_throughput']}")
    finally:
        for server in servers:
            server.stop()
        await clean_redis(redis)
        await redis.aclose()
        if not args.keep:
            with contextlib.suppress(Exception):
                await seed.drop_database(admin_dsn, args.db)
                log(f"dropped database {args.db} (use --keep to keep it)")
    r["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return r


async def _fill(create: Any, count: int, made: list[int]) -> None:
    """Create `count` tickets with 20 concurrent clients."""
    counter = iter(range(count))

    async def client_loop(i: int) -> None:
        for n in counter:
            failure = await create(i, n)
            if failure:
                raise RuntimeError(failure)

    await asyncio.gather(*(client_loop(i) for i in range(20)))


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    lat, noop = r.get("latency", {}), r.get("noop_latency", {})
    thr, noop_thr = r.get("throughput", {}), r.get("noop_throughput", {})

    def ratio(a: Any, b: Any) -> str:
        return f"{a / b:.2f}x" if a and b else "n/a"

    rows = []
    for p in ("p50", "p95", "p99"):
        ours, raw = lat.get(f"{p}_ms"), noop.get(f"{p}_ms")
        target = f"<= {P95_TARGET_MS:g} ms" if p == "p95" else ""
        met = ("yes" if ours is not None and ours <= P95_TARGET_MS else "no") if target else ""
        rows.append([f"created->routed {p} (ms) vs enqueue->start", fmt(ours), fmt(raw),
                     ratio(ours, raw), target, met])
    ours, raw = thr.get("per_s"), noop_thr.get("per_s")
    met = "yes" if ours and raw and ours / raw >= THROUGHPUT_TARGET else "no"
    rows.append(["routed tickets/s vs no-op jobs/s (1 worker)", fmt(ours), fmt(raw),
                 ratio(ours, raw), f">= {THROUGHPUT_TARGET:g}x", met])
    rows.append(["offered rate (tickets or jobs/s)", fmt(lat.get("sent_per_s")),
                 fmt(r.get("config", {}).get("rate")), "", "", ""])
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=50.0, help="tickets (and no-op jobs) per second")
    p.add_argument("--duration", type=float, help="seconds of the sustained stream (default 20)")
    p.add_argument("--desks", type=int, default=4)
    p.add_argument("--backlog", type=int, help="tickets for the throughput drain (default 2000)")
    p.add_argument("--noop-backlog", type=int, default=5000)
    p.add_argument("--poll-delay", type=float, default=0.05, help="WORKER_POLL_DELAY of both")
    p.add_argument("--quick", action="store_true", help="short and small: for development")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--db", default="switchboard_bench_routing")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    p.add_argument("--noop-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    args.backlog = args.backlog or (300 if args.quick else 2000)
    if args.quick:
        args.noop_backlog = min(args.noop_backlog, 1000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.noop_worker:
        run_noop_worker(args.redis_url, args.poll_delay)
        return 0
    try:
        results = asyncio.run(amain(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    rows = table_rows(results)
    results["table"] = [dict(zip(("metric", "routing", "raw_arq", "ratio", "target", "met"),
                                 row, strict=True)) for row in rows]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"routing-{datetime.now(UTC):%Y-%m-%d}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(f"Routing benchmark — {args.desks} desks × {RULES_PER_DESK} rules, one worker, "
          f"poll_delay {args.poll_delay:g}s, {os.cpu_count()} CPUs")
    print(render_table(rows, header=("metric", "routing", "raw arq", "ratio", "target", "met")))
    lat = results.get("latency", {})
    print(f"  - stream: {lat.get('created')} tickets created, {lat.get('errors')} errors, "
          f"POST p50 {fmt(lat.get('post_p50_ms'))} ms / p95 {fmt(lat.get('post_p95_ms'))} ms, "
          f"machine CPU {lat.get('machine_cpu_pct')}% busy")
    thr = results.get("throughput", {})
    print(f"  - drain: {thr.get('routed')} tickets in {thr.get('seconds')} s, "
          f"{thr.get('avg_job_ms')} ms routing each ticket on average (lock waits included), "
          f"worker CPU {thr.get('worker_cpu_ms_per_ticket')} ms per ticket, "
          f"machine CPU {thr.get('machine_cpu_pct')}% busy")
    print(f"\nresults: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
