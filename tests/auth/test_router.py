"""Authentication over HTTP: bearer credentials, scopes, desk confinement, API tokens, sign-in."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from app.core.db import utcnow
from app.core.security import create_access_token
from app.models import ApiToken, IdempotencyKey
from tests.conftest import TEST_SECRET, bearer

CONTRACT_NON_ADMIN_SCOPES = sorted(
    "desks:read desks:write tickets:read tickets:write customers:read customers:write "
    "organizations:read organizations:write forms:read forms:write rules:read rules:write "
    "webhooks:read webhooks:write events:read inbound".split()
)
PASSWORD = "a long enough password"
MISSING_ID = 2_000_000_000

ADMIN_ONLY = [
    ("GET", "/v1/api-tokens", None),
    ("GET", "/v1/api-tokens/1", None),
    ("POST", "/v1/api-tokens", {"name": "escalate", "scopes": ["admin"]}),
    ("DELETE", "/v1/api-tokens/1", None),
    ("GET", "/v1/users", None),
    ("GET", "/v1/users/1", None),
    ("POST", "/v1/users", {"email": "new@staff.example", "name": "New", "role": "admin"}),
    ("PATCH", "/v1/users/1", {"role": "admin"}),
    ("GET", "/v1/teams", None),
    ("POST", "/v1/teams", {"name": "Cabal"}),
    ("PUT", "/v1/teams/1/members/1", None),
]


def _without_request(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"request_id", "instance"}}


async def _sign_in(client, email: str, password: str = PASSWORD):
    return await client.post("/v1/auth/token", data={"grant_type": "password",
                                                      "username": email, "password": password})


async def _jwt(client, email: str) -> str:
    response = await _sign_in(client, email)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def _create_token(client, admin_headers, **payload) -> dict:
    body = {"name": "integration", "scopes": ["desks:read"], **payload}
    response = await client.post("/v1/api-tokens", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _token_row(session, token_id: int) -> ApiToken:
    stmt = (select(ApiToken).where(ApiToken.id == token_id)
            .execution_options(populate_existing=True))
    return (await session.scalars(stmt)).one()


# Each way authentication fails

async def test_missing_authorization_header_is_401_with_bearer_challenge(client, problem):
    response = await client.get("/v1/me")
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["type"] == "urn:switchboard:problem:unauthorized"
    assert body["detail"] == "Send `Authorization: Bearer <token>`."


async def test_non_bearer_authorization_scheme_is_401(client, problem):
    response = await client.get("/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "Send `Authorization: Bearer <token>`."


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "Bearer", "eyJhbGciOiJub25lIn0.e30."])
async def test_garbage_token_is_rejected_with_401(client, problem, garbage):
    response = await client.get("/v1/me", headers=bearer(garbage))
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "The access token is not valid or has expired."


async def test_unknown_api_token_is_rejected_with_401(client, problem):
    response = await client.get("/v1/me", headers=bearer("swb_" + "A" * 43))
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "The API token is not valid."


async def test_revoked_token_is_rejected_with_401(client, admin_headers, problem):
    created = await _create_token(client, admin_headers)
    headers = bearer(created["token"])
    assert (await client.get("/v1/me", headers=headers)).status_code == 200

    revoked = await client.delete(f"/v1/api-tokens/{created['id']}", headers=admin_headers)
    assert revoked.status_code == 204
    assert revoked.content == b""

    response = await client.get("/v1/me", headers=headers)
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "The API token has been revoked."
    listed = (await client.get(f"/v1/api-tokens/{created['id']}", headers=admin_headers)).json()
    assert listed["revoked_at"] is not None


async def test_revoking_twice_keeps_the_first_revocation_time(client, admin_headers):
    created = await _create_token(client, admin_headers)
    url = f"/v1/api-tokens/{created['id']}"
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    first = (await client.get(url, headers=admin_headers)).json()["revoked_at"]
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert (await client.get(url, headers=admin_headers)).json()["revoked_at"] == first


async def test_revoking_a_missing_token_is_404(client, admin_headers, problem):
    body = problem(await client.delete(f"/v1/api-tokens/{MISSING_ID}", headers=admin_headers),
                   404)
    assert body["detail"] == f"API token {MISSING_ID} does not exist."


async def test_expired_token_is_rejected_with_401(client, factory, session, problem):
    secret = await factory.token(["desks:read"])
    await session.execute(update(ApiToken)
                          .where(ApiToken.token_hash == hashlib.sha256(secret.encode()).digest())
                          .values(expires_at=utcnow() - timedelta(seconds=1)))
    await session.flush()
    response = await client.get("/v1/me", headers=bearer(secret))
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "The API token has expired."


async def test_token_with_future_expiry_works(client, admin_headers):
    expires = (utcnow() + timedelta(days=1)).isoformat()
    created = await _create_token(client, admin_headers, expires_at=expires)
    assert created["expires_at"] is not None
    assert (await client.get("/v1/me", headers=bearer(created["token"]))).status_code == 200


async def test_creating_token_that_already_expired_is_422(client, admin_headers, problem):
    past = (utcnow() - timedelta(minutes=5)).isoformat()
    body = problem(await client.post("/v1/api-tokens", json={
        "name": "stale", "scopes": ["desks:read"], "expires_at": past}, headers=admin_headers),
        422)
    assert body["errors"] == [{"loc": ["body", "expires_at"], "msg": "must be in the future",
                               "type": "value_error"}]


async def test_creating_token_with_naive_expiry_is_422(client, admin_headers, problem):
    body = problem(await client.post("/v1/api-tokens", json={
        "name": "naive", "scopes": ["desks:read"], "expires_at": "2999-01-01T00:00:00"},
        headers=admin_headers), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "expires_at"]]


async def test_token_lacking_scope_is_403(client, factory, problem):
    secret = await factory.token(["desks:read"])
    response = await client.post("/v1/desks", json={"name": "Nope"}, headers=bearer(secret))
    body = problem(response, 403)
    assert body["type"] == "urn:switchboard:problem:forbidden"
    assert body["detail"] == "This credential lacks the `desks:write` scope."
    assert body["required_scope"] == "desks:write"


async def test_token_without_desks_scope_cannot_read_desks(client, factory, problem):
    desk = await factory.desk()
    secret = await factory.token(["tickets:write", "events:read"])
    body = problem(await client.get(f"/v1/desks/{desk.id}", headers=bearer(secret)), 403)
    assert body["required_scope"] == "desks:read"


async def test_desk_outside_token_desks_is_404_exactly_like_a_missing_one(client, factory,
                                                                          problem):
    mine = await factory.desk("Mine")
    other = await factory.desk("Other")
    headers = bearer(await factory.token(["desks:write"], desk_ids=[mine.id]))

    for method, suffix, body in [("GET", "", None), ("PATCH", "", {"name": "Taken"}),
                                 ("POST", "/archive", None), ("DELETE", "", None),
                                 ("GET", "/members", None)]:
        hidden = problem(await client.request(method, f"/v1/desks/{other.id}{suffix}",
                                              json=body, headers=headers), 404)
        missing = problem(await client.request(method, f"/v1/desks/{MISSING_ID}{suffix}",
                                               json=body, headers=headers), 404)
        assert hidden["detail"] == f"Desk {other.id} does not exist."
        expected = _without_request(missing)
        expected["detail"] = expected["detail"].replace(str(MISSING_ID), str(other.id))
        assert _without_request(hidden) == expected, (method, suffix)

    listed = (await client.get("/v1/desks", headers=headers)).json()
    assert [d["id"] for d in listed["items"]] == [mine.id]


# Scope implications

async def test_write_scope_implies_read_scope(client, factory):
    desk = await factory.desk()
    headers = bearer(await factory.token(["desks:write"]))
    got = await client.get(f"/v1/desks/{desk.id}", headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == desk.id
    assert (await client.get("/v1/desks", headers=headers)).status_code == 200


async def test_read_scope_does_not_imply_write_scope(client, factory, problem):
    desk = await factory.desk()
    headers = bearer(await factory.token(["desks:read"]))
    body = problem(await client.patch(f"/v1/desks/{desk.id}", json={"name": "X"},
                                      headers=headers), 403)
    assert body["required_scope"] == "desks:write"


async def test_admin_scope_implies_every_scope(client, factory):
    desk = await factory.desk()
    headers = bearer(await factory.token(["admin"]))
    assert (await client.get(f"/v1/desks/{desk.id}", headers=headers)).status_code == 200
    patched = await client.patch(f"/v1/desks/{desk.id}", json={"name": "Renamed"},
                                 headers=headers)
    assert patched.status_code == 200, patched.text
    created = await client.post("/v1/desks", json={"name": "New"}, headers=headers)
    assert created.status_code == 201, created.text
    assert (await client.get("/v1/users", headers=headers)).status_code == 200


async def test_unknown_scope_name_is_422_pointing_at_the_scope(client, admin_headers, problem):
    body = problem(await client.post("/v1/api-tokens", json={
        "name": "typo", "scopes": ["desks:read", "tickets:delete"]}, headers=admin_headers), 422)
    assert body["type"] == "urn:switchboard:problem:validation-error"
    assert [e["loc"] for e in body["errors"]] == [["body", "scopes", 1]]
    assert body["errors"][0]["type"] == "enum"


async def test_empty_scope_list_is_422(client, admin_headers, problem):
    body = problem(await client.post("/v1/api-tokens", json={"name": "none", "scopes": []},
                                     headers=admin_headers), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "scopes"]]


async def test_token_naming_a_missing_desk_is_422(client, admin_headers, factory, problem):
    desk = await factory.desk()
    body = problem(await client.post("/v1/api-tokens", json={
        "name": "t", "scopes": ["desks:read"], "desk_ids": [desk.id, MISSING_ID]},
        headers=admin_headers), 422)
    assert body["errors"] == [{"loc": ["body", "desk_ids", 1],
                               "msg": f"desk {MISSING_ID} does not exist", "type": "value_error"}]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
async def test_non_admin_token_cannot_manage_staff_or_tokens(client, factory, problem,
                                                             method, path, body):
    headers = bearer(await factory.token(CONTRACT_NON_ADMIN_SCOPES))
    response = await client.request(method, path, json=body, headers=headers)
    problem_body = problem(response, 403)
    assert problem_body["detail"] == "This credential lacks the `admin` scope."
    assert problem_body["required_scope"] == "admin"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
async def test_agent_jwt_cannot_manage_staff_or_tokens(client, factory, problem,
                                                       method, path, body):
    agent = await factory.user(password=PASSWORD)
    headers = bearer(await _jwt(client, agent.email))
    response = await client.request(method, path, json=body, headers=headers)
    problem_body = problem(response, 403)
    assert problem_body["required_scope"] == "admin"


async def test_admin_user_jwt_manages_tokens_and_covers_every_desk(client, factory):
    admin = await factory.user(role="admin", password=PASSWORD)
    headers = bearer(await _jwt(client, admin.email))
    me = (await client.get("/v1/me", headers=headers)).json()
    assert me["kind"] == "user" and me["id"] == admin.id
    assert me["scopes"] == ["admin"] and me["desk_ids"] is None
    created = await client.post("/v1/api-tokens", json={"name": "t", "scopes": ["desks:read"]},
                                headers=headers)
    assert created.status_code == 201, created.text
    row = await client.get(f"/v1/api-tokens/{created.json()['id']}", headers=headers)
    assert row.status_code == 200


# API tokens

async def test_created_token_secret_has_prefix_and_32_random_bytes(client, admin_headers):
    first = await client.post("/v1/api-tokens", json={"name": "Zapier", "scopes": ["desks:read"]},
                              headers=admin_headers)
    assert first.status_code == 201, first.text
    created = first.json()
    assert first.headers["Location"] == f"/v1/api-tokens/{created['id']}"
    secret = created["token"]
    assert secret.startswith("swb_")
    random_part = secret.removeprefix("swb_")
    assert len(base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))) >= 32
    assert created["prefix"] == secret[:len(created["prefix"])]
    assert created["name"] == "Zapier" and created["scopes"] == ["desks:read"]
    assert created["desk_ids"] is None and created["sandbox"] is False
    assert created["last_used_at"] is None and created["revoked_at"] is None

    second = await _create_token(client, admin_headers)
    assert second["token"] != secret


async def test_token_secret_appears_only_in_the_post_response(client, admin_headers):
    created = await _create_token(client, admin_headers)
    one = await client.get(f"/v1/api-tokens/{created['id']}", headers=admin_headers)
    assert one.status_code == 200
    assert "token" not in one.json()
    assert created["token"] not in one.text

    listed = await client.get("/v1/api-tokens", headers=admin_headers)
    assert listed.status_code == 200
    items = {t["id"]: t for t in listed.json()["items"]}
    assert created["id"] in items
    assert all("token" not in t and "token_hash" not in t for t in items.values())
    assert created["token"] not in listed.text
    expected = {k: v for k, v in created.items() if k != "token"}
    assert items[created["id"]] == expected


async def test_database_stores_only_the_sha256_of_the_secret(client, admin_headers, session):
    created = await _create_token(client, admin_headers)
    secret = created["token"]
    row = await _token_row(session, created["id"])
    assert row.token_hash == hashlib.sha256(secret.encode()).digest()
    for column in ApiToken.__table__.columns:
        value = getattr(row, column.key)
        assert secret not in str(value), column.key
        if isinstance(value, bytes):
            assert secret.encode() not in value, column.key
    # The row as PostgreSQL holds it, every column rendered as text.
    raw = await session.scalar(text("SELECT row_to_json(t)::text FROM api_tokens t WHERE id = :id"),
                               {"id": created["id"]})
    assert secret not in raw
    assert secret.removeprefix("swb_") not in raw


async def test_token_secret_is_not_persisted_for_idempotent_replay(client, admin_headers,
                                                                   session):
    headers = {**admin_headers, "Idempotency-Key": "create-token-1"}
    response = await client.post("/v1/api-tokens", json={"name": "t", "scopes": ["desks:read"]},
                                 headers=headers)
    assert response.status_code == 201, response.text
    secret = response.json()["token"]
    stored = (await session.scalars(select(IdempotencyKey.response_body))).all()
    assert all(secret.encode() not in body for body in stored)
    # Without a stored response there is nothing to replay: a retry mints a new secret.
    again = await client.post("/v1/api-tokens", json={"name": "t", "scopes": ["desks:read"]},
                              headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["token"] != secret


async def test_last_used_at_is_set_after_use(client, admin_headers, session):
    created = await _create_token(client, admin_headers)
    assert (await _token_row(session, created["id"])).last_used_at is None
    assert (await client.get("/v1/me", headers=bearer(created["token"]))).status_code == 200
    assert (await _token_row(session, created["id"])).last_used_at is not None
    shown = (await client.get(f"/v1/api-tokens/{created['id']}", headers=admin_headers)).json()
    assert shown["last_used_at"] is not None


async def test_me_describes_an_admin_token(client, admin_headers):
    response = await client.get("/v1/me", headers=admin_headers)
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["kind"] == "api_token"
    assert me["scopes"] == ["admin"]
    assert me["desk_ids"] is None
    assert isinstance(me["id"], int) and me["name"].startswith("admin token for ")
    assert me["sandbox"] is False


async def test_me_describes_a_desk_token(client, admin_headers, factory):
    one = await factory.desk("One")
    two = await factory.desk("Two")
    await factory.desk("Three")
    created = await _create_token(client, admin_headers, name="Partner",
                                  scopes=["tickets:write", "desks:read"],
                                  desk_ids=[two.id, one.id, two.id])
    assert created["desk_ids"] == sorted([one.id, two.id])
    me = (await client.get("/v1/me", headers=bearer(created["token"]))).json()
    assert me == {"kind": "api_token", "id": created["id"], "name": "Partner",
                  "scopes": ["desks:read", "tickets:write"],
                  "desk_ids": sorted([one.id, two.id]), "sandbox": False}


async def test_admin_token_cannot_be_confined_to_desks(client, admin_headers, factory, problem):
    # `admin` manages users, teams and tokens, which no desk confines: a "desk admin" token
    # could mint itself an all-desk token. The combination is refused.
    desk = await factory.desk()
    body = problem(await client.post("/v1/api-tokens", json={
        "name": "desk admin", "scopes": ["admin"], "desk_ids": [desk.id]},
        headers=admin_headers), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "desk_ids"]]


@pytest.mark.parametrize(("method", "path", "loc"), [
    ("GET", "/v1/api-tokens/{huge}", ["path", "token_id"]),
    ("DELETE", "/v1/api-tokens/{huge}", ["path", "token_id"]),
    ("GET", "/v1/users/{huge}", ["path", "user_id"]),
    ("GET", "/v1/teams/{huge}", ["path", "team_id"]),
])
async def test_out_of_range_id_in_path_is_422_not_500(client, admin_headers, problem,
                                                      method, path, loc):
    response = await client.request(method, path.format(huge=2**31), headers=admin_headers)
    body = problem(response, 422)
    assert [e["loc"] for e in body["errors"]] == [loc]


@pytest.mark.parametrize(("path", "payload", "loc"), [
    ("/v1/api-tokens", {"name": "t", "scopes": ["desks:read"], "desk_ids": [2**31]},
     ["body", "desk_ids", 0]),
    ("/v1/teams", {"name": "Overflow", "member_ids": [2**31]}, ["body", "member_ids", 0]),
])
async def test_out_of_range_id_in_body_is_422_not_500(client, admin_headers, problem,
                                                      path, payload, loc):
    body = problem(await client.post(path, json=payload, headers=admin_headers), 422)
    assert [e["loc"] for e in body["errors"]] == [loc]


# Password grant and staff JWTs

async def test_password_grant_returns_a_bearer_jwt_that_authenticates(client, factory):
    agent = await factory.user(email="ana@staff.example", password=PASSWORD)
    response = await _sign_in(client, "ana@staff.example")
    assert response.status_code == 200, response.text
    grant = response.json()
    assert set(grant) == {"access_token", "token_type", "expires_in"}
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 3600
    me = await client.get("/v1/me", headers=bearer(grant["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "user" and me.json()["id"] == agent.id


async def test_password_grant_matches_email_case_insensitively(client, factory):
    await factory.user(email="Bruno@Staff.example", password=PASSWORD)
    assert (await _sign_in(client, "bruno@staff.EXAMPLE")).status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_401(client, factory, problem):
    await factory.user(email="carla@staff.example", password=PASSWORD)
    wrong = problem(await _sign_in(client, "carla@staff.example", "not the password"), 401)
    unknown = problem(await _sign_in(client, "nobody@staff.example", "not the password"), 401)
    assert wrong["detail"] == "Invalid username or password."
    assert _without_request(wrong) == _without_request(unknown)


async def test_user_without_password_cannot_sign_in(client, factory, problem):
    await factory.user(email="sso@staff.example")
    body = problem(await _sign_in(client, "sso@staff.example", "switchboard-dummy-password"), 401)
    assert body["detail"] == "Invalid username or password."


async def test_inactive_user_cannot_sign_in(client, factory, admin_headers, problem):
    user = await factory.user(email="dana@staff.example", password=PASSWORD)
    issued = await _jwt(client, "dana@staff.example")
    patched = await client.patch(f"/v1/users/{user.id}", json={"is_active": False},
                                 headers=admin_headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["is_active"] is False

    refused = problem(await _sign_in(client, "dana@staff.example"), 401)
    unknown = problem(await _sign_in(client, "nobody@staff.example"), 401)
    assert _without_request(refused) == _without_request(unknown)
    # A JWT issued before deactivation stops working too.
    body = problem(await client.get("/v1/me", headers=bearer(issued)), 401)
    assert body["detail"] == "The access token is not valid or has expired."


async def test_unsupported_grant_type_is_422(client, factory, problem):
    await factory.user(email="eve@staff.example", password=PASSWORD)
    body = problem(await client.post("/v1/auth/token", data={
        "grant_type": "client_credentials", "username": "eve@staff.example",
        "password": PASSWORD}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "grant_type"]]


async def test_expired_jwt_is_refused(client, factory, problem):
    user = await factory.user()
    token = create_access_token(user.id, TEST_SECRET, 3600, now=time.time() - 10_000)
    response = await client.get("/v1/me", headers=bearer(token))
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body["detail"] == "The access token is not valid or has expired."


async def test_jwt_signed_with_another_secret_is_refused(client, factory, problem):
    user = await factory.user(role="admin")
    token = create_access_token(user.id, "another-secret-key-long-enough-for-hs256-0123", 3600)
    body = problem(await client.get("/v1/me", headers=bearer(token)), 401)
    assert body["detail"] == "The access token is not valid or has expired."


async def test_jwt_of_a_deleted_user_is_refused(client, problem):
    token = create_access_token(MISSING_ID, TEST_SECRET, 3600)
    body = problem(await client.get("/v1/me", headers=bearer(token)), 401)
    assert body["detail"] == "The access token is not valid or has expired."


async def test_agent_jwt_sees_only_desks_joined_directly_or_through_a_team(
        client, factory, admin_headers, problem):
    direct = await factory.desk("Direct")
    via_team = await factory.desk("Via team")
    foreign = await factory.desk("Foreign")
    agent = await factory.user(password=PASSWORD)
    member = await client.put(f"/v1/desks/{direct.id}/members/{agent.id}", json={"role": "agent"},
                              headers=admin_headers)
    assert member.status_code == 201, member.text
    team = await client.post("/v1/teams", json={"name": "Tier 2", "member_ids": [agent.id]},
                             headers=admin_headers)
    assert team.status_code == 201, team.text
    granted = await client.put(f"/v1/desks/{via_team.id}/teams/{team.json()['id']}", json={},
                               headers=admin_headers)
    assert granted.status_code == 201, granted.text

    headers = bearer(await _jwt(client, agent.email))
    me = (await client.get("/v1/me", headers=headers)).json()
    assert me["kind"] == "user" and me["id"] == agent.id
    assert me["desk_ids"] == sorted([direct.id, via_team.id])
    assert me["scopes"] == CONTRACT_NON_ADMIN_SCOPES

    listed = (await client.get("/v1/desks", headers=headers)).json()
    assert [d["id"] for d in listed["items"]] == sorted([direct.id, via_team.id])
    for desk in (direct, via_team):
        assert (await client.get(f"/v1/desks/{desk.id}", headers=headers)).status_code == 200
    body = problem(await client.get(f"/v1/desks/{foreign.id}", headers=headers), 404)
    assert body["detail"] == f"Desk {foreign.id} does not exist."


async def test_agent_loses_desk_when_removed_from_its_team(client, factory, admin_headers,
                                                           problem):
    desk = await factory.desk()
    agent = await factory.user(password=PASSWORD)
    team = (await client.post("/v1/teams", json={"name": "Night shift", "member_ids": [agent.id]},
                              headers=admin_headers)).json()
    await client.put(f"/v1/desks/{desk.id}/teams/{team['id']}", json={}, headers=admin_headers)
    headers = bearer(await _jwt(client, agent.email))
    assert (await client.get(f"/v1/desks/{desk.id}", headers=headers)).status_code == 200

    removed = await client.delete(f"/v1/teams/{team['id']}/members/{agent.id}",
                                  headers=admin_headers)
    assert removed.status_code == 204
    problem(await client.get(f"/v1/desks/{desk.id}", headers=headers), 404)
    assert (await client.get("/v1/me", headers=headers)).json()["desk_ids"] == []


async def test_agent_without_desks_sees_no_desks(client, factory):
    await factory.desk()
    agent = await factory.user(password=PASSWORD)
    headers = bearer(await _jwt(client, agent.email))
    assert (await client.get("/v1/me", headers=headers)).json()["desk_ids"] == []
    listed = await client.get("/v1/desks", headers=headers)
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "next_cursor": None}
