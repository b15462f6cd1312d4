"""A ticket's routing runs, oldest first, within the caller's desks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.models import RoutingRun, Ticket
from app.tickets import service as tickets


async def list_runs(session: AsyncSession, scope: DeskScope, ticket_id: int,
                    params: PageParams) -> tuple[Ticket, list[RoutingRun], str | None]:
    """The ticket (404 outside the scope) and one page of its runs."""
    ticket = await tickets.get(session, scope, ticket_id)
    runs, cursor = await paginate(session, select(RoutingRun).where(
        RoutingRun.ticket_id == ticket.id), params, [SortKey(RoutingRun.id)])
    return ticket, runs, cursor
