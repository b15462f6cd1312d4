"""`app.customers.service.find_or_create`: one customer per desk and email, whoever asks first.

The concurrency tests commit for real, on connections of their own, in a database of their own
(created and migrated for this module, dropped at its end).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.errors import Conflict, Unprocessable
from app.core.scope import DeskScope, Principal, Scope
from app.customers import schemas
from app.customers.schemas import CustomerCreate
from app.customers.service import create, find_or_create
from app.models import Customer, Desk, Event, Organization, OrganizationDomain
from app.organizations import service as organizations
from app.organizations.schemas import OrganizationCreate
from app.tickets.schemas import RequesterIn
from tests.customers.helpers import events, organizations_in

SCOPE = DeskScope(Principal("api_token", 0, "service test"), frozenset({Scope.admin.value}), None)


# --- in the test's transaction ----------------------------------------------------------------

async def _org(session: AsyncSession, desk: Desk, name: str, *domains: str) -> Organization:
    org = Organization(desk_id=desk.id, name=name)
    session.add(org)
    await session.flush()
    session.add_all(OrganizationDomain(desk_id=desk.id, organization_id=org.id, domain=d)
                    for d in domains)
    await session.flush()
    return org


async def test_find_or_create_creates_a_new_customer_with_its_event(session, factory):
    desk = await factory.desk()
    customer, created = await find_or_create(session, SCOPE, desk, " Ana@ACME.example ",
                                             name="Ana", phone="+1 555 0100")
    await session.flush()
    assert created is True
    assert (customer.desk_id, customer.email, customer.email_domain, customer.name,
            customer.phone, customer.organization_id) == (
        desk.id, "ana@acme.example", "acme.example", "Ana", "+1 555 0100", None)
    [event] = await events(session, "customer.created", subject_id=customer.id)
    assert event.data["email"] == "ana@acme.example"
    assert event.actor == {"kind": "api_token", "id": 0, "name": "service test"}


async def test_find_or_create_returns_the_existing_customer_in_any_case(session, factory):
    desk = await factory.desk()
    first, _ = await find_or_create(session, SCOPE, desk, "ana@acme.example")
    again, created = await find_or_create(session, SCOPE, desk, "ANA@Acme.Example")
    assert created is False
    assert again.id == first.id
    await session.flush()
    assert len(await events(session, "customer.created", subject_id=first.id)) == 1


async def test_find_or_create_finds_a_customer_created_through_the_api(session, factory):
    desk = await factory.desk()
    made = await create(session, SCOPE, CustomerCreate(desk_id=desk.id, email="Ana@Bücher.example"))
    for spelling in ("ana@bücher.example", "ANA@BÜCHER.EXAMPLE", "ana@xn--bcher-kva.example"):
        found, created = await find_or_create(session, SCOPE, desk, spelling)
        assert (found.id, created) == (made.id, False), spelling


async def test_find_or_create_refuses_what_is_not_an_email_address(session, factory):
    desk = await factory.desk()
    for bad in ("not-an-email", "ana@localhost", "ana@"):
        with pytest.raises(Unprocessable) as caught:
            await find_or_create(session, SCOPE, desk, bad)
        assert caught.value.errors[0]["loc"] == ["body", "email"]
    assert await session.scalar(select(func.count()).select_from(Customer)
                                .where(Customer.desk_id == desk.id)) == 0


async def test_find_or_create_is_per_desk(session, factory):
    desk, other = await factory.desk(), await factory.desk()
    mine, _ = await find_or_create(session, SCOPE, desk, "ana@acme.example")
    theirs, created = await find_or_create(session, SCOPE, other, "ana@acme.example")
    assert created is True
    assert theirs.id != mine.id


async def test_find_or_create_joins_the_organization_owning_the_domain(session, factory):
    desk = await factory.desk()
    org = await _org(session, desk, "Acme", "acme.example")
    customer, _ = await find_or_create(session, SCOPE, desk, "ana@ACME.example")
    assert customer.organization_id == org.id


async def test_find_or_create_auto_creates_organizations_but_not_for_free_mail(session,
                                                                               factory):
    desk = await factory.desk(settings={"auto_create_organizations": True})
    ana, _ = await find_or_create(session, SCOPE, desk, "ana@newco.example")
    bob, _ = await find_or_create(session, SCOPE, desk, "bob@newco.example")
    eve, _ = await find_or_create(session, SCOPE, desk, "eve@gmail.com")
    assert ana.organization_id is not None
    assert bob.organization_id == ana.organization_id
    assert eve.organization_id is None
    [org] = await organizations_in(session, desk.id)
    assert (org.id, org.name) == (ana.organization_id, "newco.example")


async def test_find_or_create_without_auto_create_makes_no_organization(session, factory):
    desk = await factory.desk(settings={"auto_create_organizations": False})
    customer, _ = await find_or_create(session, SCOPE, desk, "ana@newco.example")
    assert customer.organization_id is None
    assert await organizations_in(session, desk.id) == []


# --- concurrency: real commits on separate connections ----------------------------------------

@pytest_asyncio.fixture(loop_scope="session")
async def committed_desk(own_sessions) -> AsyncIterator[Any]:
    """A committed desk (with auto-created organizations), deleted with its rows afterwards."""

    async def make(**settings: Any) -> int:
        async with own_sessions() as s:
            desk = Desk(name="Concurrency", settings=settings)
            s.add(desk)
            await s.commit()
            made.append(desk.id)
            return desk.id

    made: list[int] = []
    yield make
    async with own_sessions() as s:
        for desk_id in made:  # customers, organizations, domains and events cascade
            await s.delete(await s.get_one(Desk, desk_id))
        await s.commit()


async def _call(sessions, desk_id: int, email: str, *, commit: bool = True,
                before: Awaitable[Any] | None = None) -> tuple[int, bool]:
    async with sessions() as s:
        if before is not None:
            await before
        desk = await s.get_one(Desk, desk_id)
        customer, created = await find_or_create(s, SCOPE, desk, email)
        if commit:
            await s.commit()
        return customer.id, created


async def _wait_until_blocked_on_a_lock(engine: AsyncEngine, task: asyncio.Task) -> None:
    """Return once another backend of this database waits for a row/index lock."""
    async with engine.connect() as conn:
        for _ in range(2000):
            assert not task.done(), "the second call finished without waiting for the first"
            waiting = await conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            await conn.rollback()
            if waiting:
                return
            await asyncio.sleep(0.005)
    raise AssertionError("the second call never waited for the first one's lock")


async def _rows(sessions, desk_id: int) -> dict[str, Any]:
    async with sessions() as s:
        customers = (await s.execute(select(Customer.id, Customer.email, Customer.organization_id)
                                     .where(Customer.desk_id == desk_id)
                                     .order_by(Customer.id))).all()
        orgs = (await s.scalars(select(Organization.id)
                                .where(Organization.desk_id == desk_id))).all()
        domains = (await s.execute(select(OrganizationDomain.domain,
                                          OrganizationDomain.organization_id)
                                   .where(OrganizationDomain.desk_id == desk_id))).all()
        kinds = (await s.scalars(select(Event.type).where(Event.desk_id == desk_id)
                                 .order_by(Event.id))).all()
        return {"customers": list(customers), "organizations": list(orgs),
                "domains": dict(domains), "events": list(kinds)}


@pytest.mark.committing
async def test_two_overlapping_calls_for_one_email_make_one_customer(own_engine, own_sessions,
                                                                     committed_desk):
    desk_id = await committed_desk()
    async with own_sessions() as first:
        desk = await first.get_one(Desk, desk_id)
        mine, created_first = await find_or_create(first, SCOPE, desk, "ana@acme.example")
        # The second transaction cannot see the first's uncommitted row: it must wait on the
        # unique key, then agree on the row the first one commits.
        second = asyncio.create_task(_call(own_sessions, desk_id, "ANA@acme.example"))
        await _wait_until_blocked_on_a_lock(own_engine, second)
        await first.commit()
    theirs, created_second = await second
    assert theirs == mine.id
    assert (created_first, created_second) == (True, False)
    rows = await _rows(own_sessions, desk_id)
    assert rows["customers"] == [(mine.id, "ana@acme.example", None)]
    assert rows["events"] == ["customer.created"]


@pytest.mark.committing
async def test_many_simultaneous_calls_for_one_email_make_one_customer(own_sessions,
                                                                       committed_desk):
    desk_id = await committed_desk()
    start = asyncio.Event()
    results = await asyncio.gather(*(
        _call(own_sessions, desk_id, email, before=start.wait())
        for email in ["ana@acme.example", "Ana@Acme.example", "ANA@ACME.EXAMPLE"] * 3
    ), _release(start))
    outcomes = results[:-1]
    rows = await _rows(own_sessions, desk_id)
    [(customer_id, _, _)] = rows["customers"]
    assert {customer_id} == {cid for cid, _ in outcomes}
    assert sum(created for _, created in outcomes) == 1
    assert rows["events"] == ["customer.created"]


async def _release(event: asyncio.Event) -> None:
    event.set()


@pytest.mark.committing
async def test_two_overlapping_customers_of_a_new_domain_make_one_organization(
        own_engine, own_sessions, committed_desk):
    desk_id = await committed_desk(auto_create_organizations=True)
    async with own_sessions() as first:
        desk = await first.get_one(Desk, desk_id)
        ana, _ = await find_or_create(first, SCOPE, desk, "ana@newco.example")
        second = asyncio.create_task(_call(own_sessions, desk_id, "bob@NewCo.example"))
        await _wait_until_blocked_on_a_lock(own_engine, second)
        await first.commit()
    bob_id, created = await second
    assert created is True
    rows = await _rows(own_sessions, desk_id)
    [org_id] = rows["organizations"]
    assert rows["domains"] == {"newco.example": org_id}
    assert rows["customers"] == [(ana.id, "ana@newco.example", org_id),
                                 (bob_id, "bob@newco.example", org_id)]
    assert sorted(rows["events"]) == ["customer.created", "customer.created",
                                      "organization.created"]


@pytest.mark.committing
async def test_many_simultaneous_customers_of_a_new_domain_make_one_organization(
        own_sessions, committed_desk):
    desk_id = await committed_desk(auto_create_organizations=True)
    start = asyncio.Event()
    emails = [f"user{i}@newco.example" for i in range(8)]
    results = await asyncio.gather(*(
        _call(own_sessions, desk_id, email, before=start.wait()) for email in emails
    ), _release(start))
    rows = await _rows(own_sessions, desk_id)
    [org_id] = rows["organizations"]
    assert rows["domains"] == {"newco.example": org_id}
    assert sorted(email for _, email, _ in rows["customers"]) == sorted(emails)
    assert {org for _, _, org in rows["customers"]} == {org_id}
    assert sorted(cid for cid, _ in results[:-1]) == [cid for cid, _, _ in rows["customers"]]
    assert rows["events"].count("organization.created") == 1
    assert rows["events"].count("customer.created") == len(emails)


@pytest.mark.committing
async def test_a_call_after_the_commit_finds_the_customer(own_sessions, committed_desk):
    desk_id = await committed_desk()
    first_id, created = await _call(own_sessions, desk_id, "ana@acme.example")
    again_id, created_again = await _call(own_sessions, desk_id, "ana@acme.example")
    assert (again_id, created, created_again) == (first_id, True, False)


# --- the API's create paths under the same race -----------------------------------------------

async def _in_own_session(sessions, work) -> Any:
    async with sessions() as s:
        result = await work(s)
        await s.commit()
        return result


@pytest.mark.committing
async def test_a_create_racing_for_the_same_email_is_409_naming_the_winner(
        own_engine, own_sessions, committed_desk):
    desk_id = await committed_desk()
    payload = CustomerCreate(desk_id=desk_id, email="ana@acme.example")
    async with own_sessions() as first:
        winner = await create(first, SCOPE, payload)
        loser = asyncio.create_task(_in_own_session(
            own_sessions, lambda s: create(s, SCOPE, payload)))
        await _wait_until_blocked_on_a_lock(own_engine, loser)
        await first.commit()
    with pytest.raises(Conflict) as caught:
        await loser
    assert caught.value.extensions["existing_id"] == winner.id
    assert len((await _rows(own_sessions, desk_id))["customers"]) == 1


@pytest.mark.committing
async def test_an_organization_racing_for_the_same_domain_is_409_naming_the_holder(
        own_engine, own_sessions, committed_desk):
    desk_id = await committed_desk()

    def payload(name: str) -> OrganizationCreate:
        return OrganizationCreate(desk_id=desk_id, name=name, domains=["acme.example"])

    async with own_sessions() as first:
        holder = await organizations.create(first, SCOPE, payload("First"))
        loser = asyncio.create_task(_in_own_session(
            own_sessions, lambda s: organizations.create(s, SCOPE, payload("Second"))))
        await _wait_until_blocked_on_a_lock(own_engine, loser)
        await first.commit()
    with pytest.raises(Conflict) as caught:
        await loser
    assert caught.value.extensions["organization_id"] == holder.id
    rows = await _rows(own_sessions, desk_id)
    assert rows["organizations"] == [holder.id]
    assert rows["domains"] == {"acme.example": holder.id}


def test_an_address_a_schema_validated_is_not_validated_again(monkeypatch) -> None:
    stored = RequesterIn(email="Noa@XN--BCHER-KVA.example").email
    assert stored == "noa@bücher.example"

    class Refuses:
        def validate_python(self, raw: str) -> str:
            raise AssertionError(f"validated {raw!r} again")

    monkeypatch.setattr(schemas, "_EMAIL", Refuses())
    assert schemas.normalize_email(stored) == stored


def test_normalising_remembers_each_spelling_and_stays_bounded(monkeypatch) -> None:
    monkeypatch.setattr(schemas, "_NORMALIZED", {})
    monkeypatch.setattr(schemas, "_NORMALIZED_MAX", 3)
    assert schemas.normalize_email(" Ana@Acme.Example ") == "ana@acme.example"
    assert schemas._NORMALIZED[" Ana@Acme.Example "] == "ana@acme.example"
    for i in range(5):
        schemas.normalize_email(f"user{i}@acme.example")
    assert len(schemas._NORMALIZED) <= 3
    with pytest.raises(ValueError):
        schemas.normalize_email("not an address")
    assert "not an address" not in schemas._NORMALIZED
