"""Every model, imported here so that `Base.metadata` is complete (Alembic reads it)."""

from app.models.customers import Customer
from app.models.desks import Desk, DeskKind, DeskMember, MemberRole
from app.models.events import Event
from app.models.fields import FieldDefinition, FieldEntity
from app.models.organizations import Organization, OrganizationDomain
from app.models.staff import ApiToken, IdempotencyKey, Team, TeamMember, User, UserRole

__all__ = [
    "ApiToken",
    "Customer",
    "Desk",
    "DeskKind",
    "DeskMember",
    "Event",
    "FieldDefinition",
    "FieldEntity",
    "IdempotencyKey",
    "MemberRole",
    "Organization",
    "OrganizationDomain",
    "Team",
    "TeamMember",
    "User",
    "UserRole",
]
