from __future__ import annotations


async def test_resetting_a_standard_desk_answers_409(client, factory, admin_headers, problem):
    desk = await factory.desk("Production", kind="standard")
    body = problem(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers), 409)
    assert "standard" in body["detail"]


async def test_staging_and_sandbox_desks_can_be_reset(client, factory, admin_headers):
    for kind in ("staging", "sandbox"):
        desk = await factory.desk(kind.title(), kind=kind)
        response = await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["desk_id"] == desk.id


async def test_resetting_an_archived_desk_answers_409(client, factory, admin_headers, problem):
    desk = await factory.desk("QA", kind="staging")
    await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers)
    problem(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers), 409)


async def test_reset_of_a_desk_outside_the_scope_is_404(client, factory, problem):
    mine = await factory.desk("Mine", kind="sandbox")
    other = await factory.desk("Other", kind="sandbox")
    token = await factory.token(["desks:write"], desk_ids=[mine.id], sandbox=True)
    response = await client.post(f"/v1/desks/{other.id}/reset",
                                 headers={"Authorization": f"Bearer {token}"})
    problem(response, 404)
