"""Staff users and teams: admin-only, no secrets in responses, conflicts named."""

from __future__ import annotations

import uuid

from tests.conftest import bearer

PASSWORD = "a long enough password"


def email(prefix: str = "ana") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@acme.example"


def only_error(body: dict) -> dict:
    assert len(body["errors"]) == 1, body["errors"]
    return body["errors"][0]


async def create_user(client, headers, **body) -> dict:
    payload = {"email": email(), "name": "Ana Lima", **body}
    response = await client.post("/v1/users", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_team(client, headers, **body) -> dict:
    payload = {"name": f"Team {uuid.uuid4().hex[:8]}", **body}
    response = await client.post("/v1/teams", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def password_grant(client, username: str, password: str):
    return await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": username, "password": password,
    })


# --- users ---------------------------------------------------------------------------------

async def test_create_user_is_201_with_location_and_no_password_in_the_response(client,
                                                                              admin_headers):
    address = email()
    response = await client.post("/v1/users", json={
        "email": address, "name": "Ana Lima", "role": "agent", "password": PASSWORD,
    }, headers=admin_headers)
    assert response.status_code == 201, response.text
    user = response.json()
    assert response.headers["Location"] == f"/v1/users/{user['id']}"
    assert set(user) == {"id", "email", "name", "role", "is_active", "version", "created_at"}
    assert user["email"] == address and user["role"] == "agent" and user["is_active"] is True
    assert PASSWORD not in response.text and "argon2" not in response.text


async def test_created_user_can_sign_in_with_their_password(client, admin_headers):
    user = await create_user(client, admin_headers, password=PASSWORD)
    response = await password_grant(client, user["email"], PASSWORD)
    assert response.status_code == 200, response.text
    me = (await client.get("/v1/me", headers=bearer(response.json()["access_token"]))).json()
    assert me["kind"] == "user" and me["id"] == user["id"] and me["desk_ids"] == []


async def test_user_role_defaults_to_agent_and_admin_users_see_every_desk(client, admin_headers):
    assert (await create_user(client, admin_headers))["role"] == "agent"
    admin = await create_user(client, admin_headers, role="admin", password=PASSWORD)
    token = (await password_grant(client, admin["email"], PASSWORD)).json()["access_token"]
    me = (await client.get("/v1/me", headers=bearer(token))).json()
    assert me["scopes"] == ["admin"] and me["desk_ids"] is None


async def test_duplicate_email_in_any_case_is_409_naming_the_existing_user(client, admin_headers,
                                                                          problem):
    address = email("dup")
    first = await create_user(client, admin_headers, email=address)
    body = problem(await client.post("/v1/users", json={
        "email": address.upper(), "name": "Other"}, headers=admin_headers), 409)
    assert body["existing_id"] == first["id"]


async def test_invalid_user_bodies_are_422_naming_the_field(client, admin_headers, problem):
    cases = [
        ({"email": "not-an-email", "name": "X"}, ["body", "email"]),
        ({"email": email(), "name": "X", "password": "short"}, ["body", "password"]),
        ({"email": email(), "name": "X", "role": "owner"}, ["body", "role"]),
        ({"email": email(), "name": ""}, ["body", "name"]),
        ({"email": email(), "name": "X", "password_hash": "x"}, ["body", "password_hash"]),
    ]
    for payload, loc in cases:
        body = problem(await client.post("/v1/users", json=payload, headers=admin_headers), 422)
        assert only_error(body)["loc"] == loc, payload


async def test_user_list_is_paginated_and_returns_every_user_once(client, admin_headers):
    created = [(await create_user(client, admin_headers))["id"] for _ in range(3)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/users", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        assert all("password_hash" not in u for u in page["items"])
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(created) <= set(seen)
    assert seen == sorted(seen)


async def test_user_list_limit_outside_1_to_200_is_422(client, admin_headers, problem):
    for limit in (0, 201):
        body = problem(await client.get("/v1/users", params={"limit": limit},
                                        headers=admin_headers), 422)
        assert only_error(body)["loc"] == ["query", "limit"]


async def test_get_user_returns_an_etag_and_unknown_user_is_404(client, admin_headers, problem):
    user = await create_user(client, admin_headers)
    response = await client.get(f"/v1/users/{user['id']}", headers=admin_headers)
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    problem(await client.get("/v1/users/999999999", headers=admin_headers), 404)


async def test_patch_user_with_current_if_match_bumps_the_version(client, admin_headers):
    user = await create_user(client, admin_headers)
    response = await client.patch(f"/v1/users/{user['id']}", json={"name": "Ana L.",
                                                                  "role": "admin"},
                                  headers={**admin_headers, "If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    body = response.json()
    assert body["name"] == "Ana L." and body["role"] == "admin" and body["version"] == 2


async def test_patch_user_with_stale_if_match_is_412_and_changes_nothing(client, admin_headers,
                                                                        problem):
    user = await create_user(client, admin_headers, name="Before")
    url = f"/v1/users/{user['id']}"
    await client.patch(url, json={"name": "Middle"}, headers=admin_headers)
    body = problem(await client.patch(url, json={"name": "After"},
                                      headers={**admin_headers, "If-Match": '"1"'}), 412)
    assert body["current_etag"] == '"2"'
    assert (await client.get(url, headers=admin_headers)).json()["name"] == "Middle"


async def test_deactivated_user_can_no_longer_sign_in_or_use_their_jwt(client, admin_headers,
                                                                      problem):
    user = await create_user(client, admin_headers, password=PASSWORD)
    token = (await password_grant(client, user["email"], PASSWORD)).json()["access_token"]
    await client.patch(f"/v1/users/{user['id']}", json={"is_active": False}, headers=admin_headers)
    problem(await password_grant(client, user["email"], PASSWORD), 401)
    problem(await client.get("/v1/me", headers=bearer(token)), 401)


async def test_patch_password_replaces_the_old_one(client, admin_headers, problem):
    user = await create_user(client, admin_headers, password=PASSWORD)
    new = "another long password"
    await client.patch(f"/v1/users/{user['id']}", json={"password": new}, headers=admin_headers)
    problem(await password_grant(client, user["email"], PASSWORD), 401)
    assert (await password_grant(client, user["email"], new)).status_code == 200


async def test_a_password_change_refuses_the_jwts_issued_before_it(client, admin_headers,
                                                                   problem):
    user = await create_user(client, admin_headers, password=PASSWORD)
    url = f"/v1/users/{user['id']}"
    old = bearer((await password_grant(client, user["email"], PASSWORD)).json()["access_token"])
    await client.patch(url, json={"name": "Renamed"}, headers=admin_headers)
    assert (await client.get("/v1/me", headers=old)).status_code == 200
    new = "another long password"
    await client.patch(url, json={"password": new}, headers=admin_headers)
    body = problem(await client.get("/v1/me", headers=old), 401)
    assert "issued before the password last changed" in body["detail"]
    # A sign-in right after the change (the same second) is not mistaken for an older one.
    fresh = bearer((await password_grant(client, user["email"], new)).json()["access_token"])
    assert (await client.get("/v1/me", headers=fresh)).status_code == 200


async def test_only_admin_manages_users_and_teams(client, factory, admin_headers, problem):
    token = bearer(await factory.token(["desks:write", "tickets:write"]))
    user = await create_user(client, admin_headers, password=PASSWORD)
    agent = bearer((await password_grant(client, user["email"], PASSWORD)).json()["access_token"])
    for headers in (token, agent):
        problem(await client.get("/v1/users", headers=headers), 403)
        problem(await client.post("/v1/users", json={"email": email(), "name": "X"},
                                  headers=headers), 403)
        problem(await client.patch(f"/v1/users/{user['id']}", json={"name": "X"},
                                   headers=headers), 403)
        problem(await client.post("/v1/teams", json={"name": "X"}, headers=headers), 403)
        problem(await client.get("/v1/teams", headers=headers), 403)
    problem(await client.get("/v1/users"), 401)


# --- teams ---------------------------------------------------------------------------------

async def test_create_team_with_members_is_201_listing_them(client, factory, admin_headers):
    a = await factory.user()
    b = await factory.user()
    response = await client.post("/v1/teams", json={
        "name": "Tier 2", "description": "Escalations", "member_ids": [b.id, a.id, b.id],
    }, headers=admin_headers)
    assert response.status_code == 201, response.text
    team = response.json()
    assert response.headers["Location"] == f"/v1/teams/{team['id']}"
    assert team["name"] == "Tier 2" and team["description"] == "Escalations"
    assert team["member_ids"] == sorted([a.id, b.id])
    got = (await client.get(f"/v1/teams/{team['id']}", headers=admin_headers)).json()
    assert got == team


async def test_create_team_with_an_unknown_member_is_422_at_its_index(client, factory,
                                                                     admin_headers, problem):
    user = await factory.user()
    name = f"Ghosts {user.id}"
    body = problem(await client.post("/v1/teams", json={
        "name": name, "member_ids": [user.id, 999999999]}, headers=admin_headers), 422)
    error = only_error(body)
    assert error["loc"] == ["body", "member_ids", 1]
    assert "999999999" in error["msg"]
    teams = (await client.get("/v1/teams", params={"limit": 200}, headers=admin_headers)).json()
    assert name not in {t["name"] for t in teams["items"]}


async def test_duplicate_team_name_in_any_case_is_409(client, admin_headers, problem):
    await create_team(client, admin_headers, name="Billing")
    problem(await client.post("/v1/teams", json={"name": "BILLING"}, headers=admin_headers), 409)


async def test_team_list_is_paginated(client, admin_headers):
    created = [(await create_team(client, admin_headers))["id"] for _ in range(3)]
    first = (await client.get("/v1/teams", params={"limit": 2}, headers=admin_headers)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (await client.get("/v1/teams", params={"limit": 200, "cursor": first["next_cursor"]},
                             headers=admin_headers)).json()
    seen = [t["id"] for t in first["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) and set(created) <= set(seen)


async def test_put_team_member_adds_them_once(client, factory, admin_headers):
    team = await create_team(client, admin_headers)
    user = await factory.user()
    url = f"/v1/teams/{team['id']}/members/{user.id}"
    for _ in range(2):
        response = await client.put(url, headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["member_ids"] == [user.id]


async def test_put_team_member_of_unknown_user_or_team_is_404(client, factory, admin_headers,
                                                             problem):
    team = await create_team(client, admin_headers)
    user = await factory.user()
    problem(await client.put(f"/v1/teams/{team['id']}/members/999999999", headers=admin_headers),
            404)
    problem(await client.put(f"/v1/teams/999999999/members/{user.id}", headers=admin_headers), 404)


async def test_delete_team_member_is_204_then_404(client, factory, admin_headers, problem):
    user = await factory.user()
    team = await create_team(client, admin_headers, member_ids=[user.id])
    url = f"/v1/teams/{team['id']}/members/{user.id}"
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    got = (await client.get(f"/v1/teams/{team['id']}", headers=admin_headers)).json()
    assert got["member_ids"] == []
    problem(await client.delete(url, headers=admin_headers), 404)


async def test_unknown_team_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/teams/999999999", headers=admin_headers), 404)
