"""Customers: the people who ask. Found or created by email, joined to organizations by domain."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Integer,
    String,
    bindparam,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core import outbox
from app.core.concurrency import check_if_match
from app.core.domains import email_domain, is_public_mail_domain
from app.core.errors import Conflict, invalid
from app.core.fields import merged
from app.core.lookup import get_in_scope
from app.core.outbox import EventType
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate, normalize_email
from app.desks import service as desks
from app.desks.schemas import DeskSettings
from app.fields import service as fields
from app.models import Customer, Desk, FieldEntity, Organization, OrganizationDomain
from app.organizations import service as organizations


def read(customer: Customer) -> CustomerRead:
    return CustomerRead.model_validate(customer)


async def resolve_organization(session: AsyncSession, desk: Desk, domain: str,
                               scope: DeskScope | None) -> int | None:
    """The desk's organization for an email domain: the one owning it, else (when the desk
    auto-creates organizations and the domain is not free-mail or disposable) a new one."""
    holder = await session.scalar(select(OrganizationDomain.organization_id).where(
        OrganizationDomain.desk_id == desk.id, OrganizationDomain.domain == domain))
    if holder is not None:
        return holder
    if not may_create_organization(desk, domain):
        return None
    return await organizations.create_for_domain(session, desk.id, domain, scope)


def may_create_organization(desk: Desk, domain: str) -> bool:
    settings = DeskSettings.model_validate(desk.settings)
    return settings.auto_create_organizations and not is_public_mail_domain(domain)


async def _organization_in_desk(session: AsyncSession, desk_id: int, org_id: int) -> int:
    found = await session.scalar(select(Organization.id).where(
        Organization.id == org_id, Organization.desk_id == desk_id))
    if found is None:
        raise invalid(["body", "organization_id"], f"organization {org_id} is not in desk {desk_id}")
    return found


async def find_or_create(session: AsyncSession, scope: DeskScope | None, desk: Desk, email: str,
                         *, name: str = "", phone: str | None = None,
                         loc: Sequence[str | int] = ("body", "email")) -> tuple[Customer, bool]:
    """The desk's customer with this email, created if new (joining an organization by domain).

    The email is normalised as the API stores it, so every spelling finds the same customer;
    one that is not an address is a 422 at `loc`. Safe under concurrency: the unique
    (desk_id, email) key and ON CONFLICT make simultaneous calls agree on one row. Tickets,
    forms and email intake call this.
    """
    email = normalized(email, loc)
    domain = email_domain(email)
    if may_create_organization(desk, domain):
        customer, created = await _find_or_insert_resolving(session, scope, desk, email, domain,
                                                            name, phone)
    else:  # the hot path: found or inserted in one round trip
        row = (await session.execute(_find_or_insert_statement(), {
            "desk_id": desk.id, "email": email, "email_domain": domain, "name": name,
            "phone": phone})).first()
        customer, created = row if row is not None else (None, False)
    if customer is None:  # a concurrent request created it first
        customer = await session.scalar(select(Customer).where(Customer.desk_id == desk.id,
                                                               Customer.email == email))
        assert customer is not None
        return customer, False
    if created:
        record_created(session, customer, scope)
    return customer, created


def normalized(email: str, loc: Sequence[str | int]) -> str:
    """The stored form of an address, or 422 at `loc`."""
    try:
        return normalize_email(email)
    except ValidationError as exc:
        raise invalid(loc, "must be an email address", "value_error") from exc


def record_created(session: AsyncSession, customer: Customer, scope: DeskScope | None) -> None:
    outbox.record(session, type=EventType.customer_created, desk_id=customer.desk_id,
                  subject_type="customer", subject_id=customer.id, data=read(customer),
                  scope=scope)


async def _find_or_insert_resolving(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                                    email: str, domain: str, name: str, phone: str | None
                                    ) -> tuple[Customer | None, bool]:
    """Find, else insert joining the domain's organization, created first if it is new (so
    only a new customer creates one)."""
    existing = await session.scalar(select(Customer).where(Customer.desk_id == desk.id,
                                                           Customer.email == email))
    if existing is not None:
        return existing, False
    org_id = await resolve_organization(session, desk, domain, scope)
    customer = await _insert(session, desk_id=desk.id, email=email, email_domain=domain,
                             name=name, phone=phone, organization_id=org_id, custom_fields={})
    return customer, customer is not None


@lru_cache(maxsize=1)
def _find_or_insert_statement() -> Any:
    """The desk's customer with an email, else a new one joining the organization that owns
    the email's domain (if any), with a flag saying which; no row when a concurrent request
    inserted it between the two. Built once: only the values change."""
    either = found_or_inserted()
    return select(aliased(Customer, either), either.c.created)


@lru_cache(maxsize=1)
def found_or_inserted() -> Any:
    """A CTE of `_find_or_insert_statement`'s row (the customer's columns and `created`), for
    statements that go on to use the customer (a ticket's INSERT); its values are bound as
    `desk_id`, `email`, `email_domain`, `name` and `phone`."""
    table = Customer.__table__
    desk_id, email = bindparam("desk_id", type_=Integer), bindparam("email", type_=String)
    found = select(table).where(table.c.desk_id == desk_id, table.c.email == email).cte("found")
    organization = select(OrganizationDomain.organization_id).where(
        OrganizationDomain.desk_id == desk_id,
        OrganizationDomain.domain == bindparam("email_domain", type_=String)).scalar_subquery()
    values = {"desk_id": desk_id, "email": email,
              "email_domain": bindparam("email_domain", type_=String),
              "name": bindparam("name", type_=String),
              "phone": bindparam("phone", type_=String), "organization_id": organization,
              "custom_fields": literal_column("'{}'::jsonb"), "version": literal(1)}
    inserted = (insert(table)
                .from_select(list(values), select(*values.values())
                             .where(~exists(select(found.c.id))))
                .on_conflict_do_nothing(index_elements=["desk_id", "email"])
                .returning(*table.c).cte("inserted"))
    return union_all(select(found, false().label("created")),
                     select(inserted, true().label("created"))).cte("requester")


async def _insert(session: AsyncSession, **values: object) -> Customer | None:
    """Insert a customer row (one round trip, the row comes back whole); None when the desk
    already holds the email (maybe committed by a concurrent request a moment ago: the unique
    key, not an earlier check, decides)."""
    return await session.scalar(
        insert(Customer).values(**values)
        .on_conflict_do_nothing(index_elements=["desk_id", "email"])
        .returning(Customer)
    )


async def check_email_free(session: AsyncSession, desk_id: int, email: str) -> None:
    """409 naming the desk's customer holding `email` (`existing_id`), if any."""
    existing = await session.scalar(select(Customer.id).where(
        Customer.desk_id == desk_id, Customer.email == email))
    if existing is not None:
        raise Conflict(f"Desk {desk_id} already has a customer with email {email}.",
                       existing_id=existing)


async def create(session: AsyncSession, scope: DeskScope, payload: CustomerCreate) -> Customer:
    desk = await desks.get_active(session, scope, payload.desk_id)
    await check_email_free(session, desk.id, payload.email)
    custom = await fields.clean(session, desk.id, FieldEntity.customer, payload.custom_fields,
                                ["body", "custom_fields"])
    domain = email_domain(payload.email)
    if payload.organization_id is not None:
        org_id: int | None = await _organization_in_desk(session, desk.id, payload.organization_id)
    else:
        org_id = await resolve_organization(session, desk, domain, scope)
    customer = await _insert(session, desk_id=desk.id, email=payload.email, email_domain=domain,
                             name=payload.name, phone=payload.phone, organization_id=org_id,
                             custom_fields={k: v for k, v in custom.items() if v is not None})
    if customer is None:  # created by a concurrent request since the check above
        await check_email_free(session, desk.id, payload.email)
        raise Conflict(f"Desk {desk.id} already has a customer with email {payload.email}.")
    outbox.record(session, type=EventType.customer_created, desk_id=desk.id, subject_type="customer",
                  subject_id=customer.id, data=read(customer), scope=scope)
    return customer


async def get(session: AsyncSession, scope: DeskScope, customer_id: int, *,
              for_update: bool = False) -> Customer:
    return await get_in_scope(session, scope, Customer, customer_id, "Customer",
                              for_update=for_update)


async def list_(session: AsyncSession, scope: DeskScope, params: PageParams, *,
                desk_id: int | None = None, email: str | None = None,
                organization_id: int | None = None, q: str | None = None
                ) -> tuple[list[Customer], str | None]:
    stmt = scope.filter(select(Customer), Customer)
    if desk_id is not None:
        scope.check_desk(desk_id)
        stmt = stmt.where(Customer.desk_id == desk_id)
    if email:
        try:
            email = normalize_email(email)
        except ValidationError:
            email = email.strip().lower()  # matches nothing stored, as it should
        stmt = stmt.where(Customer.email == email)
    if organization_id is not None:
        stmt = stmt.where(Customer.organization_id == organization_id)
    if q:
        pattern = q.strip().lower()
        stmt = stmt.where(func.lower(Customer.name).contains(pattern, autoescape=True)
                          | Customer.email.contains(pattern, autoescape=True))
    return await paginate(session, stmt, params, [SortKey(Customer.id)])


async def update(session: AsyncSession, scope: DeskScope, customer_id: int,
                 payload: CustomerUpdate, if_match: str | None) -> Customer:
    customer = await get(session, scope, customer_id, for_update=True)
    check_if_match(if_match, customer.version)
    before = read(customer).model_dump(mode="json")
    sent = payload.model_fields_set
    if payload.email is not None and payload.email != customer.email:
        await check_email_free(session, customer.desk_id, payload.email)
        customer.email = payload.email
        customer.email_domain = email_domain(payload.email)
    if payload.name is not None:
        customer.name = payload.name
    if "phone" in sent:
        customer.phone = payload.phone
    if "organization_id" in sent:
        customer.organization_id = None if payload.organization_id is None else (
            await _organization_in_desk(session, customer.desk_id, payload.organization_id))
    if payload.custom_fields is not None:
        changes = await fields.clean(session, customer.desk_id, FieldEntity.customer,
                                     payload.custom_fields, ["body", "custom_fields"],
                                     partial=True)
        customer.custom_fields = merged(customer.custom_fields, changes)
    await session.flush()
    await session.refresh(customer)
    after = read(customer).model_dump(mode="json")
    changes_made = outbox.diff(before, after)
    if changes_made:
        outbox.record(session, type=EventType.customer_updated, desk_id=customer.desk_id,
                      subject_type="customer", subject_id=customer.id, data=after, scope=scope,
                      changes=changes_made)
    return customer
