"""API tokens are trusted in-process for AUTH_CACHE_SECONDS; revocation clears them at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from app.core.db import utcnow
from app.core.principal import token_cache
from app.core.security import hash_token
from tests.conftest import bearer


async def test_a_cached_token_authenticates_without_a_query(client, factory, engine):
    token = await factory.token(["desks:read"])
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert not [s for s in statements if "api_tokens" in s]


async def test_revoking_clears_the_cache_immediately(client, factory, admin_headers, problem):
    token = await factory.token(["desks:read"])
    me = await client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert token_cache.get(hash_token(token), ttl=60) is not None
    revoked = await client.delete(f"/v1/api-tokens/{me.json()['id']}", headers=admin_headers)
    assert revoked.status_code == 204
    assert token_cache.get(hash_token(token), ttl=60) is None
    problem(await client.get("/v1/me", headers=bearer(token)), 401)


async def test_expiry_is_checked_on_every_request_even_when_cached(client, factory, problem):
    token = await factory.token(["desks:read"], expires_at=utcnow() + timedelta(seconds=2))
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    entry = token_cache.get(hash_token(token), ttl=60)
    assert entry is not None
    # The cached copy carries the expiry: once past it, the token is refused without a lookup.
    token_cache.put(hash_token(token), type(entry)(entry.scope, utcnow() - timedelta(seconds=1),
                                                   entry.fetched))
    problem(await client.get("/v1/me", headers=bearer(token)), 401)
