"""Saved views: named filters, columns and sort over one desk's tickets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.lookup import get_in_scope
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.desks import service as desks
from app.models import View
from app.tickets.query import TicketFilters
from app.views.schemas import ViewCreate


async def create(session: AsyncSession, scope: DeskScope, payload: ViewCreate) -> View:
    await desks.get(session, scope, payload.desk_id)
    view = View(desk_id=payload.desk_id, name=payload.name, owner_kind=scope.principal.kind,
                owner_id=scope.principal.id,
                filters=payload.filters.model_dump(mode="json", exclude_defaults=True),
                columns=payload.columns, sort=payload.sort.value)
    session.add(view)
    await session.flush()
    await session.refresh(view)
    return view


async def get(session: AsyncSession, scope: DeskScope, view_id: int) -> View:
    return await get_in_scope(session, scope, View, view_id, "View")


async def list_(session: AsyncSession, scope: DeskScope, params: PageParams, *,
                desk_id: int | None = None) -> tuple[list[View], str | None]:
    stmt = scope.filter(select(View), View)
    if desk_id is not None:
        scope.check_desk(desk_id)
        stmt = stmt.where(View.desk_id == desk_id)
    return await paginate(session, stmt, params, [SortKey(View.id)])


async def delete(session: AsyncSession, scope: DeskScope, view_id: int) -> None:
    await session.delete(await get(session, scope, view_id))
    await session.flush()


def filters_of(view: View) -> TicketFilters:
    return TicketFilters.model_validate({**view.filters, "desk_id": view.desk_id})
