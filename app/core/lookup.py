"""Fetch one row by id within the caller's desks: 404 for a missing row and for one outside
the scope alike (the services' shared `get`)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.scope import DeskScope

M = TypeVar("M")


async def get_in_scope(session: AsyncSession, scope: DeskScope, model: type[M], row_id: int,
                       what: str, *, desk_column: Any = None, for_update: bool = False,
                       options: tuple[Any, ...] = ()) -> M:
    """`desk_column` defaults to `model.desk_id`; `for_update` locks the row (only it)."""
    column = desk_column if desk_column is not None else model.desk_id  # type: ignore[attr-defined]
    stmt = scope.filter(select(model).where(model.id == row_id), column)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update(of=model)
    if options:
        stmt = stmt.options(*options)
    row = await session.scalar(stmt.execution_options(populate_existing=True))
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist.")
    return row
