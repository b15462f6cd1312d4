"""Who works a desk: the checks that a user or a team may be given its tickets.

Its own room (no other domain imported) so that what checks a desk's agents and teams —
tickets, the save-time checks of routing actions, organizations' actions — shares one rule.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import invalid
from app.models import DeskMember, TeamMember, User, UserRole


async def check_assignee(session: AsyncSession, desk_id: int, user_id: int,
                         loc: list[str | int]) -> None:
    """422 unless the user is an active admin or a member of the desk (directly or by team)."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise invalid(loc, f"user {user_id} is not an active agent")
    if user.role == UserRole.admin:
        return
    member = await session.scalar(select(DeskMember.id).where(
        DeskMember.desk_id == desk_id,
        (DeskMember.user_id == user_id) | DeskMember.team_id.in_(
            select(TeamMember.team_id).where(TeamMember.user_id == user_id)),
    ).limit(1))
    if member is None:
        raise invalid(loc, f"user {user_id} is not an agent of desk {desk_id}")


async def check_team(session: AsyncSession, desk_id: int, team_id: int,
                     loc: list[str | int]) -> None:
    member = await session.scalar(select(DeskMember.id).where(
        DeskMember.desk_id == desk_id, DeskMember.team_id == team_id))
    if member is None:
        raise invalid(loc, f"team {team_id} has no access to desk {desk_id}")
