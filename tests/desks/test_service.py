"""The desk service called directly with a `DeskScope`: the rules without HTTP around them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from app.core.pagination import PageParams
from app.core.scope import AGENT_SCOPES, DeskScope, Principal, Scope
from app.desks import service
from app.desks.schemas import DeskCreate, DeskSettings, DeskUpdate
from app.models import DeskMember, MemberRole

ADMIN = DeskScope(Principal("api_token", 1, "admin"), frozenset({Scope.admin.value}), None)
PAGE = PageParams(limit=200, cursor=None)


def agent(user_id: int, *desk_ids: int) -> DeskScope:
    return DeskScope(Principal("user", user_id, "Agent"), AGENT_SCOPES, frozenset(desk_ids))


def token_for(*desk_ids: int) -> DeskScope:
    return DeskScope(Principal("api_token", 2, "limited"), frozenset({"desks:write"}),
                     frozenset(desk_ids))


DEFAULTS = DeskSettings().model_dump(mode="json")


# --- merged_settings (pure) -----------------------------------------------------------------

def test_merged_settings_changes_only_the_keys_in_the_patch():
    current = {**DEFAULTS, "time_zone": "Europe/Berlin", "inbound_addresses": ["a@acme.example"]}
    merged = service.merged_settings(current, {"default_priority": "urgent"})
    assert merged == {**current, "default_priority": "urgent"}


def test_merged_settings_null_resets_a_key_to_its_default():
    current = {**DEFAULTS, "time_zone": "Europe/Berlin", "sla": {"first_response_minutes": 5,
                                                                 "resolution_minutes": None}}
    merged = service.merged_settings(current, {"time_zone": None, "sla": None})
    assert merged == DEFAULTS


def test_merged_settings_merges_nested_objects():
    current = {**DEFAULTS, "sla": {"first_response_minutes": 5, "resolution_minutes": None}}
    merged = service.merged_settings(current, {"sla": {"resolution_minutes": 90}})
    assert merged["sla"] == {"first_response_minutes": 5, "resolution_minutes": 90}


def test_merged_settings_does_not_mutate_the_current_settings():
    current = {**DEFAULTS, "sla": {"first_response_minutes": 5, "resolution_minutes": None}}
    snapshot = {**current, "sla": dict(current["sla"])}
    service.merged_settings(current, {"sla": {"resolution_minutes": 90}, "time_zone": "Asia/Tokyo"})
    assert current == snapshot


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"time_zone": "Nowhere/Special"}, ["body", "settings", "time_zone"]),
        ({"inbound_addresses": ["x@acme.example", "y"]}, ["body", "settings", "inbound_addresses", 1]),
        ({"default_priority": "whenever"}, ["body", "settings", "default_priority"]),
        ({"sla": {"first_response_minutes": 0}}, ["body", "settings", "sla", "first_response_minutes"]),
        ({"colour": "blue"}, ["body", "settings", "colour"]),
    ],
    ids=["time-zone", "inbound-address", "priority", "sla-minimum", "unknown-key"],
)
def test_merged_settings_rejects_an_invalid_result_naming_the_key(patch, loc):
    with pytest.raises(Unprocessable) as caught:
        service.merged_settings(DEFAULTS, patch)
    assert [e["loc"] for e in caught.value.errors] == [loc]


# --- create / get / list --------------------------------------------------------------------

async def test_create_by_an_agent_makes_them_its_manager(session, factory):
    user = await factory.user()
    desk = await service.create(session, agent(user.id), DeskCreate(name="Agent's"))
    members = (await session.scalars(select(DeskMember).where(DeskMember.desk_id == desk.id))).all()
    assert [(m.user_id, m.role) for m in members] == [(user.id, MemberRole.manager)]


async def test_create_by_an_all_desk_credential_adds_no_member(session):
    desk = await service.create(session, ADMIN, DeskCreate(name="Admin's", kind="sandbox"))
    assert desk.kind == "sandbox" and desk.version == 1
    assert desk.settings == DEFAULTS
    assert await service.list_members(session, ADMIN, desk.id, PAGE) == ([], None)


async def test_create_by_a_token_limited_to_desks_is_forbidden(session, factory):
    desk = await factory.desk()
    with pytest.raises(Forbidden):
        await service.create(session, token_for(desk.id), DeskCreate(name="Nope"))


async def test_get_outside_the_scope_is_not_found_like_a_missing_desk(session, factory):
    mine = await factory.desk("Mine")
    other = await factory.desk("Other")
    scope = token_for(mine.id)
    assert (await service.get(session, scope, mine.id)).id == mine.id
    with pytest.raises(NotFound) as outside:
        await service.get(session, scope, other.id)
    with pytest.raises(NotFound) as missing:
        await service.get(session, ADMIN, 999_999_999)
    assert outside.value.status == missing.value.status == 404


async def test_list_applies_the_scope_and_the_filters(session, factory):
    standard = await factory.desk("Standard")
    sandbox = await factory.desk("Sandbox", kind="sandbox")
    hidden = await factory.desk("Hidden", kind="sandbox")
    await service.set_archived(session, ADMIN, sandbox.id, True)
    scope = token_for(standard.id, sandbox.id)

    async def ids(**filters) -> list[int]:
        desks, cursor = await service.list_(session, scope, PAGE, **filters)
        assert cursor is None
        return [d.id for d in desks]

    assert await ids() == [standard.id, sandbox.id]
    assert await ids(kind="sandbox") == [sandbox.id]
    assert await ids(archived=True) == [sandbox.id]
    assert await ids(archived=False) == [standard.id]
    assert hidden.id not in await ids(kind="sandbox")


# --- update / archive / delete --------------------------------------------------------------

async def test_update_with_a_stale_version_raises_precondition_failed(session, factory):
    desk = await factory.desk()
    with pytest.raises(PreconditionFailed):
        await service.update(session, ADMIN, desk.id, DeskUpdate(name="X"), '"7"')


async def test_update_bumps_the_version_once_per_change(session, factory):
    desk = await factory.desk()
    updated = await service.update(session, ADMIN, desk.id,
                                   DeskUpdate(name="Renamed", settings={"time_zone": "Asia/Tokyo"}),
                                   '"1"')
    assert updated.version == 2
    assert updated.name == "Renamed" and updated.settings["time_zone"] == "Asia/Tokyo"


async def test_set_archived_keeps_the_first_archived_at(session, factory):
    desk = await factory.desk()
    first = (await service.set_archived(session, ADMIN, desk.id, True)).archived_at
    assert first is not None
    assert (await service.set_archived(session, ADMIN, desk.id, True)).archived_at == first
    assert (await service.set_archived(session, ADMIN, desk.id, False)).archived_at is None


async def test_get_active_refuses_an_archived_desk(session, factory):
    desk = await factory.desk()
    await service.set_archived(session, ADMIN, desk.id, True)
    with pytest.raises(Conflict) as caught:
        await service.get_active(session, ADMIN, desk.id)
    assert caught.value.extensions == {"desk_id": desk.id}


async def test_delete_requires_an_archived_desk_and_cascades_to_members(session, factory):
    desk = await factory.desk()
    await factory.user(desks=(desk.id,))
    with pytest.raises(Conflict):
        await service.delete(session, ADMIN, desk.id)
    await service.set_archived(session, ADMIN, desk.id, True)
    await service.delete(session, ADMIN, desk.id)
    session.expunge_all()
    assert await session.scalar(select(DeskMember).where(DeskMember.desk_id == desk.id)) is None
    with pytest.raises(NotFound):
        await service.get(session, ADMIN, desk.id)


# --- members ---------------------------------------------------------------------------------

async def test_put_member_reports_whether_the_membership_is_new(session, factory):
    desk = await factory.desk()
    user = await factory.user()
    member, created = await service.put_member(session, ADMIN, desk.id, MemberRole.agent,
                                               user_id=user.id)
    assert created and member.role == MemberRole.agent
    again, created = await service.put_member(session, ADMIN, desk.id, MemberRole.manager,
                                              user_id=user.id)
    assert not created and again.id == member.id and again.role == MemberRole.manager


async def test_put_member_of_a_missing_user_or_team_is_not_found(session, factory):
    desk = await factory.desk()
    with pytest.raises(NotFound):
        await service.put_member(session, ADMIN, desk.id, MemberRole.agent, user_id=999_999_999)
    with pytest.raises(NotFound):
        await service.put_member(session, ADMIN, desk.id, MemberRole.agent, team_id=999_999_999)


async def test_remove_member_that_is_not_one_is_not_found(session, factory):
    desk = await factory.desk()
    user = await factory.user()
    with pytest.raises(NotFound) as caught:
        await service.remove_member(session, ADMIN, desk.id, user_id=user.id)
    assert f"User {user.id}" in caught.value.detail
