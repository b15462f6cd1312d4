"""Desk configuration needs the manager role; agents of a desk only work in it."""

from __future__ import annotations

import time

import pytest

from app.core.security import create_access_token
from app.models import DeskMember, Team, TeamMember
from tests.conftest import TEST_SECRET, bearer


def jwt_for(user_id: int) -> dict[str, str]:
    return bearer(create_access_token(user_id, TEST_SECRET, 3600, now=time.time()))


@pytest.fixture
async def desk(factory):
    return await factory.desk("Support")


async def test_agent_member_reads_the_desk_but_cannot_reconfigure_it(client, factory, desk,
                                                                     problem):
    agent = await factory.user(desks=(desk.id,))
    headers = jwt_for(agent.id)
    assert (await client.get(f"/v1/desks/{desk.id}", headers=headers)).status_code == 200
    problem(await client.patch(f"/v1/desks/{desk.id}", json={"name": "Mine now"},
                               headers=headers), 403)
    problem(await client.post(f"/v1/desks/{desk.id}/archive", headers=headers), 403)
    problem(await client.put(f"/v1/desks/{desk.id}/members/{agent.id}",
                             json={"role": "manager"}, headers=headers), 403)
    problem(await client.post(f"/v1/desks/{desk.id}/customer-fields",
                              json={"key": "plan", "label": "Plan", "type": "text"},
                              headers=headers), 403)


async def test_manager_member_reconfigures_the_desk(client, factory, session, desk):
    manager = await factory.user()
    session.add(DeskMember(desk_id=desk.id, user_id=manager.id, role="manager"))
    await session.flush()
    headers = jwt_for(manager.id)
    response = await client.patch(f"/v1/desks/{desk.id}", json={"name": "Renamed"},
                                  headers=headers)
    assert response.status_code == 200, response.text
    other = await factory.user()
    put = await client.put(f"/v1/desks/{desk.id}/members/{other.id}", json={"role": "agent"},
                           headers=headers)
    assert put.status_code == 201, put.text


async def test_manager_role_through_a_team_counts(client, factory, session, desk):
    member = await factory.user()
    team = Team(name="Leads")
    session.add(team)
    await session.flush()
    session.add_all([TeamMember(team_id=team.id, user_id=member.id),
                     DeskMember(desk_id=desk.id, team_id=team.id, role="manager")])
    await session.flush()
    response = await client.post(f"/v1/desks/{desk.id}/archive", headers=jwt_for(member.id))
    assert response.status_code == 200, response.text
    assert response.json()["archived_at"] is not None


async def test_non_member_agent_gets_404_not_403(client, factory, desk, problem):
    outsider = await factory.user()
    problem(await client.patch(f"/v1/desks/{desk.id}", json={"name": "x"},
                               headers=jwt_for(outsider.id)), 404)
