"""Organizations: companies customers belong to, found by their email domains."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core import outbox
from app.core.concurrency import check_if_match
from app.core.errors import Conflict
from app.core.fields import merged
from app.core.lookup import get_in_scope
from app.core.outbox import EventType
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.desks import service as desks
from app.fields import service as fields
from app.models import Customer, Desk, FieldEntity, Organization, OrganizationDomain
from app.organizations.schemas import OrganizationCreate, OrganizationRead, OrganizationUpdate
from app.routing import checks


def read(org: Organization) -> OrganizationRead:
    return OrganizationRead.model_validate(org)


async def load(session: AsyncSession, org_id: int) -> Organization:
    """(Re)load with its domains; the identity map is refreshed."""
    org = await session.scalar(
        select(Organization).where(Organization.id == org_id)
        .options(selectinload(Organization.domain_rows))
        .execution_options(populate_existing=True)
    )
    assert org is not None
    return org


async def get(session: AsyncSession, scope: DeskScope, org_id: int, *,
              for_update: bool = False) -> Organization:
    return await get_in_scope(session, scope, Organization, org_id, "Organization",
                              for_update=for_update,
                              options=(selectinload(Organization.domain_rows),))


async def domain_holders(session: AsyncSession, desk_id: int, domains: Sequence[str],
                         *, exclude: int | None = None) -> dict[str, int]:
    if not domains:
        return {}
    stmt = select(OrganizationDomain.domain, OrganizationDomain.organization_id).where(
        OrganizationDomain.desk_id == desk_id, OrganizationDomain.domain.in_(domains))
    if exclude is not None:
        stmt = stmt.where(OrganizationDomain.organization_id != exclude)
    return {d: o for d, o in (await session.execute(stmt)).all()}


async def _add_domains(session: AsyncSession, org: Organization, domains: Sequence[str]) -> None:
    """Give `org` these domains (and flush pending changes). The unique key decides a race with
    a concurrent request that took one meanwhile: 409 naming the holder, as the check does."""
    if not domains:
        return
    try:
        async with session.begin_nested():
            session.add_all(OrganizationDomain(desk_id=org.desk_id, organization_id=org.id,
                                               domain=d) for d in domains)
            await session.flush()
    except IntegrityError:
        holders = await domain_holders(session, org.desk_id, domains, exclude=org.id)
        if holders:
            raise domain_conflict(holders) from None
        raise


def domain_conflict(holders: dict[str, int]) -> Conflict:
    domain, holder = sorted(holders.items())[0]
    return Conflict(f"Domain {domain} already belongs to organization {holder} in this desk.",
                    domain=domain, organization_id=holder, existing_id=holder)


async def create(session: AsyncSession, scope: DeskScope, payload: OrganizationCreate) -> Organization:
    desk = await desks.get_active(session, scope, payload.desk_id)
    await checks.check_saved_actions(session, scope, desk, payload.routing_actions,
                                     ["body", "routing_actions"])
    custom = await fields.clean(session, payload.desk_id, FieldEntity.organization,
                                payload.custom_fields, ["body", "custom_fields"])
    holders = await domain_holders(session, payload.desk_id, payload.domains)
    if holders:
        raise domain_conflict(holders)
    org = Organization(
        desk_id=payload.desk_id, name=payload.name, shared_tickets=payload.shared_tickets,
        custom_fields={k: v for k, v in custom.items() if v is not None},
        routing_actions=[a.model_dump(mode="json") for a in payload.routing_actions],
        notes=payload.notes, **checks.saved_by(scope),
    )
    session.add(org)
    await session.flush()
    await _add_domains(session, org, payload.domains)
    org = await load(session, org.id)
    _created(session, org, scope)
    return org


async def create_named(session: AsyncSession, desk_id: int, name: str,
                       scope: DeskScope | None) -> int:
    """An organization the system makes (the customer import's `organization` column): a name
    only, like those auto-created for a domain, so the desk's required fields do not apply."""
    org = Organization(desk_id=desk_id, name=name)
    session.add(org)
    await session.flush()
    return _created(session, await load(session, org.id), scope)


def _created(session: AsyncSession, org: Organization, scope: DeskScope | None) -> int:
    """Record `organization.created` (in the transaction that creates it); return the id."""
    outbox.record(session, type=EventType.organization_created, desk_id=org.desk_id,
                  subject_type="organization", subject_id=org.id, data=read(org), scope=scope)
    return org.id


async def create_for_domain(session: AsyncSession, desk_id: int, domain: str,
                            scope: DeskScope | None) -> int:
    """The organization owning `domain` in the desk, created (named after it) if none does.

    Safe under concurrency: the unique (desk_id, domain) key decides the winner; a loser's
    organization is rolled back to its savepoint and the winner's id returned.
    """
    async with session.begin_nested() as savepoint:
        org = Organization(desk_id=desk_id, name=domain)
        session.add(org)
        await session.flush()
        claimed = await session.scalar(
            insert(OrganizationDomain)
            .values(desk_id=desk_id, organization_id=org.id, domain=domain)
            .on_conflict_do_nothing(index_elements=["desk_id", "domain"])
            .returning(OrganizationDomain.id)
        )
        if claimed is None:
            await savepoint.rollback()
    if claimed is None:
        holder = (await domain_holders(session, desk_id, [domain]))[domain]
        return holder
    return _created(session, await load(session, org.id), scope)


async def list_(session: AsyncSession, scope: DeskScope, params: PageParams, *,
                desk_id: int | None = None, name: str | None = None,
                domain: str | None = None) -> tuple[list[Organization], str | None]:
    stmt = scope.filter(select(Organization), Organization).options(
        selectinload(Organization.domain_rows))
    if desk_id is not None:
        scope.check_desk(desk_id)
        stmt = stmt.where(Organization.desk_id == desk_id)
    if name:
        stmt = stmt.where(func.lower(Organization.name).startswith(name.lower(), autoescape=True))
    if domain:
        stmt = stmt.where(Organization.id.in_(
            select(OrganizationDomain.organization_id).where(OrganizationDomain.domain == domain)))
    return await paginate(session, stmt, params, [SortKey(Organization.id)])


async def update(session: AsyncSession, scope: DeskScope, org_id: int,
                 payload: OrganizationUpdate, if_match: str | None) -> Organization:
    org = await get(session, scope, org_id, for_update=True)
    check_if_match(if_match, org.version)
    before = read(org).model_dump(mode="json")
    if payload.name is not None:
        org.name = payload.name
    if payload.shared_tickets is not None:
        org.shared_tickets = payload.shared_tickets
    if payload.notes is not None:
        org.notes = payload.notes
    if payload.routing_actions is not None:
        desk = await session.get_one(Desk, org.desk_id)
        await checks.check_saved_actions(session, scope, desk, payload.routing_actions,
                                         ["body", "routing_actions"])
        org.routing_actions = [a.model_dump(mode="json") for a in payload.routing_actions]
        for column, value in checks.saved_by(scope).items():  # its moves are checked against them
            setattr(org, column, value)
    if payload.custom_fields is not None:
        changes = await fields.clean(session, org.desk_id, FieldEntity.organization,
                                     payload.custom_fields, ["body", "custom_fields"], partial=True)
        org.custom_fields = merged(org.custom_fields, changes)
    if payload.domains is not None:
        await _replace_domains(session, org, payload.domains)
    await session.flush()
    org = await load(session, org.id)
    after = read(org).model_dump(mode="json")
    changes = outbox.diff(before, after)
    if changes:
        outbox.record(session, type=EventType.organization_updated, desk_id=org.desk_id,
                      subject_type="organization", subject_id=org.id, data=after, scope=scope,
                      changes=changes)
    return org


async def _replace_domains(session: AsyncSession, org: Organization, domains: list[str]) -> None:
    holders = await domain_holders(session, org.desk_id, domains, exclude=org.id)
    if holders:
        raise domain_conflict(holders)
    current = {d.domain: d for d in org.domain_rows}
    for domain, row in current.items():
        if domain not in domains:
            await session.delete(row)
    await _add_domains(session, org, [d for d in domains if d not in current])
    org.updated_at = func.now()  # a domain change is a change of the organization


async def delete(session: AsyncSession, scope: DeskScope, org_id: int) -> None:
    """Its customers stay, without an organization (a change of theirs: a new version/ETag)."""
    org = await get(session, scope, org_id, for_update=True)
    await session.execute(
        sa_update(Customer).where(Customer.organization_id == org.id)
        .values(organization_id=None, version=Customer.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.delete(org)
    await session.flush()


async def claim_customers(session: AsyncSession, scope: DeskScope, org_id: int) -> list[int]:
    """Customers of the organization's domains with no organization yet join it."""
    org = await get(session, scope, org_id, for_update=True)
    if not org.domains:
        return []
    result = await session.scalars(
        sa_update(Customer)
        .where(Customer.desk_id == org.desk_id, Customer.organization_id.is_(None),
               Customer.email_domain.in_(org.domains))
        .values(organization_id=org.id, version=Customer.version + 1, updated_at=func.now())
        .returning(Customer.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.all())


