"""Seed a benchmark database: fresh database, migrated schema, admin token, desks, customers and
N tickets, loaded with COPY (never through the API).

Tickets go through an UNLOGGED staging table: Python generates rows and COPYs them there, then
`INSERT … SELECT` into `tickets` computes the full-text vector in SQL (the same weighted vector
`app.tickets.service.search_vector` writes), split over two connections. The secondary indexes
of `tickets` are dropped for the load and rebuilt from their own definitions afterwards; foreign
keys are not re-checked row by row (`session_replication_role = replica`) since the generator
only points at rows it created. Then VACUUM ANALYZE, so the planner sees the real data.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from scripts.bench.common import log, step

DESKS = 20
# Desk 1 holds this share of the tickets (150k of 1M) so the CSV export has 100k+ rows.
BIG_DESK_SHARE = 0.15
COMMON_WORD = "invoice"          # in ~20% of tickets
COMMON_SHARE = 0.20
RARE_WORDS = ("quokka", "zeppelin", "marzipan")   # each in ~0.01% of tickets
RARE_SHARE = 0.0001
BATCH = 50_000

# Support-ish words; none of them stems like the common or rare words.
VOCABULARY = """
account access activate address admin agent alert app application approve archive attach
attachment audit backup balance bank billing blocked board browser bug build button cache
calendar call cancel card cart change charge chat checkout client close code company complaint
config connect connection contact contract copy create credit customer dashboard data database
date deadline delay delete delivery deploy desktop device disable discount display document
domain download draft driver duplicate edit email empty enable engine error escalate estimate
event export fail feature feedback field file filter firewall fix folder form format forward
freeze guest hardware help history host icon import inbox install integration internet issue
item key label language laptop latency launch layout license limit link list load locked log
login logout mailbox manager manual meeting memory merge message migrate missing mobile modem
monitor network notification number office offline order outage overdue package page panel
partner password payment pending permission phone plan platform plugin policy portal price
print printer priority problem process profile project purchase query queue quota rate receipt
record recover refund region register release reminder remote renew repair replace report
request reset response restart restore review role router schedule screen script search
security server service session settings setup share shipping signature slow software space
speed spreadsheet storage subscription support survey sync system tablet task team template
terminal ticket timeout token tracking training transfer trial update upgrade upload user
vendor version video virus voucher wallet warranty website wifi window workflow workspace
again always broken cannot correct crashes customer's daily different every expired failed
frozen incorrect intermittent keeps missing monthly new nothing old please quickly randomly
recently since still suddenly twice unable urgent weekly wrong yesterday today tomorrow
""".split()
TAGS = ("billing", "bug", "vip", "refund", "login", "mobile", "api", "hardware", "outage")
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
STATUS_WEIGHTS = (10, 25, 15, 5, 30, 15)
PRIORITY_WEIGHTS = (20, 55, 20, 5)   # low, normal, high, urgent -> 0..3
CUSTOMER_DOMAINS = ("example.com", "example.org", "example.net", "acme.test", "globex.test")

TICKET_STAGE_COLUMNS = ("id", "desk_id", "number", "subject", "description", "status",
                        "priority", "requester_id", "tags", "created_at", "updated_at",
                        "solved_at")


@dataclass
class Seeded:
    admin_token: str
    desk_ids: list[int]
    tickets_per_desk: dict[int, int]
    big_desk_id: int
    customers: int
    seconds: dict[str, float]


def server_dsn(database: str = "postgres", *, host: str = "127.0.0.1", port: int = 5432,
               user: str = "postgres") -> str:
    return f"postgresql://{user}@{host}:{port}/{database}"


async def recreate_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_admin_and_desks(sqlalchemy_url: str, desks: int) -> tuple[str, list[int]]:
    """Through the app's own services, as `switchboard create-admin` and `POST /v1/desks` do."""
    from app.auth.service import create_admin
    from app.core.db import create_engine, create_sessionmaker
    from app.core.scope import DeskScope, Principal, Scope
    from app.desks import service as desks_service
    from app.desks.schemas import DeskCreate

    engine = create_engine(sqlalchemy_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            _, token = await create_admin(session, "bench-admin@example.com", name="Bench")
            scope = DeskScope(Principal("system", 0, "bench"), frozenset({Scope.admin.value}),
                              None)
            ids = []
            for i in range(1, desks + 1):
                desk = await desks_service.create(session, scope, DeskCreate(
                    name=f"Bench desk {i}", description="benchmark desk"))
                ids.append(desk.id)
            await session.commit()
        return token, ids
    finally:
        await engine.dispose()


def _customers(desk_ids: list[int], total: int, rng: random.Random, now: datetime):
    for i in range(1, total + 1):
        desk_id = desk_ids[(i - 1) % len(desk_ids)]
        domain = CUSTOMER_DOMAINS[i % len(CUSTOMER_DOMAINS)]
        created = now - timedelta(days=400, seconds=rng.randrange(0, 30 * 86400))
        yield (i, desk_id, f"customer{i}@{domain}", domain, f"Customer {i}", created, created)


def _text(rng: random.Random, low: int, high: int) -> list[str]:
    return rng.choices(VOCABULARY, k=rng.randint(low, high))


def ticket_batches(n: int, desk_ids: list[int], customers_by_desk: dict[int, list[int]],
                   seed: int = 42):
    """Rows in creation order (ids and per-desk numbers grow with `created_at`), in batches."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    step_s = 365 * 86400 / max(n, 1)
    other = (1 - BIG_DESK_SHARE) / (len(desk_ids) - 1)
    desk_weights = [BIG_DESK_SHARE] + [other] * (len(desk_ids) - 1)
    desks = rng.choices(desk_ids, weights=desk_weights, k=n)
    numbers = dict.fromkeys(desk_ids, 0)
    statuses = rng.choices(STATUSES, weights=STATUS_WEIGHTS, k=n)
    priorities = rng.choices(range(4), weights=PRIORITY_WEIGHTS, k=n)
    batch = []
    for i in range(n):
        desk_id = desks[i]
        numbers[desk_id] += 1
        subject = _text(rng, 3, 8)
        description = _text(rng, 15, 45)
        roll = rng.random()
        if roll < COMMON_SHARE:
            target = subject if roll < COMMON_SHARE / 4 else description
            target.insert(rng.randrange(len(target) + 1), COMMON_WORD)
        for word in RARE_WORDS:
            if rng.random() < RARE_SHARE:
                description.insert(rng.randrange(len(description) + 1), word)
        subject[0] = subject[0].capitalize()
        created = start + timedelta(seconds=i * step_s + rng.random() * step_s)
        updated = min(created + timedelta(seconds=rng.randrange(0, 20 * 86400)), now)
        status = statuses[i]
        tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))
        batch.append((
            i + 1, desk_id, numbers[desk_id], " ".join(subject), " ".join(description) + ".",
            status, priorities[i], rng.choice(customers_by_desk[desk_id]), tags, created,
            updated, updated if status in ("solved", "closed") else None,
        ))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _load_customers(conn: asyncpg.Connection, desk_ids: list[int], total: int
                          ) -> dict[int, list[int]]:
    rng = random.Random(7)
    rows = list(_customers(desk_ids, total, rng, datetime.now(UTC)))
    await conn.copy_records_to_table(
        "customers", records=rows,
        columns=["id", "desk_id", "email", "email_domain", "name", "created_at", "updated_at"])
    await conn.execute("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))")
    by_desk: dict[int, list[int]] = {d: [] for d in desk_ids}
    for row in rows:
        by_desk[row[1]].append(row[0])
    return by_desk


SEARCH_VECTOR_SQL = ("setweight(to_tsvector('english'::regconfig, subject), 'A') || "
                     "setweight(to_tsvector('english'::regconfig, description), 'B')")


async def _move_stage(dsn: str, low: int, high: int) -> None:
    """INSERT … SELECT one id range of the stage into tickets (computing `search`)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(f"""
            INSERT INTO tickets (id, desk_id, number, subject, description, status, priority,
                                 requester_id, tags, custom_fields, source, routing_state,
                                 version, solved_at, created_at, updated_at, search)
            SELECT id, desk_id, number, subject, description, status, priority, requester_id,
                   tags, '{{}}'::jsonb, 'api', 'done', 1, solved_at, created_at, updated_at,
                   {SEARCH_VECTOR_SQL}
            FROM bench_ticket_stage WHERE id > $1 AND id <= $2""", low, high)
    finally:
        await conn.close()


async def _rebuild_indexes(dsn: str, definitions: list[str]) -> None:
    """Two connections (one per core), the biggest (GIN full text) first."""
    queue = sorted(definitions, key=lambda d: ("ix_tickets_search " not in d, d))

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET maintenance_work_mem = '1GB'")
            await conn.execute("SET max_parallel_maintenance_workers = 0")
            while queue:
                definition = queue.pop(0)
                started = time.perf_counter()
                await conn.execute(definition)
                log(f"  {definition.split(' ON ')[0].removeprefix('CREATE ')}: "
                    f"{time.perf_counter() - started:.1f}s")
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())


async def seed(dsn: str, sqlalchemy_url: str, *, tickets: int, customers: int) -> Seeded:
    """Seed a freshly migrated database."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with step("admin token and desks"):
        token, desk_ids = await create_admin_and_desks(sqlalchemy_url, DESKS)
    conn = await asyncpg.connect(dsn)
    try:
        with step(f"customers: {customers:,} via COPY"):
            customers_by_desk = await _load_customers(conn, desk_ids, customers)

        index_defs = [r["indexdef"] for r in await conn.fetch("""
            SELECT indexdef FROM pg_indexes i
            WHERE schemaname = 'public' AND tablename = 'tickets'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""")]
        index_names = [d.split(" INDEX ", 1)[1].split(" ON ")[0] for d in index_defs]
        for name in index_names:
            await conn.execute(f"DROP INDEX {name}")
        await conn.execute("""
            CREATE UNLOGGED TABLE bench_ticket_stage (
                id int PRIMARY KEY, desk_id int NOT NULL, number int NOT NULL,
                subject text NOT NULL, description text NOT NULL, status text NOT NULL,
                priority smallint NOT NULL, requester_id int NOT NULL, tags varchar(64)[] NOT NULL,
                created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
                solved_at timestamptz)""")

        t = time.perf_counter()
        log(f"tickets: generating {tickets:,} rows and COPYing them to a staging table …")
        per_desk = dict.fromkeys(desk_ids, 0)
        copied = 0
        for batch in ticket_batches(tickets, desk_ids, customers_by_desk):
            await conn.copy_records_to_table("bench_ticket_stage", records=batch,
                                             columns=TICKET_STAGE_COLUMNS)
            for row in batch:
                per_desk[row[1]] += 1
            copied += len(batch)
            if copied % (BATCH * 4) == 0 or copied == tickets:
                rate = copied / (time.perf_counter() - t)
                log(f"  {copied:,}/{tickets:,} copied ({rate:,.0f} rows/s)")
        seconds["copy_stage"] = time.perf_counter() - t

        t = time.perf_counter()
        with step("tickets: INSERT … SELECT into tickets with to_tsvector (2 connections)"):
            half = tickets // 2
            await asyncio.gather(_move_stage(dsn, 0, half), _move_stage(dsn, half, tickets))
        seconds["insert_tsvector"] = time.perf_counter() - t
        await conn.execute("DROP TABLE bench_ticket_stage")
        await conn.execute("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))")
        await conn.execute("""
            SELECT setval(('desk_ticket_numbers_' || desk_id)::regclass, max(number))
            FROM tickets GROUP BY desk_id""")

        t = time.perf_counter()
        with step(f"tickets: rebuilding {len(index_defs)} secondary indexes"):
            await _rebuild_indexes(dsn, index_defs)
        seconds["indexes"] = time.perf_counter() - t

        t = time.perf_counter()
        with step("VACUUM ANALYZE"):
            for table in ("tickets", "customers", "desks", "api_tokens", "users"):
                await conn.execute(f"VACUUM ANALYZE {table}")
        seconds["vacuum_analyze"] = time.perf_counter() - t
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('tickets'))")
        log(f"tickets table with indexes: {size}")
    finally:
        await conn.close()
    seconds["total"] = time.perf_counter() - started
    return Seeded(admin_token=token, desk_ids=desk_ids, tickets_per_desk=per_desk,
                  big_desk_id=desk_ids[0], customers=customers,
                  seconds={k: round(v, 1) for k, v in seconds.items()})
