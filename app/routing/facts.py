"""A ticket as routing rules see it: the `Facts` dict of `app.routing.engine`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PRIORITY_NAME, Customer, Desk, Ticket
from app.routing.engine import Facts


def domain_of(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower() or None


def facts_from(ticket: Ticket, *, requester_email: str | None, time_zone: str) -> Facts:
    """Pure: the facts of a loaded ticket, its requester's email and its desk's time zone."""
    priority: Any = ticket.priority
    return {
        "id": ticket.id,
        "desk_id": ticket.desk_id,
        "number": ticket.number,
        "subject": ticket.subject,
        "description": ticket.description or "",
        "requester.email": requester_email.lower() if requester_email else None,
        "requester.domain": domain_of(requester_email),
        "organization_id": ticket.organization_id,
        "source": ticket.source,
        "form_id": ticket.form_id,
        "priority": PRIORITY_NAME.get(priority, priority) if isinstance(priority, int) else priority,
        "status": ticket.status,
        "type": ticket.type,
        "tags": list(ticket.tags or []),
        "custom_fields": dict(ticket.custom_fields or {}),
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "created_at": ticket.created_at,
        "time_zone": time_zone or "UTC",
    }


async def load_facts(session: AsyncSession, ticket: Ticket) -> Facts:
    """The facts of a ticket: its requester's email and its desk's time zone in one query."""
    row = (await session.execute(
        select(Customer.email, Desk.settings["time_zone"].astext)
        .select_from(Desk)
        .outerjoin(Customer, Customer.id == ticket.requester_id)
        .where(Desk.id == ticket.desk_id))).first()
    email, zone = (row[0], row[1]) if row is not None else (None, None)
    return facts_from(ticket, requester_email=email, time_zone=zone or "UTC")
