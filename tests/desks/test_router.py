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
