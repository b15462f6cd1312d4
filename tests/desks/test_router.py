from __future__ import annotations

from tests.conftest import bearer


async def test_admin_creates_and_reads_a_desk(client, admin_headers):
    created = await client.post("/v1/desks", json={"name": "Berlin", "kind": "staging"},
                                headers=admin_headers)
    assert created.status_code == 201, created.text
    desk = created.json()
    assert created.headers["Location"] == f"/v1/desks/{desk['id']}"
    assert desk["kind"] == "staging" and desk["archived_at"] is None
    assert desk["settings"]["time_zone"] == "UTC"
    got = await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    assert got.json()["name"] == "Berlin"


async def test_token_of_other_desk_gets_404(client, factory, problem):
    mine = await factory.desk("Mine")
    other = await factory.desk("Other")
    token = await factory.token(["desks:read"], desk_ids=[mine.id])
    assert (await client.get(f"/v1/desks/{mine.id}", headers=bearer(token))).status_code == 200
    problem(await client.get(f"/v1/desks/{other.id}", headers=bearer(token)), 404)


# --- helpers -------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


async def sign_in(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers of a staff JWT from the OAuth2 password grant."""
    response = await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": email, "password": password,
    })
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def agent_headers(client, factory, desks: tuple[int, ...] = ()) -> tuple[int, dict[str, str]]:
    user = await factory.user(password=PASSWORD, desks=desks)
    return user.id, await sign_in(client, user.email)


async def create_desk(client, headers, **body) -> dict:
    response = await client.post("/v1/desks", json={"name": "Desk", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def only_error(body: dict) -> dict:
    assert len(body["errors"]) == 1, body["errors"]
    return body["errors"][0]


# --- create --------------------------------------------------------------------------------

async def test_created_desk_answers_201_with_location_etag_and_body(client, admin_headers):
    response = await client.post("/v1/desks", json={"name": "Lisbon", "description": "South"},
                                 headers=admin_headers)
    assert response.status_code == 201, response.text
    desk = response.json()
    assert response.headers["Location"] == f"/v1/desks/{desk['id']}"
    assert response.headers["ETag"] == '"1"'
    assert desk["name"] == "Lisbon" and desk["description"] == "South"
    assert desk["kind"] == "standard"
    assert desk["version"] == 1 and desk["archived_at"] is None
    assert desk["created_at"] and desk["updated_at"]


async def test_desk_kind_is_kept_for_each_of_standard_staging_and_sandbox(client, admin_headers):
    for kind in ("standard", "staging", "sandbox"):
        desk = await create_desk(client, admin_headers, kind=kind)
        assert desk["kind"] == kind
        got = await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)
        assert got.json()["kind"] == kind


async def test_unknown_desk_kind_is_422_at_body_kind(client, admin_headers, problem):
    body = problem(await client.post("/v1/desks", json={"name": "X", "kind": "production"},
                                     headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "kind"]


async def test_new_desk_gets_the_default_settings(client, admin_headers):
    desk = await create_desk(client, admin_headers)
    assert desk["settings"] == {
        "auto_create_organizations": False,
        "inbound_addresses": [],
        "time_zone": "UTC",
        "default_priority": "normal",
        "language": "english",
        "sla": None,
    }


async def test_desk_settings_are_stored_and_inbound_addresses_normalised(client, admin_headers):
    desk = await create_desk(client, admin_headers, settings={
        "auto_create_organizations": True,
        "inbound_addresses": ["Support@Acme.example", "help@acme.example", "support@acme.example"],
        "time_zone": "Europe/Berlin",
        "default_priority": "high",
        "language": "english",
        "sla": {"first_response_minutes": 60},
    })
    got = (await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)).json()
    assert got["settings"] == {
        "auto_create_organizations": True,
        "inbound_addresses": ["help@acme.example", "support@acme.example"],
        "time_zone": "Europe/Berlin",
        "default_priority": "high",
        "language": "english",
        "sla": {"first_response_minutes": 60, "resolution_minutes": None},
    }


async def test_an_inbound_address_takes_mail_for_one_desk_only(client, admin_headers, problem):
    settings = {"inbound_addresses": ["Help@Acme.example"]}
    first = await create_desk(client, admin_headers, settings=settings)
    body = problem(await client.post("/v1/desks", json={"name": "Copy", "settings": {
        "inbound_addresses": ["sales@acme.example", "help@acme.example"]}},
        headers=admin_headers), 409)
    assert "help@acme.example" in body["detail"] and "sales@" not in body["detail"]
    assert only_error(body)["loc"] == ["body", "settings", "inbound_addresses"]

    second = await create_desk(client, admin_headers, name="Second")
    url = f"/v1/desks/{second['id']}"
    problem(await client.patch(url, json={"settings": settings}, headers=admin_headers), 409)
    # the first desk saving its own address again is fine; once it lets go, the second may
    again = await client.patch(f"/v1/desks/{first['id']}", json={
        "name": "First", "settings": settings}, headers=admin_headers)
    assert again.status_code == 200, again.text
    released = await client.patch(f"/v1/desks/{first['id']}", json={
        "settings": {"inbound_addresses": []}}, headers=admin_headers)
    assert released.status_code == 200, released.text
    taken = await client.patch(url, json={"settings": settings}, headers=admin_headers)
    assert taken.status_code == 200, taken.text
    assert taken.json()["settings"]["inbound_addresses"] == ["help@acme.example"]


async def test_time_zone_that_is_not_iana_is_422_at_settings_time_zone(client, admin_headers,
                                                                       problem):
    for zone in ("Mars/Olympus_Mons", "GMT+25", ""):
        body = problem(await client.post("/v1/desks", json={
            "name": "X", "settings": {"time_zone": zone}}, headers=admin_headers), 422)
        error = only_error(body)
        assert error["loc"] == ["body", "settings", "time_zone"], zone
        assert "IANA" in error["msg"]


async def test_inbound_address_that_is_not_an_email_is_422_at_its_index(client, admin_headers,
                                                                       problem):
    body = problem(await client.post("/v1/desks", json={
        "name": "X", "settings": {"inbound_addresses": ["ok@acme.example", "not-an-email"]},
    }, headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "settings", "inbound_addresses", 1]


async def test_unknown_default_priority_is_422_at_settings_default_priority(client, admin_headers,
                                                                           problem):
    body = problem(await client.post("/v1/desks", json={
        "name": "X", "settings": {"default_priority": "critical"}}, headers=admin_headers), 422)
    error = only_error(body)
    assert error["loc"] == ["body", "settings", "default_priority"]
    assert error["type"] == "enum"


async def test_desks_need_a_credential_and_the_desks_scope(client, factory, problem):
    problem(await client.get("/v1/desks"), 401)
    reader = bearer(await factory.token(["desks:read"]))
    problem(await client.post("/v1/desks", json={"name": "X"}, headers=reader), 403)
    tickets_only = bearer(await factory.token(["tickets:read"]))
    problem(await client.get("/v1/desks", headers=tickets_only), 403)


async def test_all_desk_token_with_desks_write_can_create_desks(client, factory):
    token = bearer(await factory.token(["desks:write"]))
    desk = await create_desk(client, token, name="By token")
    assert (await client.get(f"/v1/desks/{desk['id']}", headers=token)).status_code == 200


async def test_token_limited_to_some_desks_cannot_create_desks(client, factory, problem):
    mine = await factory.desk("Mine")
    token = bearer(await factory.token(["desks:write"], desk_ids=[mine.id]))
    body = problem(await client.post("/v1/desks", json={"name": "New"}, headers=token), 403)
    assert "cannot create desks" in body["detail"]


# --- update --------------------------------------------------------------------------------

async def test_patch_renames_the_desk_and_bumps_version_and_etag(client, admin_headers):
    desk = await create_desk(client, admin_headers, name="Old")
    response = await client.patch(f"/v1/desks/{desk['id']}",
                                  json={"name": "New", "description": "Renamed"},
                                  headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    body = response.json()
    assert body["name"] == "New" and body["description"] == "Renamed" and body["version"] == 2
    got = await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)
    assert got.headers["ETag"] == '"2"' and got.json()["name"] == "New"


async def test_patch_merges_settings_keys_and_keeps_the_others(client, admin_headers):
    desk = await create_desk(client, admin_headers, settings={
        "inbound_addresses": ["help@acme.example"], "default_priority": "high",
        "sla": {"first_response_minutes": 30},
    })
    response = await client.patch(f"/v1/desks/{desk['id']}", json={
        "settings": {"time_zone": "America/Sao_Paulo", "sla": {"resolution_minutes": 600}},
    }, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == {
        "auto_create_organizations": False,
        "inbound_addresses": ["help@acme.example"],
        "time_zone": "America/Sao_Paulo",
        "default_priority": "high",
        "language": "english",
        "sla": {"first_response_minutes": 30, "resolution_minutes": 600},
    }


async def test_patch_null_settings_key_resets_it_to_its_default(client, admin_headers):
    desk = await create_desk(client, admin_headers, settings={
        "time_zone": "Asia/Tokyo", "sla": {"first_response_minutes": 30},
    })
    response = await client.patch(f"/v1/desks/{desk['id']}",
                                  json={"settings": {"time_zone": None, "sla": None}},
                                  headers=admin_headers)
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["time_zone"] == "UTC" and settings["sla"] is None


async def test_patch_with_invalid_settings_is_422_and_changes_nothing(client, admin_headers,
                                                                     problem):
    desk = await create_desk(client, admin_headers, settings={"time_zone": "Europe/Paris"})
    body = problem(await client.patch(f"/v1/desks/{desk['id']}", json={
        "name": "Changed", "settings": {"time_zone": "Europe/Atlantis"},
    }, headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "settings", "time_zone"]
    body = problem(await client.patch(f"/v1/desks/{desk['id']}", json={
        "settings": {"inbound_addresses": ["nope"]}}, headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "settings", "inbound_addresses", 0]
    body = problem(await client.patch(f"/v1/desks/{desk['id']}", json={
        "settings": {"default_priority": "asap"}}, headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "settings", "default_priority"]
    got = (await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)).json()
    assert got["name"] == "Desk" and got["version"] == 1
    assert got["settings"]["time_zone"] == "Europe/Paris"


async def test_patch_with_current_if_match_succeeds_and_stale_is_412(client, admin_headers,
                                                                     problem):
    desk = await create_desk(client, admin_headers)
    url = f"/v1/desks/{desk['id']}"
    ok = await client.patch(url, json={"name": "One"}, headers={**admin_headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    body = problem(await client.patch(url, json={"name": "Two"},
                                      headers={**admin_headers, "If-Match": '"1"'}), 412)
    assert body["current_etag"] == '"2"'
    assert (await client.get(url, headers=admin_headers)).json()["name"] == "One"


async def test_patch_of_a_missing_desk_is_404(client, admin_headers, problem):
    problem(await client.patch("/v1/desks/999999999", json={"name": "X"}, headers=admin_headers),
            404)


# --- archive, unarchive, delete ------------------------------------------------------------

async def test_archive_sets_archived_at_and_is_idempotent(client, admin_headers):
    desk = await create_desk(client, admin_headers)
    first = await client.post(f"/v1/desks/{desk['id']}/archive", headers=admin_headers)
    assert first.status_code == 200, first.text
    archived_at = first.json()["archived_at"]
    assert archived_at is not None
    again = await client.post(f"/v1/desks/{desk['id']}/archive", headers=admin_headers)
    assert again.status_code == 200
    assert again.json()["archived_at"] == archived_at


async def test_unarchive_clears_archived_at_and_is_idempotent(client, admin_headers):
    desk = await create_desk(client, admin_headers)
    await client.post(f"/v1/desks/{desk['id']}/archive", headers=admin_headers)
    for _ in range(2):
        response = await client.post(f"/v1/desks/{desk['id']}/unarchive", headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["archived_at"] is None
    assert (await client.get(f"/v1/desks/{desk['id']}",
                             headers=admin_headers)).json()["archived_at"] is None


async def test_archived_desk_rejects_patch_with_409_until_unarchived(client, admin_headers,
                                                                    problem):
    desk = await create_desk(client, admin_headers)
    url = f"/v1/desks/{desk['id']}"
    await client.post(f"{url}/archive", headers=admin_headers)
    body = problem(await client.patch(url, json={"name": "X"}, headers=admin_headers), 409)
    assert body["desk_id"] == desk["id"]
    await client.post(f"{url}/unarchive", headers=admin_headers)
    assert (await client.patch(url, json={"name": "X"}, headers=admin_headers)).status_code == 200


async def test_archived_desk_rejects_new_members_with_409(client, factory, admin_headers, problem):
    desk = await create_desk(client, admin_headers)
    user = await factory.user()
    team_response = await client.post("/v1/teams", json={"name": f"T{user.id}"},
                                      headers=admin_headers)
    team_id = team_response.json()["id"]
    await client.post(f"/v1/desks/{desk['id']}/archive", headers=admin_headers)
    problem(await client.put(f"/v1/desks/{desk['id']}/members/{user.id}", json={"role": "agent"},
                             headers=admin_headers), 409)
    problem(await client.put(f"/v1/desks/{desk['id']}/teams/{team_id}", json={"role": "agent"},
                             headers=admin_headers), 409)
    assert await members_of(client, desk['id'], admin_headers) == []


async def test_deleting_an_active_desk_is_409(client, admin_headers, problem):
    desk = await create_desk(client, admin_headers)
    body = problem(await client.delete(f"/v1/desks/{desk['id']}", headers=admin_headers), 409)
    assert "archive" in body["detail"]
    assert (await client.get(f"/v1/desks/{desk['id']}", headers=admin_headers)).status_code == 200


async def test_deleting_an_archived_desk_is_204_and_then_it_is_gone(client, admin_headers,
                                                                   problem):
    desk = await create_desk(client, admin_headers)
    url = f"/v1/desks/{desk['id']}"
    await client.post(f"{url}/archive", headers=admin_headers)
    deleted = await client.delete(url, headers=admin_headers)
    assert deleted.status_code == 204 and deleted.content == b""
    problem(await client.get(url, headers=admin_headers), 404)
    problem(await client.delete(url, headers=admin_headers), 404)


# --- list ----------------------------------------------------------------------------------

async def _listed_ids(client, headers, **params) -> set[int]:
    ids: set[int] = set()
    cursor = None
    while True:
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/desks", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids |= {d["id"] for d in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_list_filters_by_kind(client, factory, admin_headers):
    standard = await factory.desk("S", kind="standard")
    staging = await factory.desk("T", kind="staging")
    sandbox = await factory.desk("B", kind="sandbox")
    mine = {standard.id, staging.id, sandbox.id}
    assert await _listed_ids(client, admin_headers, kind="staging") & mine == {staging.id}
    assert await _listed_ids(client, admin_headers, kind="sandbox") & mine == {sandbox.id}
    assert await _listed_ids(client, admin_headers) & mine == mine


async def test_list_filters_by_archived(client, factory, admin_headers):
    active = await factory.desk("Active")
    archived = await factory.desk("Archived")
    await client.post(f"/v1/desks/{archived.id}/archive", headers=admin_headers)
    mine = {active.id, archived.id}
    assert await _listed_ids(client, admin_headers, archived="true") & mine == {archived.id}
    assert await _listed_ids(client, admin_headers, archived="false") & mine == {active.id}
    assert await _listed_ids(client, admin_headers) & mine == mine


async def test_list_with_unknown_kind_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/desks", params={"kind": "prod"}, headers=admin_headers),
                   422)
    assert only_error(body)["loc"] == ["query", "kind"]


async def test_list_pages_through_every_desk_once(client, factory, admin_headers):
    created = [(await factory.desk(f"D{i}")).id for i in range(3)]
    token = bearer(await factory.token(["desks:read"], desk_ids=created))
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/desks", params=params, headers=token)).json()
        assert len(page["items"]) <= 2
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created)


# --- members -------------------------------------------------------------------------------

async def members_of(client, desk_id: int, headers: dict[str, str]) -> list[dict]:
    response = await client.get(f"/v1/desks/{desk_id}/members", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_members_are_listed_in_pages_like_every_list(client, factory, admin_headers):
    desk = await factory.desk()
    users = [await factory.user(desks=(desk.id,)) for _ in range(3)]
    url = f"/v1/desks/{desk.id}/members"
    first = (await client.get(url, params={"limit": 2}, headers=admin_headers)).json()
    assert [m["user_id"] for m in first["items"]] == [u.id for u in users[:2]]
    rest = (await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]},
                             headers=admin_headers)).json()
    assert [m["user_id"] for m in rest["items"]] == [users[2].id]
    assert rest["next_cursor"] is None

async def test_put_member_is_201_then_200_on_role_change(client, factory, admin_headers):
    desk = await factory.desk()
    user = await factory.user()
    url = f"/v1/desks/{desk.id}/members/{user.id}"
    created = await client.put(url, json={"role": "agent"}, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "agent"
    assert created.json()["desk_id"] == desk.id and created.json()["user_id"] == user.id
    assert created.json()["team_id"] is None
    changed = await client.put(url, json={"role": "manager"}, headers=admin_headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "manager"
    members = await members_of(client, desk.id, admin_headers)
    assert [(m["user_id"], m["role"]) for m in members] == [(user.id, "manager")]


async def test_put_member_role_defaults_to_agent_and_rejects_unknown_roles(client, factory,
                                                                         admin_headers, problem):
    desk = await factory.desk()
    user = await factory.user()
    url = f"/v1/desks/{desk.id}/members/{user.id}"
    body = problem(await client.put(url, json={"role": "owner"}, headers=admin_headers), 422)
    assert only_error(body)["loc"] == ["body", "role"]
    response = await client.put(url, json={}, headers=admin_headers)
    assert response.status_code == 201 and response.json()["role"] == "agent"


async def test_delete_member_is_204_then_404(client, factory, admin_headers, problem):
    desk = await factory.desk()
    user = await factory.user(desks=(desk.id,))
    url = f"/v1/desks/{desk.id}/members/{user.id}"
    deleted = await client.delete(url, headers=admin_headers)
    assert deleted.status_code == 204
    assert await members_of(client, desk.id, admin_headers) == []
    problem(await client.delete(url, headers=admin_headers), 404)


async def test_put_member_of_unknown_user_is_404(client, factory, admin_headers, problem):
    desk = await factory.desk()
    body = problem(await client.put(f"/v1/desks/{desk.id}/members/999999999",
                                    json={"role": "agent"}, headers=admin_headers), 404)
    assert "999999999" in body["detail"]


async def test_members_of_a_desk_outside_the_scope_are_404(client, factory, problem):
    mine = await factory.desk("Mine")
    other = await factory.desk("Other")
    user = await factory.user()
    token = bearer(await factory.token(["desks:write"], desk_ids=[mine.id]))
    problem(await client.get(f"/v1/desks/{other.id}/members", headers=token), 404)
    problem(await client.put(f"/v1/desks/{other.id}/members/{user.id}", json={"role": "agent"},
                             headers=token), 404)
    # On its own desk it is refused: membership is an admin's or a desk manager's to grant.
    problem(await client.put(f"/v1/desks/{mine.id}/members/{user.id}", json={"role": "agent"},
                             headers=token), 403)


async def test_team_membership_put_is_201_then_200_and_delete_is_204_then_404(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    team = (await client.post("/v1/teams", json={"name": f"Tier {desk.id}"},
                              headers=admin_headers)).json()
    url = f"/v1/desks/{desk.id}/teams/{team['id']}"
    created = await client.put(url, json={"role": "agent"}, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["team_id"] == team["id"] and created.json()["user_id"] is None
    changed = await client.put(url, json={"role": "manager"}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["role"] == "manager"
    members = await members_of(client, desk.id, admin_headers)
    assert [(m["team_id"], m["role"]) for m in members] == [(team["id"], "manager")]
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    problem(await client.delete(url, headers=admin_headers), 404)


async def test_put_team_membership_of_unknown_team_is_404(client, factory, admin_headers, problem):
    desk = await factory.desk()
    problem(await client.put(f"/v1/desks/{desk.id}/teams/999999999", json={"role": "agent"},
                             headers=admin_headers), 404)


# --- what an agent sees --------------------------------------------------------------------

async def test_agent_sees_only_the_desks_they_are_a_member_of(client, factory, problem):
    member = await factory.desk("Member")
    stranger = await factory.desk("Stranger")
    _, headers = await agent_headers(client, factory, desks=(member.id,))
    listed = await _listed_ids(client, headers)
    assert member.id in listed and stranger.id not in listed
    assert (await client.get(f"/v1/desks/{member.id}", headers=headers)).status_code == 200
    problem(await client.get(f"/v1/desks/{stranger.id}", headers=headers), 404)
    problem(await client.patch(f"/v1/desks/{stranger.id}", json={"name": "X"}, headers=headers),
            404)


async def test_agent_sees_desks_of_their_teams(client, factory, admin_headers, problem):
    desk = await factory.desk("Via team")
    user_id, headers = await agent_headers(client, factory)
    problem(await client.get(f"/v1/desks/{desk.id}", headers=headers), 404)
    team = (await client.post("/v1/teams", json={"name": f"Team {desk.id}",
                                                 "member_ids": [user_id]},
                              headers=admin_headers)).json()
    await client.put(f"/v1/desks/{desk.id}/teams/{team['id']}", json={"role": "agent"},
                     headers=admin_headers)
    assert (await client.get(f"/v1/desks/{desk.id}", headers=headers)).status_code == 200
    await client.delete(f"/v1/desks/{desk.id}/teams/{team['id']}", headers=admin_headers)
    problem(await client.get(f"/v1/desks/{desk.id}", headers=headers), 404)


async def test_agent_who_creates_a_desk_manages_it_and_sees_it(client, factory):
    user_id, headers = await agent_headers(client, factory)
    desk = await create_desk(client, headers, name="Mine now")
    assert (await client.get(f"/v1/desks/{desk['id']}", headers=headers)).status_code == 200
    assert desk["id"] in await _listed_ids(client, headers)
    members = await members_of(client, desk['id'], headers)
    assert [(m["user_id"], m["role"]) for m in members] == [(user_id, "manager")]


async def test_agent_loses_a_desk_when_their_membership_is_removed(client, factory, admin_headers,
                                                                  problem):
    desk = await factory.desk()
    user_id, headers = await agent_headers(client, factory, desks=(desk.id,))
    await client.delete(f"/v1/desks/{desk.id}/members/{user_id}", headers=admin_headers)
    problem(await client.get(f"/v1/desks/{desk.id}", headers=headers), 404)
