"""Transfers: a customer, or an organization with its customers, moves to another desk.

Customers and organizations each stand alone (a customer joins an organization found by its
email domain); a move touches both, and the customers' open tickets, so it lives here, above
them, and neither of them imports the other's way of moving.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.core.errors import Conflict, invalid
from app.core.outbox import EventType
from app.core.scope import DeskScope
from app.customers import service as customers
from app.desks import service as desks
from app.models import Customer, Desk, Organization
from app.organizations import service as organizations
from app.tickets import service as tickets


async def transfer_customer(session: AsyncSession, scope: DeskScope, customer_id: int,
                            target_desk_id: int, move_open_tickets: bool) -> Customer:
    """Move a customer (and, when asked, its open tickets) to another desk the caller sees.
    An email the target already holds → 409."""
    customer = await customers.get(session, scope, customer_id, for_update=True)
    target = await desks.get_active(session, scope, target_desk_id)
    if target.id == customer.desk_id:
        raise invalid(["body", "desk_id"], "the customer is already in this desk")
    await customers.check_email_free(session, target.id, customer.email)
    return await move_customer(session, scope, customer, target,
                               move_open_tickets=move_open_tickets)


async def transfer_organization(session: AsyncSession, scope: DeskScope, org_id: int,
                                target_desk_id: int) -> Organization:
    """Move an organization with its domains and customers (and their open tickets) to
    another desk the caller sees. Any email or domain the target already holds → 409, and
    nothing moves."""
    org = await organizations.get(session, scope, org_id, for_update=True)
    target: Desk = await desks.get_active(session, scope, target_desk_id)
    source_desk_id = org.desk_id
    if target.id == source_desk_id:
        raise invalid(["body", "desk_id"], "the organization is already in this desk")
    holders = await organizations.domain_holders(session, target.id, org.domains)
    if holders:
        raise organizations.domain_conflict(holders)
    members = list((await session.scalars(
        select(Customer).where(Customer.organization_id == org.id).with_for_update()
        .execution_options(populate_existing=True))).all())
    await check_no_email_clash(session, target.id, [c.email for c in members])

    org.desk_id = target.id
    for row in org.domain_rows:
        row.desk_id = target.id
    await session.flush()
    org = await organizations.load(session, org.id)
    outbox.record(session, type=EventType.organization_transferred, desk_id=target.id,
                  subject_type="organization", subject_id=org.id, data=organizations.read(org),
                  scope=scope, changes={"desk_id": [source_desk_id, target.id]})
    for customer in members:
        await move_customer(session, scope, customer, target, keep_organization=org.id,
                            move_open_tickets=True)
    return org


async def check_no_email_clash(session: AsyncSession, desk_id: int,
                               emails: Sequence[str]) -> None:
    if not emails:
        return
    clashes = sorted((await session.scalars(select(Customer.email).where(
        Customer.desk_id == desk_id, Customer.email.in_(emails)))).all())
    if clashes:
        shown = ", ".join(clashes[:10]) + (" …" if len(clashes) > 10 else "")
        raise Conflict(f"Desk {desk_id} already has customers with these emails: {shown}",
                       emails=clashes[:100])


async def move_customer(session: AsyncSession, scope: DeskScope, customer: Customer,
                        target: Desk, *, keep_organization: int | None = None,
                        move_open_tickets: bool) -> Customer:
    """Move one customer (the caller has checked for clashes). Its organization is the one
    moving with it, else re-resolved in the target desk by email domain."""
    source_desk_id = customer.desk_id
    customer.desk_id = target.id
    await session.flush()
    customer.organization_id = keep_organization if keep_organization is not None else (
        await customers.resolve_organization(session, target, customer.email_domain, scope))
    await session.flush()
    await session.refresh(customer)
    await tickets.move_open_tickets(session, scope, customer, source_desk_id, move_open_tickets)
    outbox.record(session, type=EventType.customer_transferred, desk_id=target.id,
                  subject_type="customer", subject_id=customer.id, data=customers.read(customer),
                  scope=scope, changes={"desk_id": [source_desk_id, target.id]})
    return customer
