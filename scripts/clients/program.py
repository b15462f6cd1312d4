"""A create call for each resource, type-checked (mypy --strict) against the client
openapi-python-client generates from openapi/openapi.json (scripts/clients/run)."""

from __future__ import annotations

from switchboard_client.api.auth import auth_create_api_token
from switchboard_client.api.custom_fields import custom_fields_create_ticket_field
from switchboard_client.api.customers import customers_create_customer
from switchboard_client.api.desks import desks_create_desk
from switchboard_client.api.forms import forms_create_form
from switchboard_client.api.organizations import organizations_create_organization
from switchboard_client.api.routing import routing_create_rule
from switchboard_client.api.staff import staff_create_team, staff_create_user
from switchboard_client.api.tickets import (
    tickets_add_comment,
    tickets_create_ticket,
    tickets_update_ticket,
)
from switchboard_client.api.views import views_create_view, views_get_view
from switchboard_client.api.webhooks import webhooks_subscribe
from switchboard_client.client import AuthenticatedClient
from switchboard_client.models import (
    ApiTokenCreate,
    CommentCreate,
    CustomerCreate,
    DeskCreate,
    DeskRead,
    FieldSpec,
    FieldType,
    FormCreate,
    OrganizationCreate,
    Priority,
    Problem,
    RequesterIn,
    RuleCreate,
    Scope,
    TeamCreate,
    TicketCreate,
    TicketRead,
    TicketUpdate,
    UserCreate,
    ViewCreate,
    ViewRead,
    WebhookCreate,
    WebhookEventType,
)


def create_each(base_url: str, token: str) -> list[int]:
    client = AuthenticatedClient(base_url=base_url, token=token)
    desk = desks_create_desk.sync(client=client, body=DeskCreate(name="Berlin office"))
    assert isinstance(desk, DeskRead)
    ticket = tickets_create_ticket.sync(
        client=client, idempotency_key="3f1c5e0a",
        body=TicketCreate(desk_id=desk.id, subject="Printer on fire",
                          requester=RequesterIn(email="ana@acme.example")))
    assert isinstance(ticket, TicketRead)
    updated = tickets_update_ticket.sync(ticket_id=ticket.id, client=client, if_match="*",
                                         body=TicketUpdate(priority=Priority.URGENT))
    problem_status = updated.status if isinstance(updated, Problem) else 0
    created = [
        tickets_add_comment.sync(ticket_id=ticket.id, client=client,
                                 body=CommentCreate(body="On our way.")),
        customers_create_customer.sync(client=client, body=CustomerCreate(
            desk_id=desk.id, email="ana@acme.example")),
        organizations_create_organization.sync(client=client, body=OrganizationCreate(
            desk_id=desk.id, name="Acme")),
        staff_create_user.sync(client=client, body=UserCreate(email="ana@staff.example",
                                                              name="Ana")),
        staff_create_team.sync(client=client, body=TeamCreate(name="Tier 2")),
        views_create_view.sync(client=client, body=ViewCreate(desk_id=desk.id, name="Urgent")),
        forms_create_form.sync(client=client, body=FormCreate(desk_id=desk.id, name="Contact",
                                                              slug="contact")),
        routing_create_rule.sync(client=client, body=RuleCreate(desk_id=desk.id, name="Rule")),
        webhooks_subscribe.sync(client=client, body=WebhookCreate(
            url="https://hooks.example.com/x",
            events=[WebhookEventType.TICKET_CREATED])),
        auth_create_api_token.sync(client=client, body=ApiTokenCreate(
            name="Zapier", scopes=[Scope.TICKETSREAD])),
        custom_fields_create_ticket_field.sync(desk_id=desk.id, client=client, body=FieldSpec(
            key="plan", label="Plan", type_=FieldType.TEXT)),
    ]
    view = views_get_view.sync(view_id=1, client=client)
    view_id = view.id if isinstance(view, ViewRead) else 0
    ids = [getattr(c, "id", 0) for c in created]
    return [desk.id, ticket.id, problem_status, view_id, *ids]
