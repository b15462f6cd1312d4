"""Staff users and teams (admin only: the routers require the `admin` scope)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import check_if_match
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, invalid
from app.core.pagination import PageParams, SortKey, paginate
from app.core.security import hash_password
from app.models import Team, TeamMember, User
from app.staff.schemas import TeamCreate, UserCreate, UserUpdate


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def create_user(session: AsyncSession, payload: UserCreate) -> User:
    existing = await find_user_by_email(session, payload.email)
    if existing is not None:
        raise Conflict(f"A user with email {payload.email} exists.", existing_id=existing.id)
    user = User(email=payload.email, name=payload.name, role=payload.role,
                password_hash=hash_password(payload.password) if payload.password else None)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


async def list_users(session: AsyncSession, params: PageParams) -> tuple[list[User], str | None]:
    return await paginate(session, select(User), params, [SortKey(User.id)])


async def update_user(session: AsyncSession, user_id: int, payload: UserUpdate,
                      if_match: str | None) -> User:
    user = await get_user(session, user_id)
    check_if_match(if_match, user.version)
    if payload.name is not None:
        user.name = payload.name
    if payload.role is not None:
        user.role = payload.role
    if payload.password is not None:
        user.password_hash = hash_password(payload.password)
        user.password_changed_at = utcnow()
    if payload.is_active is not None:
        user.is_active = payload.is_active
    await session.flush()
    await session.refresh(user)
    return user


async def _check_users_exist(session: AsyncSession, user_ids: Sequence[int]) -> None:
    found = set((await session.scalars(select(User.id).where(User.id.in_(user_ids)))).all())
    for i, uid in enumerate(user_ids):
        if uid not in found:
            raise invalid(["body", "member_ids", i], f"user {uid} does not exist")


async def member_ids(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_(team_ids)).order_by(TeamMember.user_id)
    )
    result: dict[int, list[int]] = {tid: [] for tid in team_ids}
    for team_id, user_id in rows:
        result[team_id].append(user_id)
    return result


async def create_team(session: AsyncSession, payload: TeamCreate) -> Team:
    if await session.scalar(select(Team.id).where(func.lower(Team.name) == payload.name.lower())):
        raise Conflict(f"A team named {payload.name!r} exists.")
    ids = list(dict.fromkeys(payload.member_ids))
    await _check_users_exist(session, ids)
    team = Team(name=payload.name, description=payload.description)
    session.add(team)
    await session.flush()
    if ids:
        await session.execute(insert(TeamMember), [{"team_id": team.id, "user_id": u} for u in ids])
    await session.refresh(team)
    return team


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    return team


async def list_teams(session: AsyncSession, params: PageParams) -> tuple[list[Team], str | None]:
    return await paginate(session, select(Team), params, [SortKey(Team.id)])


async def add_team_member(session: AsyncSession, team_id: int, user_id: int) -> None:
    await get_team(session, team_id)
    await get_user(session, user_id)
    await session.execute(insert(TeamMember).values(team_id=team_id, user_id=user_id)
                          .on_conflict_do_nothing())


async def remove_team_member(session: AsyncSession, team_id: int, user_id: int) -> None:
    member = await session.get(TeamMember, (team_id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of team {team_id}.")
    await session.delete(member)
    await session.flush()
