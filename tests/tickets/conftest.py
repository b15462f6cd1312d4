"""Shared by the ticket tests: tickets, teams and histories made and read through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.customers.helpers import ok

TicketMaker = Callable[..., Awaitable[dict[str, Any]]]


def ticket_body(desk_id: int, **body: Any) -> dict[str, Any]:
    """A valid create body for `desk_id`; keywords replace or add fields."""
    payload: dict[str, Any] = {"desk_id": desk_id, "subject": "Printer on fire",
                               "description": "Smoke everywhere",
                               "requester": {"email": "ana@acme.example", "name": "Ana"}}
    if "requester_id" in body:
        payload.pop("requester")
    payload.update(body)
    return payload


@pytest.fixture
def new_ticket(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> TicketMaker:
    """`await new_ticket(desk_id, **body)`: a ticket created through the API (201), as returned;
    `headers=` creates it as another caller."""

    async def make(desk_id: int, *, headers: dict[str, str] | None = None,
                   **body: Any) -> dict[str, Any]:
        return ok(await client.post("/v1/tickets", headers=headers or admin_headers,
                                    json=ticket_body(desk_id, **body)), 201)

    return make


@pytest.fixture
def patch_ticket(client: httpx.AsyncClient, admin_headers: dict[str, str]):
    """`await patch_ticket(ticket_id, **changes)`: PATCH as the admin, returning the response."""

    async def patch(ticket_id: int, *, headers: dict[str, str] | None = None,
                    **changes: Any) -> httpx.Response:
        return await client.patch(f"/v1/tickets/{ticket_id}", headers=headers or admin_headers,
                                  json=changes)

    return patch


@pytest.fixture
def get_ticket(client: httpx.AsyncClient, admin_headers: dict[str, str]):
    async def get(ticket_id: int) -> dict[str, Any]:
        return ok(await client.get(f"/v1/tickets/{ticket_id}", headers=admin_headers))

    return get


@pytest.fixture
def history(client: httpx.AsyncClient, admin_headers: dict[str, str]):
    """`await history(ticket_id)`: every event of `GET /v1/tickets/{id}/events`, in order."""

    async def read(ticket_id: int, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = ok(await client.get(f"/v1/tickets/{ticket_id}/events",
                                       headers=headers or admin_headers, params=params))
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    return read


@pytest.fixture
def desk_team(client: httpx.AsyncClient, admin_headers: dict[str, str]):
    """`await desk_team(*desk_ids, members=(user ids))`: a team with access to those desks."""
    counter = iter(range(1, 1000))

    async def make(*desk_ids: int, members: tuple[int, ...] = ()) -> int:
        team = ok(await client.post("/v1/teams", headers=admin_headers, json={
            "name": f"Tier {next(counter)}", "member_ids": list(members)}), 201)
        for desk_id in desk_ids:
            response = await client.put(f"/v1/desks/{desk_id}/teams/{team['id']}",
                                        headers=admin_headers, json={"role": "agent"})
            assert response.status_code == 201, response.text
        return team["id"]

    return make
