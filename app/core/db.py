"""Engine, sessions and the declarative base."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from fastapi import Depends, Request
from sqlalchemy import MetaData, Table, event, exc, func
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}
    if TYPE_CHECKING:
        # Every model maps one table (SQLAlchemy types it as any FromClause: a join, a select).
        __table__: ClassVar[Table]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def create_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10,
                  custom_plans: bool = True) -> AsyncEngine:
    """`custom_plans` (the API): asyncpg reuses prepared statements; after five runs PostgreSQL
    may switch one to a generic plan, which for skewed data (a desk of 150k tickets next to one
    of 10, a word in a fifth of them) can be 20x slower; plans made for the actual values cost
    a planning per statement, cheap next to that. Without (the worker): its statements look
    rows up by key and run thousands of times a minute; generic plans spare the planning.

    Overflow connections are opened for a request and closed after it (PostgreSQL forks a
    backend for each): with a pool of 10 under 20 concurrent creates, that churn alone put
    p99 at 130-190 ms against 90-100 ms with a pool of 20."""
    server_settings = {"plan_cache_mode": "force_custom_plan"} if custom_plans else {}
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow,
        connect_args={"server_settings": server_settings},
    )
    event.listen(engine.sync_engine.pool, "checkout", _replace_if_closed)
    return engine


# Selected beside a hot write path's first query: the rest of its transaction reuses the
# generic plans PostgreSQL keeps for its statements (inserts and key lookups, the same plan
# whatever the values) instead of planning each one again under `force_custom_plan`. Local to
# the transaction: the connection goes back to the pool planning per value. Measured on the
# ticket create path: 0.4 ms less PostgreSQL CPU per request.
REUSE_PLANS = func.set_config("plan_cache_mode", "auto", True).label("reuse_plans")


def _replace_if_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pessimistic disconnect handling without a round trip: a pooled connection the server
    closed (restart, idle timeout, terminated backend) is replaced at checkout. asyncpg sees
    the socket close while the connection idles in the pool; `pool_pre_ping` would ask the
    server instead, with three round trips (BEGIN, `;`, ROLLBACK) on every request."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(bind: AsyncEngine | AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session. The request boundary (`core.boundary`) commits it, once."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        request.state.session = session
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
