"""Every model, imported here so that `Base.metadata` is complete (Alembic reads it)."""

from app.models.customers import Customer
from app.models.desks import Desk, DeskKind, DeskMember, MemberRole
from app.models.events import Event
from app.models.fields import FieldDefinition, FieldEntity
from app.models.forms import Form, FormSubmission, FormVersion, SurveyResponse
from app.models.intake import Attachment, InboundMessage
from app.models.organizations import Organization, OrganizationDomain
from app.models.routing import RoundRobinCursor, RoutingRule, RoutingRun
from app.models.staff import ApiToken, IdempotencyKey, Team, TeamMember, User, UserRole
from app.models.tickets import PRIORITY_NAME, PRIORITY_RANK, Comment, Ticket, View
from app.models.webhooks import Delivery, Webhook

__all__ = [
    "PRIORITY_NAME",
    "PRIORITY_RANK",
    "ApiToken",
    "Attachment",
    "Comment",
    "Customer",
    "Delivery",
    "Desk",
    "DeskKind",
    "DeskMember",
    "Event",
    "FieldDefinition",
    "FieldEntity",
    "Form",
    "FormSubmission",
    "FormVersion",
    "IdempotencyKey",
    "InboundMessage",
    "MemberRole",
    "Organization",
    "OrganizationDomain",
    "RoundRobinCursor",
    "RoutingRule",
    "RoutingRun",
    "SurveyResponse",
    "Team",
    "TeamMember",
    "Ticket",
    "User",
    "UserRole",
    "View",
    "Webhook",
]
