"""Tickets under simultaneous requests. These commit for real: the app runs on a database of
this module's own (created and migrated here, dropped at the end), each request on its own
connection, all of them sent at once through one ASGI transport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.service import create_admin
from app.core.config import Settings
from app.main import create_app
from app.models import Customer, Desk, Event, Ticket
from app.tickets import service as tickets
from app.tickets.schemas import TicketCreate
from tests.conftest import TEST_SECRET, bearer
from tests.tickets.conftest import ticket_body

pytestmark = pytest.mark.committing


@pytest_asyncio.fixture(loop_scope="session")
async def own_client(own_url, own_sessions, services, redis) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose every request commits (or rolls back) for real."""
    settings = Settings(environment="test", secret_key=TEST_SECRET, database_url=own_url,
                        redis_url=services.redis_url,
                        redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}")
    app = create_app(settings, manage_resources=False)
    app.state.sessionmaker = own_sessions
    app.state.redis = app.state.arq = redis
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def committed(own_sessions) -> AsyncIterator[tuple[int, dict[str, str]]]:
    """A committed desk and an admin token, deleted (with the desk's rows) afterwards."""
    async with own_sessions() as s:
        desk = Desk(name="Concurrency")
        s.add(desk)
        _, secret = await create_admin(s, f"admin-{uuid.uuid4().hex[:8]}@x.example")
        await s.commit()
        desk_id = desk.id
    yield desk_id, bearer(secret)
    async with own_sessions() as s:  # tickets, customers, comments and events cascade
        await s.delete(await s.get_one(Desk, desk_id))
        await s.commit()


async def _created(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                   **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/tickets", headers=headers, json=ticket_body(desk_id, **body))
    assert response.status_code == 201, response.text
    return response.json()


async def _locked_until_both_wait(engine: AsyncEngine, ticket_id: int, *requests) -> list:
    """Hold the ticket's row lock until every request waits for it, then let them race."""
    async with engine.connect() as holder:
        await holder.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"),
                             {"id": ticket_id})
        tasks = [asyncio.ensure_future(r) for r in requests]
        await _until_waiting(engine, tasks)
        await holder.rollback()
    return list(await asyncio.gather(*tasks))


async def _until_waiting(engine: AsyncEngine, tasks: list[asyncio.Future]) -> None:
    """Until every task's request waits for a lock (none may finish meanwhile)."""
    async with engine.connect() as watcher:
        for _ in range(2000):
            waiting = await watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            await watcher.rollback()
            if waiting == len(tasks):
                return
            assert not any(t.done() for t in tasks), [t.result() for t in tasks if t.done()]
            await asyncio.sleep(0.005)
    raise AssertionError("the requests never waited for the lock")


async def test_two_simultaneous_patches_with_one_if_match_give_one_200_and_one_412(
        own_client, own_engine, own_sessions, committed):
    desk_id, headers = committed
    ticket = await _created(own_client, headers, desk_id)
    stale = {**headers, "If-Match": '"1"'}
    responses = await asyncio.gather(
        own_client.patch(f"/v1/tickets/{ticket['id']}", headers=stale, json={"status": "open"}),
        own_client.patch(f"/v1/tickets/{ticket['id']}", headers=stale,
                         json={"status": "solved"}),
    )
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    [won] = [r for r in responses if r.status_code == 200]
    async with own_sessions() as s:
        row = await s.get_one(Ticket, ticket["id"])
        assert (row.status, row.version) == (won.json()["status"], 2)
        updates = await s.scalar(select(func.count()).select_from(Event).where(
            Event.subject_id == ticket["id"], Event.type == "ticket.updated"))
        assert updates == 1


async def test_patches_waiting_on_one_lock_with_one_if_match_give_one_200_and_one_412(
        own_client, own_engine, own_sessions, committed):
    desk_id, headers = committed
    ticket = await _created(own_client, headers, desk_id)
    stale = {**headers, "If-Match": '"1"'}
    url = f"/v1/tickets/{ticket['id']}"
    responses = await _locked_until_both_wait(
        own_engine, ticket["id"],
        own_client.patch(url, headers=stale, json={"priority": "high"}),
        own_client.patch(url, headers=stale, json={"priority": "low"}))
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    [lost] = [r for r in responses if r.status_code == 412]
    assert lost.json()["current_etag"] == '"2"'


async def test_simultaneous_patches_without_if_match_lose_no_update(own_client, own_engine,
                                                                    own_sessions, committed):
    desk_id, headers = committed
    ticket = await _created(own_client, headers, desk_id)
    url = f"/v1/tickets/{ticket['id']}"
    responses = await _locked_until_both_wait(
        own_engine, ticket["id"],
        own_client.patch(url, headers=headers, json={"priority": "urgent"}),
        own_client.patch(url, headers=headers, json={"status": "pending"}))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    async with own_sessions() as s:
        row = await s.get_one(Ticket, ticket["id"])
        assert (row.priority, row.status, row.version) == (3, "pending", 3)


async def test_simultaneous_creates_in_one_desk_get_distinct_numbers_and_one_requester(
        own_client, own_sessions, committed):
    desk_id, headers = committed
    made = await asyncio.gather(*(
        _created(own_client, headers, desk_id, subject=f"Ticket {i}",
                 requester={"email": "Ana@Acme.example" if i % 2 else "ana@acme.example"})
        for i in range(8)))
    assert sorted(t["number"] for t in made) == list(range(1, 9))
    assert len({t["requester_id"] for t in made}) == 1
    async with own_sessions() as s:
        customers = (await s.scalars(select(Customer.id).where(Customer.desk_id == desk_id))).all()
        assert list(customers) == [made[0]["requester_id"]]


async def test_simultaneous_comments_all_land_and_keep_the_version(own_client, own_sessions,
                                                                   committed):
    desk_id, headers = committed
    ticket = await _created(own_client, headers, desk_id)
    url = f"/v1/tickets/{ticket['id']}/comments"
    responses = await asyncio.gather(*(
        own_client.post(url, headers=headers, json={"body": f"reply {i}", "public": i % 2 == 0})
        for i in range(6)))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    patched = await own_client.patch(f"/v1/tickets/{ticket['id']}",
                                     headers={**headers, "If-Match": '"1"'},
                                     json={"status": "open"})
    assert patched.status_code == 200, patched.text
    listed = (await own_client.get(url, headers=headers)).json()["items"]
    assert sorted(c["body"] for c in listed) == sorted(f"reply {i}" for i in range(6))
    assert patched.json()["first_responded_at"] is not None


async def test_a_create_that_loses_the_race_for_a_new_requester_uses_the_winners_customer(
        own_client, own_engine, own_sessions, committed):
    """The requester is found or inserted by the ticket's own INSERT. When another transaction
    inserts the same new customer first, that INSERT waits for it, inserts nothing and takes no
    number; the create then finds the committed customer and numbers the ticket after it."""
    desk_id, headers = committed
    first = await _created(own_client, headers, desk_id)
    async with own_engine.connect() as winner:
        await winner.execute(text(
            "INSERT INTO customers (desk_id, email, email_domain, name, custom_fields, version) "
            "VALUES (:desk, 'race@acme.example', 'acme.example', 'Winner', '{}', 1)"),
            {"desk": desk_id})
        create = asyncio.ensure_future(_created(
            own_client, headers, desk_id, requester={"email": "race@acme.example"}))
        await _until_waiting(own_engine, [create])  # for the winner's uncommitted row
        await winner.commit()
    ticket = await create
    async with own_sessions() as s:
        customer = await s.scalar(select(Customer).where(Customer.desk_id == desk_id,
                                                         Customer.email == "race@acme.example"))
        created_events = await s.scalar(select(func.count()).select_from(Event).where(
            Event.type == "customer.created", Event.subject_id == customer.id))
    assert (ticket["requester_id"], customer.name) == (customer.id, "Winner")
    assert ticket["number"] == first["number"] + 1  # no number lost to the attempt
    assert created_events == 0  # this request did not create the customer


async def test_a_create_does_not_wait_for_an_uncommitted_create_in_its_desk(
        own_client, own_engine, own_sessions, committed):
    """Ticket numbers come from the desk's sequence: nothing a create locks in its desk lasts to
    its commit, so a second create in the same desk answers while the first is still open, with
    the next number; a rolled-back create leaves a gap, never a repeated number."""
    desk_id, headers = committed
    async with own_sessions() as held:
        desk = await held.get_one(Desk, desk_id)
        first = (await tickets.create(held, None, TicketCreate(**ticket_body(desk_id)),
                                      desk=desk)).number
        second = asyncio.ensure_future(_created(  # another requester: no row of the first's
            own_client, headers, desk_id, requester={"email": "bo@acme.example"}))
        done, _ = await asyncio.wait([second], timeout=10)
        assert done, "the second create waited for the first one's commit"
        assert second.result()["number"] == first + 1
        await held.rollback()  # the first create's number is lost: a gap
    third = await _created(own_client, headers, desk_id, requester={"email": "cy@acme.example"})
    assert third["number"] == first + 2
    async with own_sessions() as s:
        numbers = (await s.scalars(select(Ticket.number).where(Ticket.desk_id == desk_id)
                                   .order_by(Ticket.id))).all()
    assert list(numbers) == [first + 1, first + 2]


async def test_simultaneous_creates_and_a_transfer_into_one_desk_never_share_a_number(
        own_client, own_sessions, committed):
    desk_id, headers = committed
    async with own_sessions() as s:
        other = Desk(name="Concurrency source")
        s.add(other)
        await s.commit()
        other_id = other.id
    try:
        moving = await _created(own_client, headers, other_id)
        made = await asyncio.gather(
            *(_created(own_client, headers, desk_id, subject=f"Ticket {i}") for i in range(6)),
            own_client.post(f"/v1/tickets/{moving['id']}/transfer", headers=headers,
                            json={"desk_id": desk_id}))
        moved = made[-1]
        assert moved.status_code == 200, moved.text
        numbers = [t["number"] for t in made[:-1]] + [moved.json()["number"]]
        assert sorted(numbers) == list(range(1, 8))
    finally:
        async with own_sessions() as s:
            await s.delete(await s.get_one(Desk, other_id))
            await s.commit()
