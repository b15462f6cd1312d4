"""Events, the read side: the `/v1/events` feed and a subject's history.

Events are written by `app/core/outbox.py` in the transaction of the change they describe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, cast, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.models import Event


def _settled() -> Any:
    """Events of transactions older than every one still running."""
    xmin = func.pg_snapshot_xmin(func.pg_current_snapshot())
    return Event.txid < cast(cast(xmin, String), BigInteger)


def _past(after: int) -> Any:
    """Events after event `after` in feed order: (writing transaction, id). Ids alone would not
    do: a transaction that started earlier may take a larger id and commit first, and a reader
    resuming after that id would never see the smaller one committed later. Every event not yet
    settled belongs to a transaction younger than all settled ones, so it sorts after them.
    (Event `after` gone, say with its desk: resume from the last event before it.)"""
    txid = (select(Event.txid).where(Event.id <= after).order_by(Event.id.desc()).limit(1)
            .scalar_subquery())
    return tuple_(Event.txid, Event.id) > tuple_(func.coalesce(txid, literal(-1, BigInteger)),
                                                 literal(after, BigInteger))


async def feed(session: AsyncSession, scope: DeskScope, *, after: int, limit: int,
               types: list[str] | None = None, desk_id: int | None = None) -> list[Event]:
    """Settled events past `after`, oldest transaction first, then by id within it."""
    stmt = scope.filter(select(Event), Event).where(_settled())
    if after:
        stmt = stmt.where(_past(after))
    if desk_id is not None:
        scope.check_desk(desk_id)
        stmt = stmt.where(Event.desk_id == desk_id)
    if types:
        stmt = stmt.where(Event.type.in_(types))
    return list((await session.scalars(stmt.order_by(Event.txid, Event.id).limit(limit))).all())


async def history(session: AsyncSession, subject_type: str, subject_id: int,
                  params: PageParams) -> tuple[list[Event], str | None]:
    stmt = select(Event).where(Event.subject_type == subject_type, Event.subject_id == subject_id)
    return await paginate(session, stmt, params, [SortKey(Event.id)])
