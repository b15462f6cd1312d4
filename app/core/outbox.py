"""The outbox: events written in the transaction of the change they describe.

Producers (every domain that changes something) call `record(...)` in their transaction and
never call a consumer. Each event row is the history of its subject, an audit line, an entry of
the `/v1/events` feed and a webhook delivery waiting to happen; `data` is the resource as the API
returns it. After the commit, the consumers are woken by fixed job names (`CONSUMERS`), so the
kicks of many transactions queue one run each; a consumer's own sweep covers a kick Redis lost.

`record` only notes an event on the session; the transaction's events go out as one multi-row
INSERT when it commits (or when `write_pending` is awaited), and a rollback drops them (a
savepoint's rollback drops those recorded in it; any it wrote are written again). Through the
ORM, each event cost an object, its state and a unit-of-work flush with RETURNING: about a tenth
of a ticket create's CPU (`scripts/bench/tickets.py`; `tests/events/test_recording.py`).

The read side (the feed, histories) is `app/events/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core import jobs
from app.core.scope import DeskScope
from app.models import Event


class EventType(StrEnum):
    """The catalogue: every type of event a producer records."""

    ticket_created = "ticket.created"
    ticket_updated = "ticket.updated"
    ticket_status_changed = "ticket.status_changed"
    ticket_assigned = "ticket.assigned"
    ticket_transferred = "ticket.transferred"
    ticket_routed = "ticket.routed"
    comment_created = "comment.created"
    customer_created = "customer.created"
    customer_updated = "customer.updated"
    customer_transferred = "customer.transferred"
    organization_created = "organization.created"
    organization_updated = "organization.updated"
    organization_transferred = "organization.transferred"
    form_submitted = "form.submitted"
    survey_answered = "survey.answered"
    webhook_disabled = "webhook.disabled"


SYSTEM_ACTOR: dict[str, Any] = {"kind": "system", "id": None, "name": "Switchboard"}


def actor_of(scope: DeskScope | None) -> dict[str, Any]:
    """Who did it, as the event's `actor`: the caller, or the system (routing, intake, jobs)."""
    if scope is None:
        return dict(SYSTEM_ACTOR)
    p = scope.principal
    return {"kind": p.kind, "id": p.id, "name": p.name}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Pure: `{field: [old, new]}` for every field whose value changed."""
    return {k: [before.get(k), after.get(k)] for k in after
            if k not in {"version", "updated_at"} and before.get(k) != after.get(k)}


# --- recording --------------------------------------------------------------------------------

_NOTED = "switchboard.outbox.noted"
_INSERT = insert(Event.__table__)


@dataclass
class _Noted:
    """An event of the session's transaction: its row, the (innermost) transaction that
    recorded it and the one its row was written in (None: not yet written)."""

    row: dict[str, Any]
    recorded_in: SessionTransaction | None
    written_in: SessionTransaction | None = None


def record(session: AsyncSession, *, type: EventType, desk_id: int | None, subject_type: str,
           subject_id: int, data: BaseModel | dict[str, Any], scope: DeskScope | None,
           changes: dict[str, Any] | None = None) -> None:
    """Note an event of the session's transaction; it is written when the transaction commits,
    and the consumers are woken after that commit."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    row = {"type": str(type), "desk_id": desk_id, "subject_type": subject_type,
           "subject_id": subject_id, "actor": actor_of(scope), "data": payload,
           "changes": changes or None}
    # (Services record after reading what changed, so a transaction is open.)
    session.info.setdefault(_NOTED, []).append(_Noted(row, _innermost(session.sync_session)))
    wake_consumers(session)


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


# --- waking the consumers ---------------------------------------------------------------------

# The consumers of the outbox, by the fixed job name each runs under (its worker registers a
# function of that name). The webhook fan-out is the one consumer so far.
DISPATCH_JOB = "dispatch_events"
CONSUMERS: tuple[str, ...] = (DISPATCH_JOB,)

# A kick queues the consumers this much later: the events of every transaction committed
# meanwhile go out in one run (at a hundred transactions a second, a run per transaction would
# cost more than the transactions), for a few milliseconds more before delivery.
KICK_DELAY_S = 0.05

_KICKED = "switchboard.outbox.kicked"


def wake_consumers(session: AsyncSession) -> None:
    """Once per transaction that writes events: queue each consumer shortly after the commit.
    The ids are fixed, so the kicks of many transactions queue one job per consumer."""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_KICKED) is transaction:
        return
    session.info[_KICKED] = transaction
    for name in CONSUMERS:
        jobs.defer(session, name, job_id=name, _defer_by=KICK_DELAY_S)
