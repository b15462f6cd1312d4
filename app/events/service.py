"""Events: written in the transaction of the change they describe (the outbox of DESIGN.md).

Each row is the history of its subject, an audit line, an entry of the `/v1/events` feed and
a webhook delivery waiting to happen. `data` is the resource as the API returns it.

`record` only notes an event on the session; the transaction's events go out as one multi-row
INSERT when it commits (or when `write_pending` is awaited), and a rollback drops them (a
savepoint's rollback drops those recorded in it; any it wrote are written again). Through
the ORM, each event cost an object, its state and a unit-of-work flush with RETURNING: about a
tenth of a ticket create's CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, String, cast, event, func, insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.models import Event
from app.webhooks import dispatch

SYSTEM_ACTOR = {"kind": "system", "id": None, "name": "Switchboard"}


def actor_of(scope: DeskScope | None) -> dict[str, Any]:
    if scope is None:
        return dict(SYSTEM_ACTOR)
    p = scope.principal
    return {"kind": p.kind, "id": p.id, "name": p.name}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Pure: `{field: [old, new]}` for every field whose value changed."""
    return {k: [before.get(k), after.get(k)] for k in after
            if k not in {"version", "updated_at"} and before.get(k) != after.get(k)}


_NOTED = "switchboard.events.noted"
_INSERT = insert(Event.__table__)


@dataclass
class _Noted:
    """An event of the session's transaction: its row, the (innermost) transaction that
    recorded it and the one its row was written in (None: not yet written)."""

    row: dict[str, Any]
    recorded_in: SessionTransaction | None
    written_in: SessionTransaction | None = None


def record(session: AsyncSession, *, type: str, desk_id: int | None, subject_type: str,
           subject_id: int, data: BaseModel | dict[str, Any], scope: DeskScope | None,
           changes: dict[str, Any] | None = None) -> None:
    """Note an event of the session's transaction; it is written when the transaction commits."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    row = {"type": type, "desk_id": desk_id, "subject_type": subject_type,
           "subject_id": subject_id, "actor": actor_of(scope), "data": payload,
           "changes": changes or None}
    # (Services record after reading what changed, so a transaction is open.)
    session.info.setdefault(_NOTED, []).append(_Noted(row, _innermost(session.sync_session)))
    dispatch.kick(session)  # after the commit, a worker fans it out to the webhooks


async def write_pending(session: AsyncSession) -> None:
    """Write the events recorded so far now, in the current transaction (a commit does it)."""
    await session.run_sync(_write_pending)


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _write_pending(session: Session) -> None:
    """Before every commit (a savepoint's release too): the events not yet written."""
    due = [n for n in session.info.get(_NOTED, ()) if n.written_in is None]
    if due:
        session.execute(_INSERT, [n.row for n in due])
        where = _innermost(session)
        for noted in due:
            noted.written_in = where


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback drops the events recorded in what it rolled back (everything, for the whole
    transaction); an event recorded before a savepoint but written inside it is due again."""
    noted = session.info.get(_NOTED)
    if not noted:
        return
    if not previous_transaction.nested:
        session.info.pop(_NOTED, None)
        return
    kept = [n for n in noted if not _within(n.recorded_in, previous_transaction)]
    for n in kept:
        if _within(n.written_in, previous_transaction):
            n.written_in = None
    session.info[_NOTED] = kept


def _after_commit(session: Session) -> None:
    """The whole transaction committed (not a savepoint, which may still be rolled back
    with its parent): its events are in."""
    if session.get_nested_transaction() is None:
        session.info.pop(_NOTED, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_soft_rollback", _after_rollback)
event.listen(Session, "after_commit", _after_commit)


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
