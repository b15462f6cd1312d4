"""Who gets a ticket when a rule names a team: round-robin turns and least-loaded picks.

Each is one statement over the team's active members, and only when the team has access to the
desk (a `desk_members` row). Round-robin turns are shared by every worker: the statement
upserts the `round_robin_cursors` row of (desk, team), which stays locked until the routing
transaction commits, so two workers never hand out one slot twice and consecutive tickets go
to consecutive members in user id order, wrapping around.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.service import OPEN_STATUSES

_MEMBERS = """
    SELECT tm.user_id FROM team_members tm JOIN users u ON u.id = tm.user_id
    WHERE tm.team_id = :team_id AND u.is_active
      AND EXISTS (SELECT 1 FROM desk_members dm
                  WHERE dm.desk_id = :desk_id AND dm.team_id = :team_id)"""

TAKE_TURN = text(f"""
    WITH members AS ({_MEMBERS})
    INSERT INTO round_robin_cursors AS c (desk_id, team_id, last_user_id)
    SELECT :desk_id, :team_id, min(user_id) FROM members HAVING count(*) > 0
    ON CONFLICT (desk_id, team_id) DO UPDATE SET
        last_user_id = coalesce(
            (SELECT min(user_id) FROM members WHERE user_id > c.last_user_id),
            (SELECT min(user_id) FROM members)),
        updated_at = now()
    RETURNING last_user_id""")  # noqa: S608 - constant SQL

LEAST_LOADED = text(f"""
    WITH members AS ({_MEMBERS})
    SELECT m.user_id FROM members m
    ORDER BY (SELECT count(*) FROM tickets t
              WHERE t.assignee_id = m.user_id AND t.desk_id = :desk_id
                AND t.status = ANY(:open_statuses)
                AND t.id <> :ticket_id),
             m.user_id
    LIMIT 1""")  # noqa: S608 - constant SQL


async def take_turn(session: AsyncSession, desk_id: int, team_id: int) -> int | None:
    """The member whose turn it is, moving the cursor past them (the cursor row stays locked to
    the end of the transaction); None when the team has no active member or no desk access."""
    return await session.scalar(TAKE_TURN, {"desk_id": desk_id, "team_id": team_id})


async def least_loaded(session: AsyncSession, desk_id: int, team_id: int,
                       ticket_id: int) -> int | None:
    """The member with the fewest open tickets in the desk (not counting `ticket_id`), ties to
    the lowest user id; None when the team has no active member or no desk access."""
    return await session.scalar(LEAST_LOADED, {"desk_id": desk_id, "team_id": team_id,
                                               "ticket_id": ticket_id,
                                               "open_statuses": list(OPEN_STATUSES)})
