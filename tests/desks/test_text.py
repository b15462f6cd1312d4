"""PostgreSQL refuses NUL in text: such input is a 422, never a 500."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import ApiToken


async def test_nul_in_desk_name_is_422_at_the_field(client, admin_headers, problem):
    body = problem(await client.post("/v1/desks", json={"name": "Ber\u0000lin"},
                                     headers=admin_headers), 422)
    assert body["errors"][0]["loc"] == ["body", "name"]


async def test_nul_in_user_name_is_422_at_the_field(client, admin_headers, problem):
    response = await client.post("/v1/users", json={"email": "a@b.example", "name": "A\u0000"},
                                 headers=admin_headers)
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "name"]


async def test_nul_a_schema_lets_through_is_still_422_and_writes_nothing(
        client, admin_headers, problem, session):
    before = await session.scalar(select(func.count()).select_from(ApiToken))
    response = await client.post("/v1/api-tokens", json={"name": "CI\u0000", "scopes": ["admin"]},
                                 headers=admin_headers)
    assert "NUL" in problem(response, 422)["detail"]
    assert await session.scalar(select(func.count()).select_from(ApiToken)) == before
