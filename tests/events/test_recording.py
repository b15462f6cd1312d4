"""Events are noted on the session and written by the commit, in one INSERT; a rollback drops
what it rolled back."""

from __future__ import annotations

from sqlalchemy import select

from app.core import outbox
from app.models import Event


def note(session, desk_id: int, type: str) -> None:
    outbox.record(session, type=type, desk_id=desk_id, subject_type="ticket",
                  subject_id=7, data={"id": 7}, scope=None, changes={"status": ["new", "open"]})


async def types_in(session, desk_id: int) -> list[str]:
    return list((await session.scalars(
        select(Event.type).where(Event.desk_id == desk_id).order_by(Event.id))).all())


async def test_the_commit_writes_the_events_in_the_order_recorded(session, factory):
    desk = await factory.desk()
    note(session, desk.id, "ticket.created")
    note(session, desk.id, "ticket.updated")
    await session.flush()
    assert await types_in(session, desk.id) == []  # noted, not yet written
    await session.commit()
    assert await types_in(session, desk.id) == ["ticket.created", "ticket.updated"]
    [first, _] = (await session.scalars(select(Event).where(Event.desk_id == desk.id)
                                        .order_by(Event.id))).all()
    assert (first.subject_type, first.subject_id, first.data) == ("ticket", 7, {"id": 7})
    assert first.changes == {"status": ["new", "open"]} and first.actor["kind"] == "system"
    assert first.txid > 0 and first.dispatched_at is None


async def test_a_rollback_drops_the_events_of_the_transaction(session, factory):
    desk_id = (await factory.desk()).id
    await session.commit()
    await session.scalar(select(1))  # the next transaction, as a service's first read opens it
    note(session, desk_id, "ticket.created")
    await session.rollback()
    note(session, desk_id, "ticket.updated")
    await session.commit()
    assert await types_in(session, desk_id) == ["ticket.updated"]


async def test_a_savepoint_rollback_drops_only_its_own_events(session, factory):
    desk = await factory.desk()
    note(session, desk.id, "before")
    savepoint = await session.begin_nested()
    note(session, desk.id, "inside")
    await savepoint.rollback()
    async with session.begin_nested():
        note(session, desk.id, "kept inside")
    note(session, desk.id, "after")
    await session.commit()
    assert await types_in(session, desk.id) == ["before", "kept inside", "after"]


async def test_write_pending_writes_them_now_and_once(session, factory):
    desk = await factory.desk()
    note(session, desk.id, "ticket.created")
    await outbox.write_pending(session)
    assert await types_in(session, desk.id) == ["ticket.created"]
    await session.commit()
    assert await types_in(session, desk.id) == ["ticket.created"]


async def test_events_written_in_a_savepoint_that_rolls_back_are_written_again(
        session, factory):
    desk = await factory.desk()
    note(session, desk.id, "before")
    savepoint = await session.begin_nested()
    note(session, desk.id, "inside")
    await outbox.write_pending(session)  # both rows now live in the savepoint
    await savepoint.rollback()
    assert await types_in(session, desk.id) == []
    await session.commit()
    assert await types_in(session, desk.id) == ["before"]


async def test_a_commit_while_a_savepoint_is_open_writes_every_event(session, factory):
    desk = await factory.desk()
    note(session, desk.id, "before")
    await session.begin_nested()
    note(session, desk.id, "inside")
    await session.commit()
    assert await types_in(session, desk.id) == ["before", "inside"]
