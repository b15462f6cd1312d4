"""The `switchboard` command, run as a real process against databases of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import alembic_config
from app.core.security import TOKEN_PREFIX, hash_token
from app.main import create_app
from app.models import ApiToken, User
from tests.conftest import TEST_SECRET, bearer
from tests.services import create_database, drop_database, migrated_database

pytestmark = pytest.mark.committing

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))
PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_SPEC = PROJECT_ROOT / "openapi" / "openapi.json"
# Settings the command reads; the test passes exactly those it means to.
APP_ENV = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENVIRONMENT", "DATA_DIR", "REDIS_NAMESPACE"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        return self.stdout.strip().splitlines()[-1]


async def switchboard(*args: str, cwd: Path, **env: str) -> Run:
    environment = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        SWITCHBOARD, *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return Run(process.returncode, out.decode(), err.decode())


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_url(services) -> AsyncIterator[str]:
    async with migrated_database(services.database_url) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def empty_url(services) -> AsyncIterator[str]:
    url = await create_database(services.database_url)
    try:
        yield url
    finally:
        await drop_database(services.database_url, url)


@asynccontextmanager
async def api_on(url: str, redis, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served from the database at `url` (committed rows only)."""
    settings = Settings(environment="test", secret_key=TEST_SECRET, database_url=url,
                        redis_url=redis_url, redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}")
    engine = create_engine(url, pool_size=1)
    application = create_app(settings, manage_resources=False)
    application.state.sessionmaker = create_sessionmaker(engine)
    application.state.redis = application.state.arq = redis
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await engine.dispose()


async def create_admin(url: str, cwd: Path, address: str) -> Run:
    run = await switchboard("create-admin", address, cwd=cwd, DATABASE_URL=url,
                            ENVIRONMENT="test", SECRET_KEY=TEST_SECRET)
    assert run.returncode == 0, run.stderr
    return run


# --- create-admin -----------------------------------------------------------------------------

async def test_create_admin_prints_a_working_admin_token_as_the_last_line(
        migrated_url, tmp_path, redis, services):
    run = await create_admin(migrated_url, tmp_path, "root@acme.example")
    token = run.last_line
    assert token.startswith(TOKEN_PREFIX) and " " not in token
    engine = create_engine(migrated_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(
                select(ApiToken.scopes, ApiToken.desk_ids, User.email, User.role)
                .join(User, User.id == ApiToken.created_by_id)
                .where(ApiToken.token_hash == hash_token(token))
            )).one()
    finally:
        await engine.dispose()
    assert stored == (["admin"], None, "root@acme.example", "admin")
    async with api_on(migrated_url, redis, services.redis_url) as client:
        me = await client.get("/v1/me", headers=bearer(token))
        assert me.status_code == 200, me.text
        assert me.json()["kind"] == "api_token"
        assert me.json()["scopes"] == ["admin"] and me.json()["desk_ids"] is None
        created = await client.post("/v1/desks", json={"name": "First"}, headers=bearer(token))
        assert created.status_code == 201, created.text


async def test_create_admin_twice_keeps_one_user_and_gives_two_working_tokens(
        migrated_url, tmp_path, redis, services):
    first = (await create_admin(migrated_url, tmp_path, "ops@acme.example")).last_line
    second = (await create_admin(migrated_url, tmp_path, "OPS@acme.example")).last_line
    assert first != second
    engine = create_engine(migrated_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            users = (await conn.execute(
                select(User.id).where(func.lower(User.email) == "ops@acme.example"))).all()
            tokens = (await conn.execute(
                select(func.count()).select_from(ApiToken)
                .where(ApiToken.created_by_id == users[0].id))).scalar_one()
    finally:
        await engine.dispose()
    assert len(users) == 1 and tokens == 2
    async with api_on(migrated_url, redis, services.redis_url) as client:
        for token in (first, second):
            me = await client.get("/v1/me", headers=bearer(token))
            assert me.status_code == 200, me.text
            assert me.json()["scopes"] == ["admin"]


async def test_create_admin_promotes_an_existing_agent(migrated_url, tmp_path):
    engine = create_engine(migrated_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            user_id = (await conn.execute(
                text("INSERT INTO users (email, name, role) VALUES ('lead@acme.example', 'Lead', "
                     "'agent') RETURNING id"))).scalar_one()
        await create_admin(migrated_url, tmp_path, "lead@acme.example")
        async with engine.connect() as conn:
            rows = (await conn.execute(select(User.id, User.role)
                                       .where(User.email == "lead@acme.example"))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [(user_id, "admin")]


# --- openapi ----------------------------------------------------------------------------------

async def test_openapi_command_writes_the_app_document_equal_to_the_committed_one(tmp_path):
    output = tmp_path / "out" / "openapi.json"
    run = await switchboard("openapi", "--output", str(output), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    written = json.loads(output.read_text())
    generated = create_app(Settings(environment="test", secret_key="x" * 40),
                           manage_resources=False).openapi()
    assert written == generated
    assert written == json.loads(COMMITTED_SPEC.read_text()), (
        "openapi/openapi.json is stale: run `switchboard openapi` and commit it")


# --- migrate ----------------------------------------------------------------------------------

async def test_migrate_upgrades_an_empty_database_to_head(empty_url, tmp_path):
    run = await switchboard("migrate", cwd=tmp_path, DATABASE_URL=empty_url, ENVIRONMENT="test",
                            SECRET_KEY=TEST_SECRET)
    assert run.returncode == 0, run.stderr
    head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    engine = create_engine(empty_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            tables = set((await conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ))).scalars())
    finally:
        await engine.dispose()
    assert version == head
    assert {"desks", "desk_members", "users", "teams", "api_tokens",
            "idempotency_keys"} <= tables
    again = await switchboard("migrate", cwd=tmp_path, DATABASE_URL=empty_url,
                              ENVIRONMENT="test", SECRET_KEY=TEST_SECRET)
    assert again.returncode == 0, again.stderr


@asynccontextmanager
async def served(cwd: Path, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """`switchboard serve` on a free port, as a real process; a client of it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    process = await asyncio.create_subprocess_exec(
        SWITCHBOARD, "serve", "--port", str(port), cwd=cwd, env={**environment, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                assert process.returncode is None, "switchboard serve exited"
                await asyncio.sleep(0.1)
            yield client
    finally:
        process.terminate()
        await process.wait()


async def test_served_sign_in_ignores_forwarded_for_from_an_untrusted_peer(
        migrated_url, tmp_path, services):
    """42 wrong passwords from one peer, each naming another client in X-Forwarded-For and
    another account: uvicorn's default (trusting 127.0.0.1) let every one through."""
    async with served(tmp_path, DATABASE_URL=migrated_url, REDIS_URL=services.redis_url,
                      SECRET_KEY=TEST_SECRET, ENVIRONMENT="test", DATA_DIR=str(tmp_path),
                      REDIS_NAMESPACE=f"sbtest:{uuid.uuid4().hex[:12]}") as client:
        responses = [await client.post(
            "/v1/auth/token", headers={"X-Forwarded-For": f"203.0.113.{i}"},
            data={"grant_type": "password", "username": f"guess-{i}@x.example",
                  "password": "wrong"}) for i in range(42)]
    codes = [r.status_code for r in responses]
    assert set(codes) == {401, 429}
    # 20 a minute per address: two windows at most fit 40, so some are refused either way.
    assert codes.count(401) <= 40
    refused = responses[codes.index(429)]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_serve_leaves_the_access_log_to_the_app(monkeypatch):
    """uvicorn's own access line would format every request's client and path only for the
    logging level to drop it; the app logs each request itself, with its request id."""
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/unused")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    [kwargs] = calls
    assert kwargs["access_log"] is False and kwargs["workers"] == 2
