"""Helpers shared by the customer, organization and custom-field tests (plain functions)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.models import Customer, Event, Organization, OrganizationDomain
from tests.conftest import bearer

PASSWORD = "correct horse battery staple"


async def agent_headers(client: httpx.AsyncClient, factory: Any, *desk_ids: int) -> dict[str, str]:
    """A staff agent of `desk_ids`, signed in with the OAuth2 password grant."""
    user = await factory.user(password=PASSWORD, desks=desk_ids)
    response = await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def token_headers(factory: Any, scopes: list[str], desk_ids: list[int] | None = None,
                        sandbox: bool = False) -> dict[str, str]:
    return bearer(await factory.token(scopes, desk_ids=desk_ids, sandbox=sandbox))


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


async def create_org(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                     name: str = "Acme", **body: Any) -> dict[str, Any]:
    return ok(await client.post("/v1/organizations", headers=headers,
                                      json={"desk_id": desk_id, "name": name, **body}), 201)


async def create_customer(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                          email: str, **body: Any) -> dict[str, Any]:
    return ok(await client.post("/v1/customers", headers=headers,
                                      json={"desk_id": desk_id, "email": email, **body}), 201)


async def define_field(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                       entity: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("label", spec["key"].title())
    return ok(await client.post(f"/v1/desks/{desk_id}/{entity}-fields", headers=headers,
                                      json=spec), 201)


async def set_auto_create(client: httpx.AsyncClient, headers: dict[str, str], desk_id: int,
                          on: bool = True) -> None:
    ok(await client.patch(f"/v1/desks/{desk_id}", headers=headers,
                                json={"settings": {"auto_create_organizations": on}}))


async def events(session: AsyncSession, type_: str | None = None, *,
                 subject_id: int | None = None, desk_id: int | None = None) -> list[Event]:
    await outbox.write_pending(session)  # what this transaction recorded so far
    stmt = select(Event).order_by(Event.id)
    if type_ is not None:
        stmt = stmt.where(Event.type == type_)
    if subject_id is not None:
        stmt = stmt.where(Event.subject_id == subject_id)
    if desk_id is not None:
        stmt = stmt.where(Event.desk_id == desk_id)
    return list((await session.scalars(stmt.execution_options(populate_existing=True))).all())


async def customers_in(session: AsyncSession, desk_id: int) -> list[Customer]:
    stmt = (select(Customer).where(Customer.desk_id == desk_id).order_by(Customer.id)
            .execution_options(populate_existing=True))
    return list((await session.scalars(stmt)).all())


async def organizations_in(session: AsyncSession, desk_id: int) -> list[Organization]:
    stmt = (select(Organization).where(Organization.desk_id == desk_id).order_by(Organization.id)
            .execution_options(populate_existing=True))
    return list((await session.scalars(stmt)).all())


async def domains_in(session: AsyncSession, desk_id: int) -> dict[str, int]:
    """{domain: organization id} of a desk, read from the rows."""
    rows = await session.execute(select(OrganizationDomain.domain,
                                        OrganizationDomain.organization_id)
                                 .where(OrganizationDomain.desk_id == desk_id))
    return dict(rows.all())


async def count(session: AsyncSession, model: Any, **where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return await session.scalar(stmt) or 0


def error_locs(body: dict[str, Any]) -> list[list[Any]]:
    assert isinstance(body.get("errors"), list) and body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"loc", "msg", "type"}, item
        assert isinstance(item["loc"], list)
    return [item["loc"] for item in body["errors"]]
