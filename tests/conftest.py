"""Real PostgreSQL and Redis for every test.

The run creates its own database and migrates it once; each test runs inside a transaction
that is rolled back at the end (the app's commits become savepoints). Tests marked
`committing` get a database of their own commits and clean up explicitly.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.schemas import ApiTokenCreate
from app.auth.service import create_admin, create_token
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.resources import redis_client
from app.core.scope import DeskScope, Principal, Scope
from app.core.security import hash_password
from app.main import create_app
from app.models import Desk, DeskMember, User
from tests.services import TestServices, migrated_database

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def services() -> Iterator[TestServices]:
    found = TestServices()
    yield found
    found.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url(services: TestServices) -> AsyncIterator[str]:
    async with migrated_database(services.database_url) as url:
        yield url


# A database of the test module's own, for tests that commit (marked `committing`).

@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def own_url(services: TestServices) -> AsyncIterator[str]:
    async with migrated_database(services.database_url) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def own_engine(own_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_url, pool_size=12)
    yield engine
    await engine.dispose()


@pytest.fixture
def own_sessions(own_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(own_engine)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=connection, expire_on_commit=False, autoflush=False,
                              join_transaction_mode="create_savepoint")


@pytest_asyncio.fixture(loop_scope="session")
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest_asyncio.fixture(loop_scope="session")
async def redis(services: TestServices) -> AsyncIterator[ArqRedis]:
    client = redis_client(services.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(services: TestServices, database_url: str) -> Settings:
    return Settings(environment="test", secret_key=TEST_SECRET, database_url=database_url,
                    redis_url=services.redis_url,
                    redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}")


@pytest_asyncio.fixture(loop_scope="session")
async def queue(redis: ArqRedis, settings: Settings) -> AsyncIterator[str]:
    """The test's own arq queue; its jobs, results and markers are deleted afterwards."""
    name = settings.queue_name
    yield name
    ids = [i.decode() for i in await redis.zrange(name, 0, -1)]
    keys = [p + i for i in ids for p in (job_key_prefix, result_key_prefix)]
    # Our job ids carry the queue name (jobs.qualified): the keys of jobs a worker ran too.
    keys += [k async for k in redis.scan_iter(match=f"arq:*:{name}:*")]
    await redis.delete(name, *keys)


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis):
    application = create_app(settings, manage_resources=False)
    application.state.sessionmaker = sessionmaker
    application.state.redis = application.state.arq = redis
    yield application
    # The jobs the test's requests enqueued (routing, webhooks) go with the test's queue.
    ids = await redis.zrange(settings.queue_name, 0, -1)
    keys = [job_key_prefix + i.decode() for i in ids]
    await redis.delete(settings.queue_name, *keys)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN_SCOPE = DeskScope(Principal("api_token", 0, "test"), frozenset({Scope.admin.value}), None)


@dataclass
class Factory:
    """Makes rows through the services, inside the test's transaction."""

    session: AsyncSession

    async def desk(self, name: str = "Desk", kind: str = "standard", **kw: Any) -> Desk:
        desk = Desk(name=name, kind=kind, **kw)
        self.session.add(desk)
        await self.session.flush()
        await self.session.refresh(desk)
        return desk

    async def user(self, email: str | None = None, role: str = "agent",
                   password: str | None = None, desks: tuple[int, ...] = ()) -> User:
        user = User(email=email or f"{uuid.uuid4().hex[:8]}@staff.example", name="Staff",
                    role=role, password_hash=hash_password(password) if password else None)
        self.session.add(user)
        await self.session.flush()
        for desk_id in desks:
            self.session.add(DeskMember(desk_id=desk_id, user_id=user.id, role="agent"))
        await self.session.flush()
        return user

    async def token(self, scopes: list[str], desk_ids: list[int] | None = None,
                    sandbox: bool = False, **kw: Any) -> str:
        payload = ApiTokenCreate(name="test token", scopes=scopes, desk_ids=desk_ids,
                                 sandbox=sandbox, **kw)
        _, secret = await create_token(self.session, ADMIN_SCOPE, payload)
        await self.session.flush()
        return secret

    async def admin_token(self) -> str:
        _, secret = await create_admin(self.session, f"admin-{uuid.uuid4().hex[:6]}@x.example")
        await self.session.flush()
        return secret


@pytest.fixture
def factory(session: AsyncSession) -> Factory:
    return Factory(session)


@pytest_asyncio.fixture(loop_scope="session")
async def admin_headers(factory: Factory) -> dict[str, str]:
    return bearer(await factory.admin_token())


@pytest.fixture
def problem() -> Callable[[httpx.Response, int], dict[str, Any]]:
    """Assert a response is an RFC 9457 problem with `status`; return its body."""

    def check(response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == status
        assert body["type"].startswith("urn:switchboard:problem:")
        assert body["title"]
        return body

    return check
