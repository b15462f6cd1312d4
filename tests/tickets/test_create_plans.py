"""The API's create path reuses PostgreSQL's generic plans for the rest of its transaction,
and only for it: the pool's connections keep planning per value."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import REUSE_PLANS
from app.tickets import service
from app.tickets.schemas import TicketCreate
from tests.conftest import ADMIN_SCOPE
from tests.tickets.conftest import ticket_body

SHOW = text("SHOW plan_cache_mode")


async def test_creating_a_ticket_turns_on_plan_reuse_for_its_transaction(session, factory):
    desk = await factory.desk("Support")
    assert await session.scalar(SHOW) == "force_custom_plan"
    await service.create(session, ADMIN_SCOPE, TicketCreate.model_validate(ticket_body(desk.id)))
    assert await session.scalar(SHOW) == "auto"


async def test_plan_reuse_ends_with_its_transaction(engine: AsyncEngine):
    async with engine.connect() as conn:
        async with conn.begin():
            await conn.execute(select(REUSE_PLANS))
            assert await conn.scalar(SHOW) == "auto"
        async with conn.begin():
            assert await conn.scalar(SHOW) == "force_custom_plan"
