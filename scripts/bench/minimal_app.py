"""The baseline for `POST /v1/tickets`: the least a FastAPI + SQLAlchemy async endpoint does to
store one row (parse a body, one INSERT through an AsyncSession, commit, answer 201 JSON).

    DATABASE_URL=postgresql+asyncpg://… uvicorn scripts.bench.minimal_app:app --workers 2

It writes to `bench_scratch_tickets`, which `scripts/bench/tickets.py` creates.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import Integer, SmallInteger, String, Text, func, literal_column
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ScratchTicket(Base):
    __tablename__ = "bench_scratch_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(250))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(SmallInteger)
    requester_id: Mapped[int] = mapped_column(Integer)
    search: Mapped[object] = mapped_column(TSVECTOR, deferred=True)


class Requester(BaseModel):
    email: str = Field(max_length=320)
    name: str = Field("", max_length=200)


class Create(BaseModel):
    desk_id: int
    subject: str = Field(min_length=1, max_length=250)
    description: str = ""
    requester: Requester


class Read(BaseModel):
    id: int
    desk_id: int
    subject: str
    status: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The API's pool (DB_POOL_SIZE, DB_MAX_OVERFLOW and their defaults), so the two are served
    # the same way.
    engine = create_async_engine(os.environ["DATABASE_URL"],
                                 pool_size=int(os.environ.get("DB_POOL_SIZE", "20")),
                                 max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "10")))
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as s:
        yield s


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/tickets", status_code=status.HTTP_201_CREATED, response_model=Read)
async def create(payload: Create, db: Annotated[AsyncSession, Depends(session)]) -> Read:
    english = literal_column("'english'::regconfig")
    weight_a, weight_b = literal_column("'A'::\"char\""), literal_column("'B'::\"char\"")
    row = ScratchTicket(
        desk_id=payload.desk_id, number=0, subject=payload.subject,
        description=payload.description, status="new", priority=1, requester_id=0,
        search=func.setweight(func.to_tsvector(english, payload.subject), weight_a).op("||")(
            func.setweight(func.to_tsvector(english, payload.description), weight_b)),
    )
    db.add(row)
    await db.commit()
    return Read(id=row.id, desk_id=row.desk_id, subject=row.subject, status=row.status)
