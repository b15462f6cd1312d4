"""Every answer says `nosniff`; answers to credentialed requests (and the token endpoint's)
are never stored by a cache."""

from __future__ import annotations


async def test_every_answer_is_nosniff_public_and_error_ones_included(client, admin_headers):
    for response in (await client.get("/healthz"), await client.get("/v1/nowhere"),
                     await client.get("/v1/desks", headers=admin_headers),
                     await client.get("/v1/desks")):
        assert response.headers["x-content-type-options"] == "nosniff", response.url


async def test_authenticated_answers_are_no_store_public_ones_are_not(client, admin_headers):
    for response in (await client.get("/v1/me", headers=admin_headers),
                     await client.get("/v1/desks/999999", headers=admin_headers),
                     await client.post("/v1/api-tokens", headers=admin_headers,
                                       json={"name": "t", "scopes": ["desks:read"]})):
        assert response.headers["cache-control"] == "no-store", response.url
    assert "cache-control" not in (await client.get("/healthz")).headers


async def test_the_token_endpoint_answer_is_no_store(client):
    response = await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": "nobody@example.com", "password": "wrong"})
    assert response.headers["cache-control"] == "no-store"
