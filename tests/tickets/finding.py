"""Helpers of the ticket-finding tests (list, search, board, views, export, feed): plain
functions, no fixtures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Desk, Ticket
from app.tickets import service
from app.tickets.schemas import TicketCreate
from tests.conftest import ADMIN_SCOPE

BASE_TIME = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def email() -> str:
    return f"c-{uuid.uuid4().hex[:8]}@customer.example"


async def make_ticket(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                     subject: str = "Help", **body: Any) -> dict[str, Any]:
    """Create a ticket through `POST /v1/tickets`; return its JSON."""
    if "requester_id" not in body:
        body.setdefault("requester", {"email": email()})
    return ok(await client.post("/v1/tickets", headers=headers,
                                json={"desk_id": desk_id, "subject": subject, **body}), 201)


async def comment(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int,
                  body: str, public: bool = True) -> dict[str, Any]:
    return ok(await client.post(f"/v1/tickets/{ticket_id}/comments", headers=headers,
                                json={"body": body, "public": public}), 201)


async def bulk_tickets(session: AsyncSession, desk: Desk, count: int, *,
                       subject: str = "Bulk ticket {i}", **fields: Any) -> list[Ticket]:
    """`count` tickets through the service, in the test's transaction (one requester)."""
    made: list[Ticket] = []
    requester: dict[str, Any] = {"requester": fields.pop("requester", {"email": email()})}
    for i in range(count):
        ticket = await service.create(session, ADMIN_SCOPE, TicketCreate(
            desk_id=desk.id, subject=subject.format(i=i), **requester, **fields))
        requester = {"requester_id": ticket.requester_id}
        made.append(ticket)
    await session.flush()
    return made


async def set_times(session: AsyncSession, ticket_id: int, **times: datetime) -> None:
    """Backdate `created_at` / `updated_at` (in one transaction every `now()` is the same)."""
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**times)
                          .execution_options(synchronize_session=False))


async def spread_created(session: AsyncSession, ticket_ids: list[int],
                         step: timedelta = timedelta(minutes=1)) -> None:
    """Give the tickets increasing `created_at` (and `updated_at`) in the order given."""
    for i, ticket_id in enumerate(ticket_ids):
        moment = BASE_TIME + i * step
        await set_times(session, ticket_id, created_at=moment, updated_at=moment)


def ids(response: httpx.Response) -> list[int]:
    return [t["id"] for t in ok(response)["items"]]


async def walk(client: httpx.AsyncClient, path: str, headers: dict[str, str],
               params: dict[str, Any], *, max_pages: int = 100) -> tuple[list[int], int]:
    """Follow `next_cursor` to the end; return every id seen (in order) and the page count."""
    seen: list[int] = []
    cursor: str | None = None
    for page in range(1, max_pages + 1):
        body = ok(await client.get(path, headers=headers,
                                   params={**params, **({"cursor": cursor} if cursor else {})}))
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, page
    raise AssertionError(f"still paging after {max_pages} pages")


async def define_ticket_field(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                              **spec: Any) -> dict[str, Any]:
    spec.setdefault("label", spec["key"].title())
    return ok(await client.post(f"/v1/desks/{desk_id}/ticket-fields", headers=headers,
                                json=spec), 201)
