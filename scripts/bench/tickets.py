"""Tickets benchmark: the API next to raw baselines measured in the same run.

    .venv/bin/python scripts/bench/tickets.py [--tickets 1000000] [--quick] [--keep]

Creates `switchboard_bench` on the local PostgreSQL (dropped and recreated each run), migrates it,
seeds 20 desks, customers and N tickets with COPY, then measures

  create  POST /v1/tickets, 20 concurrent clients, 1 and 2 workers
          vs raw asyncpg INSERTs and a minimal FastAPI + SQLAlchemy endpoint (minimal_app.py);
          then the same load into one desk, against the 20 desks' run (what creates in one
          desk share must not serialise them)
  list    GET /v1/tickets?desk_id=&limit=50 following next_cursor, 1 client
          vs the raw keyset SELECT
  search  GET /v1/tickets?desk_id=&q=WORD for a rare and a common word, 1 client
          vs the raw `search @@ websearch_to_tsquery` SELECT
  export  GET /v1/tickets/export.csv over the biggest desk: rows/s and server peak RSS
          vs raw `COPY (SELECT …) TO STDOUT`

and prints one table (also written to scripts/bench/results/tickets-<date>.json), plus
EXPLAIN ANALYZE of the API's own queries (scripts/bench/results/tickets-<date>-explain.txt).
A part the API does not answer yet (404/405) or that fails is reported as n/a; the run goes on.
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
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from scripts.bench import cpu_profile, explain, seed
from scripts.bench.common import (
    REPO_ROOT,
    Server,
    busy_pct,
    closed_loop,
    fmt,
    free_port,
    latency_summary,
    log,
    machine_cpu,
    pg_activity,
    render_table,
    step,
    venv_bin,
)

RESULTS = REPO_ROOT / "scripts" / "bench" / "results"
REDIS_NAMESPACE = "bench"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
TICKET_COLUMNS = ("id, desk_id, number, subject, description, status, priority, type, "
                  "requester_id, organization_id, assignee_id, team_id, tags, custom_fields, "
                  "due_at, source, routing_state, first_responded_at, solved_at, version, "
                  "created_at, updated_at")
EXPORT_SQL = """
    SELECT t.id, t.desk_id, t.number, t.subject, t.status, t.priority, c.email, t.assignee_id,
           array_to_string(t.tags, ' '), t.created_at, t.updated_at
    FROM tickets t JOIN customers c ON c.id = t.requester_id
    WHERE t.desk_id = {desk_id} ORDER BY t.created_at DESC, t.id DESC"""
NOT_IMPLEMENTED = {404, 405}
ALL_PARTS = ("reads", "explain", "profile", "create")
WARMUP_S = 1.0


class NotAvailable(Exception):
    """The API cannot be measured for this part (not implemented yet, or failing)."""


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(seed.VOCABULARY, k=rng.randint(low, high)))


def failure(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:500]}"


async def guarded(results: dict[str, Any], key: str, coro: Any) -> None:
    """Run one part; on any failure record n/a with the reason and carry on."""
    try:
        results[key] = await coro
    except Exception as exc:
        message = str(exc) if isinstance(exc, NotAvailable) else f"{type(exc).__name__}: {exc}"
        log(f"!! {key}: n/a ({message[:300]})")
        results[key] = {"error": message[:2000]}
        if not isinstance(exc, NotAvailable):
            results[key]["traceback"] = traceback.format_exc(limit=4)


# --- create ------------------------------------------------------------------------------------

async def create_scratch_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("""
            DROP TABLE IF EXISTS bench_scratch_tickets;
            CREATE TABLE bench_scratch_tickets (LIKE tickets INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
            CREATE SEQUENCE bench_scratch_tickets_id_seq OWNED BY bench_scratch_tickets.id;
            ALTER TABLE bench_scratch_tickets
                ALTER COLUMN id SET DEFAULT nextval('bench_scratch_tickets_id_seq'),
                ADD PRIMARY KEY (id);""")
    finally:
        await conn.close()


async def raw_inserts(dsn: str, concurrency: int, duration: float) -> dict[str, Any]:
    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    rng = random.Random(1)
    sql = f"""INSERT INTO bench_scratch_tickets
                  (desk_id, number, subject, description, status, priority, requester_id, search)
              VALUES ($1, 0, $2::text, $3::text, 'new', 1, 0,
                      {seed.SEARCH_VECTOR_SQL.replace('subject', '$2::text')
                       .replace('description', '$3::text')})
              RETURNING id"""

    async def op(worker: int, n: int) -> str | None:
        await conns[worker].fetchval(sql, 1 + (worker + n) % 20, words(rng, 4, 8),
                                     words(rng, 15, 45))
        return None

    try:
        result = await closed_loop(op, concurrency=concurrency, duration=duration)
    finally:
        for conn in conns:
            await conn.close()
    return result.as_dict()


def create_body(rng: random.Random, desk_id: int, email: str) -> dict[str, Any]:
    return {"desk_id": desk_id, "subject": words(rng, 4, 8), "description": words(rng, 15, 45),
            "requester": {"email": email, "name": "Bench Requester"}}


async def http_creates(server: Server, path: str, headers: dict[str, str], desk_ids: list[int],
                       concurrency: int, duration: float, tag: str, dsn: str, database: str,
                       *, latencies: bool = False) -> dict[str, Any]:
    """`concurrency` httpx clients POSTing tickets back to back; any non-201 is an error."""
    rng = random.Random(2)
    run = f"{tag}-{time.time_ns() % 10**9}"
    clients = [httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30.0)
               for _ in range(concurrency)]
    try:
        probe = await clients[0].post(path, json=create_body(
            rng, desk_ids[0], f"probe-{run}@example.com"))
        if probe.status_code in NOT_IMPLEMENTED:
            raise NotAvailable(f"POST {path} answered {failure(probe)}")
        if probe.status_code != 201:
            log(f"   first POST {path} answered {failure(probe)}")

        async def op(worker: int, n: int) -> str | None:
            body = create_body(rng, desk_ids[(worker + n) % len(desk_ids)],
                               f"bench-{run}-{worker}-{n}@example.com")
            response = await clients[worker].post(path, json=body)
            return None if response.status_code == 201 else failure(response)

        idle_before = machine_cpu()
        await asyncio.sleep(1.0)  # what else keeps this machine busy (other users, tests)
        summary_background = busy_pct(idle_before, machine_cpu())
        cpu_before, machine_before = server.cpu_seconds(), machine_cpu()
        async with pg_activity(dsn, database) as activity:
            result = await closed_loop(op, concurrency=concurrency, duration=duration,
                                       warmup=WARMUP_S)
        summary = result.as_dict()
        # Over warm-up + measurement: 100% = one core busy; machine: 100% = every core.
        summary["server_cpu_pct"] = round(
            (server.cpu_seconds() - cpu_before) / (duration + WARMUP_S) * 100, 1)
        summary["machine_cpu_pct"] = busy_pct(machine_before, machine_cpu())
        summary["machine_cpu_pct_before_load"] = summary_background
        summary["postgres_activity"] = activity
        if latencies:  # to merge runs (`one_desk_vs_spread`)
            summary["latencies_ms"] = result.latencies_ms
        if result.first_error:
            log(f"   {result.errors} errors; first: {result.first_error[:300]}")
        return summary
    finally:
        for client in clients:
            await client.aclose()


async def one_desk_vs_spread(server: Server, headers: dict[str, str], seeded: seed.Seeded,
                             args: argparse.Namespace, dsn: str, w: int) -> dict[str, Any]:
    """The create load over every desk ("spread") and into the biggest desk ("one_desk"),
    `args.rounds` runs of each, alternated (and which goes first, too) on one server, so a
    machine busy with other work weighs on both alike; each merged over its runs."""
    runs: dict[str, list[dict[str, Any]]] = {"spread": [], "one_desk": []}
    kinds = [("spread", seeded.desk_ids), ("one_desk", [seeded.big_desk_id])]
    for i in range(args.rounds):
        for key, desk_ids in (kinds if i % 2 == 0 else kinds[::-1]):
            runs[key].append(await http_creates(
                server, "/v1/tickets", headers, desk_ids, args.concurrency, args.duration,
                f"api{w}-{key}-{i}", dsn, args.db, latencies=True))
    return {key: _merged(parts) for key, parts in runs.items()}


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of one load as one: counts added, latencies pooled, CPU and waits per run."""
    ok, errors = sum(p["ok"] for p in parts), sum(p["errors"] for p in parts)
    duration = sum(p["duration_s"] for p in parts)
    pooled = [ms for p in parts for ms in p.pop("latencies_ms")]
    first = next((p["first_error"] for p in parts if p.get("first_error")), None)
    return {"duration_s": round(duration, 2), "ok": ok, "errors": errors,
            "per_s": round(ok / duration, 1) if duration else None, **latency_summary(pooled),
            "first_error": first, "runs": parts,
            **{k: parts[-1][k] for k in ("client_cpu_pct", "server_cpu_pct", "machine_cpu_pct",
                                         "machine_cpu_pct_before_load", "postgres_activity")}}


# --- list and search --------------------------------------------------------------------------

async def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await call
    return (time.perf_counter() - started) * 1000, value


async def api_list(client: httpx.AsyncClient, desk_ids: list[int], requests: int,
                   pages: int) -> dict[str, Any]:
    """Sequential pages: each desk in turn, following next_cursor `pages` deep."""
    latencies: list[float] = []
    items = 0
    for warm in range(5):
        await client.get("/v1/tickets", params={"desk_id": desk_ids[warm], "limit": 50})
    desk_index, cursor, depth = 0, None, 0
    for _ in range(requests):
        params: dict[str, Any] = {"desk_id": desk_ids[desk_index], "limit": 50}
        if cursor:
            params["cursor"] = cursor
        ms, response = await timed(client.get("/v1/tickets", params=params))
        if response.status_code != 200:
            if response.status_code in NOT_IMPLEMENTED or not latencies:
                raise NotAvailable(f"GET /v1/tickets answered {failure(response)}")
            raise RuntimeError(f"GET /v1/tickets answered {failure(response)}")
        latencies.append(ms)
        page = response.json()
        items += len(page["items"])
        cursor, depth = page.get("next_cursor"), depth + 1
        if not cursor or depth >= pages:
            desk_index, cursor, depth = (desk_index + 1) % len(desk_ids), None, 0
    return {**latency_summary(latencies), "items": items}


async def raw_list(conn: asyncpg.Connection, desk_ids: list[int], requests: int,
                   pages: int) -> dict[str, Any]:
    first = await conn.prepare(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE desk_id = $1 "
                               "ORDER BY created_at DESC, id DESC LIMIT 50")
    after = await conn.prepare(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE desk_id = $1 "
                               "AND (created_at, id) < ($2, $3) "
                               "ORDER BY created_at DESC, id DESC LIMIT 50")
    latencies: list[float] = []
    items = 0
    for warm in range(5):
        await first.fetch(desk_ids[warm])
    desk_index, last, depth = 0, None, 0
    for _ in range(requests):
        desk_id = desk_ids[desk_index]
        call = first.fetch(desk_id) if last is None else after.fetch(desk_id, *last)
        ms, rows = await timed(call)
        latencies.append(ms)
        items += len(rows)
        last, depth = ((rows[-1]["created_at"], rows[-1]["id"]) if len(rows) == 50 else None,
                       depth + 1)
        if last is None or depth >= pages:
            desk_index, last, depth = (desk_index + 1) % len(desk_ids), None, 0
    return {**latency_summary(latencies), "items": items}


async def api_search(client: httpx.AsyncClient, desk_ids: list[int], word: str,
                     requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    hits = 0
    for warm in range(3):
        await client.get("/v1/tickets", params={"desk_id": desk_ids[warm], "q": word,
                                                "limit": 50})
    for i in range(requests):
        params = {"desk_id": desk_ids[i % len(desk_ids)], "q": word, "limit": 50}
        ms, response = await timed(client.get("/v1/tickets", params=params))
        if response.status_code != 200:
            if response.status_code in NOT_IMPLEMENTED or not latencies:
                raise NotAvailable(f"GET /v1/tickets?q= answered {failure(response)}")
            raise RuntimeError(f"GET /v1/tickets?q= answered {failure(response)}")
        latencies.append(ms)
        hits += len(response.json()["items"])
    return {**latency_summary(latencies), "hits_per_request": round(hits / requests, 1)}


async def raw_search(conn: asyncpg.Connection, desk_ids: list[int], word: str,
                     requests: int) -> dict[str, Any]:
    stmt = await conn.prepare(
        "SELECT id FROM tickets WHERE desk_id = $1 "
        "AND search @@ websearch_to_tsquery('english', $2) ORDER BY id DESC LIMIT 50")
    for warm in range(3):
        await stmt.fetch(desk_ids[warm], word)
    latencies: list[float] = []
    hits = 0
    for i in range(requests):
        ms, rows = await timed(stmt.fetch(desk_ids[i % len(desk_ids)], word))
        latencies.append(ms)
        hits += len(rows)
    return {**latency_summary(latencies), "hits_per_request": round(hits / requests, 1)}


# --- export -----------------------------------------------------------------------------------

async def api_export(server: Server, client: httpx.AsyncClient, desk_id: int,
                     **filters: str) -> dict[str, Any]:
    before = server.memory_kb()
    peak_rss = before["VmRSS"]
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, server.memory_kb()["VmRSS"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.05)

    sampler = asyncio.create_task(sample())
    size = lines = 0
    started = time.perf_counter()
    try:
        async with client.stream("GET", "/v1/tickets/export.csv",
                                 params={"desk_id": desk_id, **filters},
                                 timeout=600.0) as response:
            if response.status_code != 200:
                await response.aread()
                error = NotAvailable if response.status_code in NOT_IMPLEMENTED else RuntimeError
                raise error(f"GET /v1/tickets/export.csv answered {failure(response)}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        await sampler
    after = server.memory_kb()
    peak = max(peak_rss, after["VmHWM"] if after["VmHWM"] > before["VmHWM"] else 0)
    rows = max(lines - 1, 0)
    return {"rows": rows, "seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed),
            "bytes": size, "rss_before_kb": before["VmRSS"], "hwm_before_kb": before["VmHWM"],
            "hwm_after_kb": after["VmHWM"], "peak_rss_during_kb": peak,
            "rss_growth_kb": peak - before["VmRSS"]}


async def raw_export(conn: asyncpg.Connection, desk_id: int) -> dict[str, Any]:
    size = lines = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size, lines
        size += len(chunk)
        lines += chunk.count(b"\n")

    started = time.perf_counter()
    await conn.copy_from_query(EXPORT_SQL.format(desk_id=int(desk_id)), output=sink,
                               format="csv", header=True)
    elapsed = time.perf_counter() - started
    rows = lines - 1
    return {"rows": rows, "seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed),
            "bytes": size}


# --- servers ----------------------------------------------------------------------------------

def api_server(database_url: str, redis_url: str, workers: int) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": SECRET_KEY, "ENVIRONMENT": "production",
           "RATE_LIMIT_PER_MINUTE": "1000000000", "LOG_LEVEL": "WARNING",
           "REDIS_NAMESPACE": REDIS_NAMESPACE}
    argv = [venv_bin("switchboard"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    return Server(f"switchboard serve --workers {workers}", argv, env, port,
                  RESULTS / "logs" / f"api-{workers}w.log")


def minimal_server(database_url: str, workers: int) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    argv = [venv_bin("uvicorn"), "scripts.bench.minimal_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log",
            "--log-level", "warning"]
    return Server(f"minimal app --workers {workers}", argv, env, port,
                  RESULTS / "logs" / f"minimal-{workers}w.log")


@contextlib.asynccontextmanager
async def running(server: Server, servers: list[Server]):
    servers.append(server)
    log(f"starting {server.name} on :{server.port}")
    server.start()
    try:
        await server.wait_healthy("/healthz")
        yield server
    finally:
        server.stop()
        servers.remove(server)


async def clean_redis(redis_url: str) -> None:
    """Drop what the benchmark's servers left in Redis: their namespace and the arq jobs they
    enqueued to `bench:queue` (no worker runs during the benchmark)."""
    try:
        from redis.asyncio import Redis
    except ImportError:
        return
    redis = Redis.from_url(redis_url)
    try:
        job_ids = await redis.zrange(f"{REDIS_NAMESPACE}:queue", 0, -1)
        for i in range(0, len(job_ids), 1000):
            await redis.delete(*(b"arq:job:" + j for j in job_ids[i:i + 1000]))
        keys = [k async for k in redis.scan_iter(match=f"{REDIS_NAMESPACE}:*", count=1000)]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])
    except Exception as exc:
        log(f"!! could not clean Redis: {exc}")
    finally:
        await redis.aclose()


# --- the table --------------------------------------------------------------------------------

def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _ratio(a: Any, b: Any) -> str:
    return f"{a / b:.2f}x" if isinstance(a, int | float) and isinstance(b, int | float) and b else "n/a"


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    create = r.get("create", {})
    for w in r["config"]["workers"]:
        api, minimal = create.get(f"api_{w}w", {}), create.get(f"minimal_{w}w", {})
        a, m = api.get("per_s"), minimal.get("per_s")
        rows.append([f"create req/s ({w} worker{'s' * (w > 1)})", fmt(a), fmt(m), _ratio(a, m),
                     ">= 0.5x minimal",
                     _met(a / m >= 0.5 if a is not None and m else None)])
        a, m = api.get("p50_ms"), minimal.get("p50_ms")
        rows.append([f"create p50 ms ({w}w)", fmt(a), fmt(m), _ratio(a, m), "", ""])
        a, m = api.get("p99_ms"), minimal.get("p99_ms")
        rows.append([f"create p99 ms ({w}w)", fmt(a), fmt(m), _ratio(a, m), "<= 150 ms",
                     _met(a <= 150 if a is not None else None)])
        rows.append([f"create errors ({w}w)", fmt(api.get("errors")),
                     fmt(minimal.get("errors")), "", "0",
                     _met(api.get("errors") == 0 if "errors" in api else None)])
        # One desk against the 20 desks, alternated on one server (baseline: the 20 desks).
        one, spread = create.get(f"api_{w}w_one_desk", {}), create.get(f"api_{w}w_spread", {})
        a, b = one.get("per_s"), spread.get("per_s")
        rows.append([f"create req/s one desk ({w}w)", fmt(a), fmt(b), _ratio(a, b),
                     ">= 0.9x 20 desks", _met(a / b >= 0.9 if a is not None and b else None)])
        a, b = one.get("p99_ms"), spread.get("p99_ms")
        rows.append([f"create p99 ms one desk ({w}w)", fmt(a), fmt(b), _ratio(a, b),
                     "<= 1.5x 20 desks", _met(a / b <= 1.5 if a is not None and b else None)])
    raw = create.get("raw_insert", {})
    api1 = _get(create, f"api_{r['config']['workers'][0]}w", "per_s")
    rows.append(["create vs raw INSERT rows/s", fmt(api1), fmt(raw.get("per_s")),
                 _ratio(api1, raw.get("per_s")), "(info: 20 conns)", ""])
    lst = r.get("list", {})
    for p in ("p50", "p99"):
        a, b = _get(lst, "api", f"{p}_ms"), _get(lst, "raw", f"{p}_ms")
        rows.append([f"list {p} ms", fmt(a, 2), fmt(b, 2), _ratio(a, b),
                     "<= 30 ms" if p == "p99" else "",
                     _met(a <= 30 if p == "p99" and a is not None else None)])
    for kind in ("rare", "common"):
        s = _get(r, "search", kind) or {}
        for p in ("p50", "p99"):
            a, b = _get(s, "api", f"{p}_ms"), _get(s, "raw", f"{p}_ms")
            rows.append([f"search {kind} '{s.get('word', '?')}' {p} ms", fmt(a, 2), fmt(b, 2),
                         _ratio(a, b), "<= 60 ms" if p == "p99" else "",
                         _met(a <= 60 if p == "p99" and a is not None else None)])
    prof = r.get("profile", {})
    a, m = _get(prof, "api_create", "cpu_ms_per_request"), _get(prof, "minimal_create",
                                                               "cpu_ms_per_request")
    rows.append(["create CPU ms/request (in-process)", fmt(a, 2), fmt(m, 2), _ratio(a, m),
                 "(info)", ""])
    for name, label in (("api_list", "list"), ("api_search_rare", "search rare"),
                        ("api_search_common", "search common")):
        rows.append([f"{label} CPU ms/request (in-process)",
                     fmt(_get(prof, name, "cpu_ms_per_request"), 2), "", "", "(info)", ""])
    ex = r.get("export", {})
    a, b = _get(ex, "api", "rows_per_s"), _get(ex, "raw", "rows_per_s")
    rows.append([f"export rows/s ({fmt(_get(ex, 'api', 'rows') or _get(ex, 'raw', 'rows'))} rows)",
                 fmt(a), fmt(b), _ratio(a, b), "", ""])
    growth, data = _get(ex, "api", "rss_growth_kb"), _get(ex, "api", "bytes")
    rows.append(["export peak RSS growth MB (vs CSV MB)",
                 fmt(growth / 1024 if growth is not None else None),
                 fmt(data / 2**20 if data else None),
                 _ratio(growth * 1024 if growth is not None else None, data),
                 "flat: <= 0.25x CSV",
                 # Too small an export says nothing about streaming: judge 10 MB and more.
                 _met(growth * 1024 <= 0.25 * data
                      if growth is not None and data and data >= 10 * 2**20 else None)])
    return rows


def notes(r: dict[str, Any]) -> list[str]:
    """Every part that was n/a or saw errors, with the reason (first error body)."""
    out: list[str] = []

    def walk(d: dict[str, Any], path: str) -> None:
        if d.get("error"):
            out.append(f"{path}: n/a — {str(d['error'])[:300]}")
        elif d.get("first_error"):
            out.append(f"{path}: {d.get('errors')} errors, first — {d['first_error'][:300]}")
        for key, value in d.items():
            if isinstance(value, dict):
                walk(value, f"{path}.{key}")

    for section in ("create", "list", "search", "export", "profile", "explain"):
        if isinstance(r.get(section), dict):
            walk(r[section], section)
    return out


def context(r: dict[str, Any]) -> list[str]:
    """How busy the machine and PostgreSQL were during each create run (to read ratios by)."""
    out: list[str] = []
    for key, c in (r.get("create") or {}).items():
        if not isinstance(c, dict) or "per_s" not in c or "server_cpu_pct" not in c:
            continue
        pg = c.get("postgres_activity") or {}
        waits = ", ".join(f"{k} {v}%" for k, v in list(pg.get("share_pct", {}).items())[:3])
        out.append(f"{key}: CPU client {c['client_cpu_pct']}%, server {c['server_cpu_pct']}% "
                   f"(100% = one core), machine {c['machine_cpu_pct']}% of all cores (idle "
                   f"before load: {c['machine_cpu_pct_before_load']}%); PostgreSQL: "
                   f"{pg.get('avg_busy_backends')} non-idle backends, {waits}")
    return out


# --- main -------------------------------------------------------------------------------------

async def measure_reads(r: dict[str, Any], args: argparse.Namespace, dsn: str, url: str,
                        redis_url: str, seeded: seed.Seeded, servers: list[Server]) -> None:
    desk_ids = seeded.desk_ids
    headers = {"Authorization": f"Bearer {seeded.admin_token}"}
    big = seeded.big_desk_id
    conn = await asyncpg.connect(dsn)
    try:
        async with running(api_server(url, redis_url, 1), servers) as server, \
                httpx.AsyncClient(base_url=server.base_url, headers=headers,
                                  timeout=60.0) as client:
            r["export"] = {"desk_id": big, "desk_tickets": seeded.tickets_per_desk.get(big)}
            with step(f"export: raw COPY of desk {big}"):
                await guarded(r["export"], "raw", raw_export(conn, big))
            # The first export of a process allocates once (imports, caches, buffers: ~10 MB
            # whatever the size): warm that up with another desk's export first, so the
            # measured growth is what the size costs. The warm-up's growth is kept too.
            other = next(d for d in desk_ids if d != big)
            with step(f"export: warm-up, desk {other}"):
                await guarded(r["export"], "api_warmup", api_export(server, client, other))
            with step(f"export: GET /v1/tickets/export.csv?desk_id={big}"):
                await guarded(r["export"], "api", api_export(server, client, big))

            r["list"] = {"requests": args.list_requests, "pages_per_desk": args.pages}
            with step(f"list: raw keyset SELECT × {args.list_requests}"):
                await guarded(r["list"], "raw", raw_list(conn, desk_ids, args.list_requests,
                                                         args.pages))
            with step(f"list: GET /v1/tickets × {args.list_requests}"):
                await guarded(r["list"], "api", api_list(client, desk_ids, args.list_requests,
                                                         args.pages))

            r["search"] = {}
            for kind, word in (("rare", seed.RARE_WORDS[0]), ("common", seed.COMMON_WORD)):
                part = r["search"][kind] = {"word": word, "requests": args.search_requests}
                with step(f"search {kind} '{word}': raw SELECT × {args.search_requests}"):
                    await guarded(part, "raw", raw_search(conn, desk_ids, word,
                                                          args.search_requests))
                with step(f"search {kind} '{word}': GET /v1/tickets?q= × "
                          f"{args.search_requests}"):
                    await guarded(part, "api", api_search(client, desk_ids, word,
                                                          args.search_requests))
    finally:
        await conn.close()


async def measure_creates(r: dict[str, Any], args: argparse.Namespace, dsn: str, url: str,
                          redis_url: str, seeded: seed.Seeded, servers: list[Server]) -> None:
    headers = {"Authorization": f"Bearer {seeded.admin_token}"}
    create = r["create"] = {"concurrency": args.concurrency, "duration_s": args.duration}
    with step(f"create: raw asyncpg INSERTs, {args.concurrency} connections, "
              f"{args.duration:.0f}s"):
        await guarded(create, "raw_insert", raw_inserts(dsn, args.concurrency, args.duration))
    for w in args.workers:
        async def minimal(w: int = w) -> dict[str, Any]:
            async with running(minimal_server(url, w), servers) as server:
                return await http_creates(server, "/tickets", {}, seeded.desk_ids,
                                          args.concurrency, args.duration, f"min{w}", dsn,
                                          args.db)

        async def api(w: int = w) -> dict[str, Any]:
            async with running(api_server(url, redis_url, w), servers) as server:
                return await http_creates(server, "/v1/tickets", headers, seeded.desk_ids,
                                          args.concurrency, args.duration, f"api{w}", dsn,
                                          args.db)

        with step(f"create: minimal app, {w} worker(s)"):
            await guarded(create, f"minimal_{w}w", minimal())
        with step(f"create: POST /v1/tickets over {len(seeded.desk_ids)} desks, "
                  f"{w} worker(s)"):
            await guarded(create, f"api_{w}w", api())
        # The same load into one desk (the biggest: most companies have one main desk) next to
        # the 20 desks, alternated on one server: what creates in one desk share (its ticket
        # numbers) must not serialise them.
        async def paired(w: int = w) -> dict[str, Any]:
            async with running(api_server(url, redis_url, w), servers) as server:
                return await one_desk_vs_spread(server, headers, seeded, args, dsn, w)

        with step(f"create: POST /v1/tickets into one desk ({seeded.big_desk_id}) vs 20 desks, "
                  f"{args.rounds} rounds each, {w} worker(s)"):
            await guarded(create, f"desks_{w}w", paired())
        pairs = create[f"desks_{w}w"]
        for key in ("spread", "one_desk"):
            if isinstance(pairs.get(key), dict):
                create[f"api_{w}w_{key}"] = pairs[key]
        for key in (f"minimal_{w}w", f"api_{w}w", f"api_{w}w_spread", f"api_{w}w_one_desk"):
            if key not in create:
                continue
            if "per_s" in create[key]:
                c = create[key]
                log(f"   {key}: {c['per_s']} req/s, p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, "
                    f"errors {c['errors']}, CPU: client {c['client_cpu_pct']}%, "
                    f"server {c.get('server_cpu_pct')}%, machine {c.get('machine_cpu_pct')}% "
                    f"(idle machine before: {c.get('machine_cpu_pct_before_load')}%)")
                pg = c.get("postgres_activity", {})
                top = list(pg.get("share_pct", {}).items())[:4]
                log(f"   postgres: {pg.get('avg_busy_backends')} busy backends on average; "
                    + ", ".join(f"{k} {v}%" for k, v in top))


async def reuse_seed(dsn: str, url: str) -> seed.Seeded:
    token, _ = await seed.create_admin_and_desks(url, 0)
    conn = await asyncpg.connect(dsn)
    try:
        counts = {r["desk_id"]: r["n"] for r in await conn.fetch(
            "SELECT desk_id, count(*) AS n FROM tickets GROUP BY desk_id ORDER BY desk_id")}
        desk_ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM desks WHERE name LIKE 'Bench desk %' ORDER BY id")]
        customers = await conn.fetchval("SELECT count(*) FROM customers")
    finally:
        await conn.close()
    if not counts:
        raise SystemExit("--reuse: the database holds no tickets; run without --reuse first")
    big = max(counts, key=lambda d: counts[d])
    return seed.Seeded(token, desk_ids, counts, big, customers, {})


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.migrate import upgrade

    admin_dsn = seed.server_dsn(host=args.pg_host, port=args.pg_port, user=args.pg_user)
    dsn = seed.server_dsn(args.db, host=args.pg_host, port=args.pg_port, user=args.pg_user)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    started = datetime.now(UTC)
    r: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "config": {"tickets": args.tickets, "customers": args.customers, "quick": args.quick,
                   "workers": args.workers, "concurrency": args.concurrency,
                   "duration_s": args.duration, "database": args.db, "cpus": os.cpu_count()},
    }
    servers: list[Server] = []
    # SIGTERM (and SIGINT, even where a shell ignores it) cancel the run: the finally below
    # still stops every server it started.
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main_task.cancel)
    await clean_redis(args.redis_url)
    try:
        conn = await asyncpg.connect(admin_dsn)
        r["config"]["postgres"] = await conn.fetchval("SHOW server_version")
        await conn.close()
        if args.reuse:
            seeded = await reuse_seed(dsn, url)
        else:
            with step(f"database {args.db}: drop, create, migrate"):
                await seed.recreate_database(admin_dsn, args.db)
                await asyncio.to_thread(upgrade, url)
            seeded = await seed.seed(dsn, url, tickets=args.tickets, customers=args.customers)
        r["seed"] = {"seconds": seeded.seconds, "tickets_per_desk": seeded.tickets_per_desk,
                     "customers": seeded.customers, "big_desk_id": seeded.big_desk_id}
        await create_scratch_table(dsn)  # the baselines' table (raw INSERTs, minimal app)

        if "reads" in args.parts:
            await measure_reads(r, args, dsn, url, args.redis_url, seeded, servers)
        if "explain" in args.parts:
            with step("EXPLAIN ANALYZE of the API's own queries"):
                r["explain"] = await explain.probe(url, seeded.desk_ids[1], {
                    "rare": seed.RARE_WORDS[0], "common": seed.COMMON_WORD})
        if "profile" in args.parts:
            with step(f"CPU per request, in-process under cProfile × {args.profile_requests}"):
                try:
                    r["profile"], r["_profile_text"] = await cpu_profile.run(
                        url, args.redis_url, seeded.admin_token, seeded.desk_ids,
                        {"rare": seed.RARE_WORDS[0], "common": seed.COMMON_WORD},
                        args.profile_requests, SECRET_KEY)
                except Exception as exc:
                    log(f"!! profile: n/a ({exc})")
                    r["profile"] = {"error": f"{type(exc).__name__}: {exc}"}
                await clean_redis(args.redis_url)
        if "create" in args.parts:
            await measure_creates(r, args, dsn, url, args.redis_url, seeded, servers)
    finally:
        for server in list(servers):
            server.stop()
        await clean_redis(args.redis_url)
        if not args.keep:
            with contextlib.suppress(Exception):
                await seed.drop_database(admin_dsn, args.db)
                log(f"dropped database {args.db} (use --keep to keep it)")
    r["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return r


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, help="tickets to seed (default 1,000,000; quick 20,000)")
    p.add_argument("--customers", type=int, help="customers to seed (default 50,000)")
    p.add_argument("--quick", action="store_true", help="small and short: for development")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--reuse", action="store_true",
                   help="measure an existing (kept) database without reseeding; implies --keep")
    p.add_argument("--duration", type=float, help="seconds per create run (default 15; quick 5)")
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3,
                   help="runs each of the one-desk and the 20-desk create load, alternated "
                        "(default 3)")
    p.add_argument("--workers", default="1,2", help="server worker counts (default 1,2)")
    p.add_argument("--parts", default=",".join(ALL_PARTS),
                   help=f"comma-separated subset of {','.join(ALL_PARTS)}")
    p.add_argument("--db", default="switchboard_bench")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    args = p.parse_args(argv)
    args.tickets = args.tickets or (20_000 if args.quick else 1_000_000)
    args.customers = args.customers or (5_000 if args.quick else 50_000)
    args.duration = args.duration or (5.0 if args.quick else 15.0)
    args.list_requests = 60 if args.quick else 200
    args.search_requests = 30 if args.quick else 100
    args.pages = 10
    args.profile_requests = 50 if args.quick else 200
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.parts = {p.strip() for p in args.parts.split(",")}
    args.keep = args.keep or args.reuse
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = asyncio.run(amain(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    rows = table_rows(results)
    results["table"] = [dict(zip(("metric", "api", "baseline", "ratio", "target", "met"), row,
                                 strict=True)) for row in rows]
    results["notes"] = notes(results)
    results["context"] = context(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"tickets-{datetime.now(UTC):%Y-%m-%d}{'-quick' if args.quick else ''}"
    if args.parts != set(ALL_PARTS):  # a partial run never overwrites a complete one
        stem += "-" + "-".join(p for p in ALL_PARTS if p in args.parts)
    explained = results.pop("explain", None)
    if explained is not None:
        (RESULTS / f"{stem}-explain.txt").write_text(explain.render(explained))
        results["explain_file"] = str((RESULTS / f"{stem}-explain.txt").relative_to(REPO_ROOT))
        results["explain_ms"] = {
            name: [s["ms"] for s in probe.get("statements", [])] if isinstance(probe, dict)
            else probe for name, probe in explained.items()}
    profile_text = results.pop("_profile_text", None)
    if profile_text:
        (RESULTS / f"{stem}-profile.txt").write_text(profile_text)
        results["profile_file"] = str((RESULTS / f"{stem}-profile.txt").relative_to(REPO_ROOT))
    out = RESULTS / f"{stem}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    print()
    seeded = sum((results.get("seed") or {}).get("tickets_per_desk", {}).values())
    print(f"Tickets benchmark — {seeded:,} tickets, {os.cpu_count()} CPUs, "
          f"PostgreSQL {results['config'].get('postgres')}, create: {args.concurrency} clients "
          f"× {args.duration:.0f}s")
    print(render_table(rows))
    for note in results["notes"]:
        print(f"  * {note}")
    for line in results["context"]:
        print(f"  - {line}")
    print(f"\nresults: {out.relative_to(REPO_ROOT)}"
          + (f"\nquery plans: {results['explain_file']}" if "explain_file" in results else "")
          + (f"\nprofiles: {results['profile_file']}" if "profile_file" in results else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
