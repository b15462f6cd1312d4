"""Events, the read side: the `/v1/events` feed and a subject's history.

Events are written by `app/core/outbox.py` in the transaction of the change they describe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, cast, func, literal, select, tuple_, type_coerce, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.errors import NotFound, invalid
from app.core.outbox import EventType
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.models import Desk, Event


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
    """Settled events past `after`, oldest transaction first, then by id within it. A caller
    limited to some desks sees their events and the desk-less events of webhooks it can see
    (`webhook.disabled` of a webhook whose desks are all its own)."""
    if types:
        unknown = sorted(set(types) - KNOWN_TYPES)
        if unknown:
            raise invalid(["query", "types"], f"unknown event types: {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(KNOWN_TYPES))}")
    stmt = select(Event).where(_settled())
    if after:
        stmt = stmt.where(_past(after))
    if types:
        stmt = stmt.where(Event.type.in_(types))
    if desk_id is not None:
        scope.check_desk(desk_id)
        if await session.scalar(select(Desk.id).where(Desk.id == desk_id)) is None:
            raise NotFound(f"Desk {desk_id} does not exist.")
        stmt = stmt.where(Event.desk_id == desk_id)
    elif scope.desk_ids is not None:
        # Two ordered scans, each on (desk_id, txid, id), merged: an OR would lose the index.
        own = scope.filter(stmt, Event).order_by(Event.txid, Event.id).limit(limit)
        hooks = (stmt.where(Event.desk_id.is_(None), Event.subject_type == "webhook",
                            func.jsonb_typeof(Event.data["desk_ids"]) == "array",
                            Event.data["desk_ids"].contained_by(
                                type_coerce(sorted(scope.desk_ids), JSONB)))
                 .order_by(Event.txid, Event.id).limit(limit))
        merged = aliased(Event, union_all(own, hooks).subquery())
        ordered = select(merged).order_by(merged.txid, merged.id).limit(limit)
        return list((await session.scalars(ordered)).all())
    return list((await session.scalars(stmt.order_by(Event.txid, Event.id).limit(limit))).all())


KNOWN_TYPES = frozenset(t.value for t in EventType)


async def history(session: AsyncSession, subject_type: str, subject_id: int,
                  params: PageParams) -> tuple[list[Event], str | None]:
    stmt = select(Event).where(Event.subject_type == subject_type, Event.subject_id == subject_id)
    return await paginate(session, stmt, params, [SortKey(Event.id)])
