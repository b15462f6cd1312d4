"""Every model, imported here so that `Base.metadata` is complete (Alembic reads it)."""

from app.models.desks import Desk, DeskKind, DeskMember, MemberRole
from app.models.staff import ApiToken, IdempotencyKey, Team, TeamMember, User, UserRole

__all__ = [
    "ApiToken",
    "Desk",
    "DeskKind",
    "DeskMember",
    "IdempotencyKey",
    "MemberRole",
    "Team",
    "TeamMember",
    "User",
    "UserRole",
]
