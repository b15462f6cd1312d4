"""`Idempotency-Key` on POST: replay the first 2xx/4xx response, per principal, for 24 h."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi import APIRouter
from sqlalchemy import func, select, update

from app.core.boundary import AppRoute
from app.core.db import Session, utcnow
from app.core.idempotency import purge_expired
from app.core.principal import Authenticated
from app.models import Desk, IdempotencyKey
from tests.conftest import bearer
from tests.core.conftest import error_locs, unique_name


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def count_desks(session, name: str) -> int:
    return await session.scalar(select(func.count()).select_from(Desk).where(Desk.name == name))


async def test_same_key_and_body_replays_the_first_response_and_creates_one_desk(
        client, admin_headers, session):
    name, key = unique_name(), str(uuid.uuid4())
    first = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    again = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.content == first.content
    assert again.headers["Location"] == first.headers["Location"] == f"/v1/desks/{first.json()['id']}"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["content-type"] == "application/json"
    assert await count_desks(session, name) == 1


async def test_without_a_key_each_post_creates_a_desk(client, admin_headers, session):
    name = unique_name()
    for _ in range(2):
        response = await client.post("/v1/desks", json={"name": name}, headers=admin_headers)
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers
    assert await count_desks(session, name) == 2


async def test_same_key_with_another_body_is_a_422(client, admin_headers, session, problem):
    name, key = unique_name(), str(uuid.uuid4())
    first = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    assert first.status_code == 201
    other = await client.post("/v1/desks", json={"name": name + "-other"},
                              headers=keyed(admin_headers, key))
    body = problem(other, 422)
    assert body["type"] == "urn:switchboard:problem:validation-error"
    assert error_locs(body) == [["header", "Idempotency-Key"]]
    assert body["errors"][0]["type"] == "idempotency_mismatch"
    assert await count_desks(session, name + "-other") == 0


async def test_same_key_on_another_path_is_a_separate_request(client, admin_headers, factory):
    desk = await factory.desk("Archivable")
    key = str(uuid.uuid4())
    created = await client.post("/v1/desks", json={"name": unique_name()},
                                headers=keyed(admin_headers, key))
    archived = await client.post(f"/v1/desks/{desk.id}/archive", headers=keyed(admin_headers, key))
    assert created.status_code == 201
    assert archived.status_code == 200, archived.text
    assert "Idempotent-Replayed" not in archived.headers
    assert archived.json()["archived_at"] is not None


async def test_4xx_first_response_is_replayed(client, admin_headers, problem, session):
    key = str(uuid.uuid4())
    payload = {"name": unique_name(), "kind": "nope"}
    first = await client.post("/v1/desks", json=payload, headers=keyed(admin_headers, key))
    again = await client.post("/v1/desks", json=payload, headers=keyed(admin_headers, key))
    problem(first, 422)
    body = problem(again, 422)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert body == first.json()
    stored = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    assert stored is not None and stored.status_code == 422


async def test_5xx_first_response_is_not_stored(app, client, admin_headers, session, problem):
    router = APIRouter(route_class=AppRoute)

    @router.post("/v1/explode")
    async def explode(db: Session, scope: Authenticated) -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    key = str(uuid.uuid4())
    for _ in range(2):
        response = await client.post("/v1/explode", json={}, headers=keyed(admin_headers, key))
        problem(response, 500)
        assert "Idempotent-Replayed" not in response.headers
    assert await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key)) is None


async def test_keys_are_scoped_per_principal(client, factory, session):
    name, key = unique_name(), str(uuid.uuid4())
    one = bearer(await factory.token(["desks:write"]))
    two = bearer(await factory.token(["desks:write"]))
    first = await client.post("/v1/desks", json={"name": name}, headers=keyed(one, key))
    second = await client.post("/v1/desks", json={"name": name}, headers=keyed(two, key))
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert await count_desks(session, name) == 2


async def test_expired_key_lets_the_request_run_again(client, admin_headers, session):
    name, key = unique_name(), str(uuid.uuid4())
    first = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    await session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key)
                          .values(expires_at=utcnow() - timedelta(seconds=1)))
    again = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await count_desks(session, name) == 2
    # The new response is stored in place of the expired one, and replayed from now on.
    third = await client.post("/v1/desks", json={"name": name}, headers=keyed(admin_headers, key))
    assert third.headers["Idempotent-Replayed"] == "true"
    assert third.json()["id"] == again.json()["id"]


async def test_stored_key_lives_for_the_configured_ttl(client, admin_headers, session):
    key = str(uuid.uuid4())
    before = utcnow()
    response = await client.post("/v1/desks", json={"name": unique_name()},
                                 headers=keyed(admin_headers, key))
    assert response.status_code == 201
    stored = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    assert stored.method == "POST" and stored.path == "/v1/desks"
    assert stored.principal.startswith("api_token:")
    assert before + timedelta(hours=24) <= stored.expires_at <= utcnow() + timedelta(hours=24)


async def test_purge_expired_removes_only_expired_keys(session):
    principal = f"test:{uuid.uuid4().hex[:8]}"
    now = utcnow()
    for key, expires_at in (("old", now - timedelta(minutes=1)), ("older", now - timedelta(days=2)),
                            ("fresh", now + timedelta(hours=1))):
        session.add(IdempotencyKey(principal=principal, key=key, method="POST", path="/v1/desks",
                                   request_hash=b"\0" * 32, status_code=201, response_headers={},
                                   response_body=b"{}", expires_at=expires_at))
    await session.flush()
    assert await purge_expired(session) >= 2
    left = await session.scalars(select(IdempotencyKey.key)
                                 .where(IdempotencyKey.principal == principal))
    assert list(left) == ["fresh"]


@pytest.mark.parametrize("key", ["k" * 256, ""], ids=["too-long", "empty"])
async def test_unusable_key_is_a_422(client, admin_headers, problem, session, key):
    name = unique_name()
    response = await client.post("/v1/desks", json={"name": name},
                                 headers=keyed(admin_headers, key))
    body = problem(response, 422)
    assert error_locs(body) == [["header", "Idempotency-Key"]]
    assert await count_desks(session, name) == 0


async def test_key_on_get_is_ignored(client, admin_headers):
    key = str(uuid.uuid4())
    for _ in range(2):
        response = await client.get("/v1/desks", headers=keyed(admin_headers, key))
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response.headers
