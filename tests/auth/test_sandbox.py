"""Sandbox tokens: partner credentials confined to sandbox desks, whatever else exists."""

from __future__ import annotations

import pytest
import pytest_asyncio
from sqlalchemy import select

from app.core.security import new_api_token
from app.models import ApiToken, Desk
from tests.conftest import bearer

SANDBOX_SCOPES = ["desks:read", "desks:write", "tickets:write"]


@pytest_asyncio.fixture(loop_scope="session")
async def desks(factory) -> dict[str, Desk]:
    return {
        "sandbox": await factory.desk("Partner sandbox", kind="sandbox"),
        "other_sandbox": await factory.desk("Someone else's sandbox", kind="sandbox"),
        "standard": await factory.desk("Production", kind="standard"),
        "staging": await factory.desk("Staging", kind="staging"),
    }


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox_headers(factory, desks) -> dict[str, str]:
    return bearer(await factory.token(SANDBOX_SCOPES, desk_ids=[desks["sandbox"].id],
                                      sandbox=True))


async def _create(client, admin_headers, **payload):
    return await client.post("/v1/api-tokens", json={"name": "partner", **payload},
                             headers=admin_headers)


# Creating sandbox tokens

async def test_sandbox_token_is_created_for_sandbox_desks(client, admin_headers, desks):
    response = await _create(client, admin_headers, scopes=SANDBOX_SCOPES, sandbox=True,
                             desk_ids=[desks["other_sandbox"].id, desks["sandbox"].id])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["sandbox"] is True
    assert created["desk_ids"] == sorted([desks["sandbox"].id, desks["other_sandbox"].id])
    assert created["token"].startswith("swb_")


@pytest.mark.parametrize("kind", ["standard", "staging"])
async def test_sandbox_token_naming_a_non_sandbox_desk_is_422(client, admin_headers, desks,
                                                              problem, kind):
    response = await _create(client, admin_headers, scopes=["desks:read"], sandbox=True,
                             desk_ids=[desks["sandbox"].id, desks[kind].id])
    body = problem(response, 422)
    desk_id = desks[kind].id
    message = (f"desk {desk_id} is a {kind} desk; sandbox tokens may name sandbox desks only")
    assert body["detail"] == message
    assert body["errors"] == [{"loc": ["body", "desk_ids", 1], "msg": message,
                               "type": "value_error"}]


@pytest.mark.parametrize("desk_ids", [None, []], ids=["null", "empty"])
async def test_sandbox_token_without_desk_ids_is_422(client, admin_headers, problem, desk_ids):
    payload = {"scopes": ["desks:read"], "sandbox": True}
    if desk_ids is not None:
        payload["desk_ids"] = desk_ids
    body = problem(await _create(client, admin_headers, **payload), 422)
    assert body["errors"] == [{"loc": ["body", "desk_ids"],
                               "msg": "a sandbox token must name its sandbox desks",
                               "type": "value_error"}]


async def test_sandbox_token_with_admin_scope_is_422(client, admin_headers, desks, problem):
    body = problem(await _create(client, admin_headers, scopes=["desks:read", "admin"],
                                 sandbox=True, desk_ids=[desks["sandbox"].id]), 422)
    assert body["errors"] == [{"loc": ["body", "scopes"],
                               "msg": "a sandbox token cannot hold the admin scope",
                               "type": "value_error"}]


async def test_refused_sandbox_token_is_not_created(client, admin_headers, desks, session):
    before = await session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1))
    response = await _create(client, admin_headers, scopes=["desks:read"], sandbox=True,
                             desk_ids=[desks["standard"].id])
    assert response.status_code == 422
    after = await session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1))
    assert after == before


# What a sandbox token sees

async def test_sandbox_token_reads_its_sandbox_desk(client, sandbox_headers, desks):
    response = await client.get(f"/v1/desks/{desks['sandbox'].id}", headers=sandbox_headers)
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "sandbox"
    patched = await client.patch(f"/v1/desks/{desks['sandbox'].id}",
                                 json={"description": "partner testing"}, headers=sandbox_headers)
    assert patched.status_code == 200, patched.text


@pytest.mark.parametrize("name", ["standard", "staging", "other_sandbox"])
@pytest.mark.parametrize(("method", "suffix", "payload"), [
    ("GET", "", None),
    ("PATCH", "", {"name": "Hijacked"}),
    ("POST", "/archive", None),
    ("POST", "/unarchive", None),
    ("DELETE", "", None),
    ("GET", "/members", None),
])
async def test_sandbox_token_gets_404_on_any_other_desk(client, sandbox_headers, desks, problem,
                                                        session, name, method, suffix, payload):
    desk = desks[name]
    response = await client.request(method, f"/v1/desks/{desk.id}{suffix}", json=payload,
                                    headers=sandbox_headers)
    body = problem(response, 404)
    assert body["type"] == "urn:switchboard:problem:not-found"
    assert body["detail"] == f"Desk {desk.id} does not exist."
    await session.refresh(desk)
    assert desk.archived_at is None and desk.name != "Hijacked"


async def test_sandbox_token_lists_only_its_sandbox_desks(client, sandbox_headers, desks):
    response = await client.get("/v1/desks", headers=sandbox_headers)
    assert response.status_code == 200
    assert [d["id"] for d in response.json()["items"]] == [desks["sandbox"].id]
    for kind in ("standard", "staging"):
        filtered = await client.get("/v1/desks", params={"kind": kind}, headers=sandbox_headers)
        assert filtered.json()["items"] == []


async def test_sandbox_token_me_shows_its_confinement(client, sandbox_headers, desks):
    me = (await client.get("/v1/me", headers=sandbox_headers)).json()
    assert me["kind"] == "api_token"
    assert me["sandbox"] is True
    assert me["desk_ids"] == [desks["sandbox"].id]
    assert me["scopes"] == sorted(SANDBOX_SCOPES)


async def test_sandbox_token_cannot_create_desks(client, sandbox_headers, problem):
    for kind in ("sandbox", "standard"):
        response = await client.post("/v1/desks", json={"name": "Mine now", "kind": kind},
                                     headers=sandbox_headers)
        body = problem(response, 403)
        assert body["detail"] == "A token limited to some desks cannot create desks."


@pytest.mark.parametrize(("method", "path", "payload"), [
    ("GET", "/v1/users", None),
    ("POST", "/v1/users", {"email": "mole@partner.example", "name": "Mole", "role": "admin"}),
    ("GET", "/v1/teams", None),
    ("POST", "/v1/teams", {"name": "Partners"}),
    ("GET", "/v1/api-tokens", None),
    ("POST", "/v1/api-tokens", {"name": "wider", "scopes": ["desks:read"]}),
])
async def test_sandbox_token_cannot_reach_staff_or_tokens(client, sandbox_headers, problem,
                                                          method, path, payload):
    body = problem(await client.request(method, path, json=payload, headers=sandbox_headers),
                   403)
    assert body["required_scope"] == "admin"


async def test_sandbox_token_cannot_grant_itself_membership_of_a_standard_desk(
        client, sandbox_headers, desks, factory, problem):
    user = await factory.user()
    response = await client.put(f"/v1/desks/{desks['standard'].id}/members/{user.id}",
                                json={"role": "manager"}, headers=sandbox_headers)
    body = problem(response, 404)
    assert body["detail"] == f"Desk {desks['standard'].id} does not exist."


@pytest.mark.parametrize("sandbox", [True, False])
async def test_a_desk_token_cannot_add_or_remove_members_of_its_own_desk(
        client, session, desks, factory, admin_headers, problem, sandbox):
    desk = desks["sandbox"]
    headers = bearer(await factory.token(["desks:write"], desk_ids=[desk.id], sandbox=sandbox))
    admin = await factory.user(role="admin")
    url = f"/v1/desks/{desk.id}/members/{admin.id}"
    body = problem(await client.put(url, json={"role": "manager"}, headers=headers), 403)
    assert "not an API token" in body["detail"]
    assert (await client.put(url, json={"role": "agent"}, headers=admin_headers)).status_code == 201
    problem(await client.delete(url, headers=headers), 403)
    team = await client.post("/v1/teams", json={"name": "Partners"}, headers=admin_headers)
    problem(await client.put(f"/v1/desks/{desk.id}/teams/{team.json()['id']}",
                             json={"role": "manager"}, headers=headers), 403)
    members = (await client.get(f"/v1/desks/{desk.id}/members", headers=headers)).json()
    assert [(m["user_id"], m["role"]) for m in members["items"]] == [(admin.id, "agent")]


async def test_sandbox_token_row_naming_a_standard_desk_still_cannot_see_it(
        client, session, desks, problem):
    # Whatever the stored row says, a sandbox token's scope holds sandbox desks only.
    new = new_api_token()
    session.add(ApiToken(name="legacy partner", prefix=new.prefix, token_hash=new.digest,
                         scopes=["desks:read"], sandbox=True,
                         desk_ids=[desks["sandbox"].id, desks["standard"].id]))
    await session.flush()
    headers = bearer(new.secret)

    me = (await client.get("/v1/me", headers=headers)).json()
    assert me["desk_ids"] == [desks["sandbox"].id]
    problem(await client.get(f"/v1/desks/{desks['standard'].id}", headers=headers), 404)
    listed = (await client.get("/v1/desks", headers=headers)).json()
    assert [d["id"] for d in listed["items"]] == [desks["sandbox"].id]


async def test_sandbox_token_row_without_desks_sees_sandboxes_only(client, session, desks):
    new = new_api_token()
    session.add(ApiToken(name="all sandboxes", prefix=new.prefix, token_hash=new.digest,
                         scopes=["desks:read"], sandbox=True, desk_ids=None))
    await session.flush()
    listed = (await client.get("/v1/desks", headers=bearer(new.secret))).json()
    ids = {d["id"] for d in listed["items"]}
    assert {desks["sandbox"].id, desks["other_sandbox"].id} <= ids
    assert desks["standard"].id not in ids and desks["staging"].id not in ids
    assert {d["kind"] for d in listed["items"]} == {"sandbox"}
