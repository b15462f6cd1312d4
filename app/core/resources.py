"""Process-wide connections: the database engine and the Redis client (also the arq queue)."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker


def redis_client(url: str) -> ArqRedis:
    """Connects lazily, so the API starts (and answers) while Redis is down."""
    client: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return client


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: ArqRedis | None

    @classmethod
    def open(cls, settings: Settings, *, custom_plans: bool = True,
             pool_size: int | None = None) -> Resources:
        engine = create_engine(settings.require_database_url(),
                               pool_size=pool_size or settings.db_pool_size,
                               max_overflow=settings.db_max_overflow,
                               custom_plans=custom_plans)
        redis = redis_client(settings.redis_url) if settings.redis_url else None
        return cls(engine=engine, sessionmaker=create_sessionmaker(engine), redis=redis)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
