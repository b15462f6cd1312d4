"""One realistic envelope per event type, for platforms that ask for sample data (Zapier's
"perform list", Make's sample bodies).

`data` goes through the same `*Read` schemas the API answers with, so a sample cannot drift from
what a real delivery carries: a field added to `TicketRead` without a value here fails to build.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel

from app.core.outbox import SYSTEM_ACTOR
from app.customers.schemas import CustomerRead
from app.events.schemas import EventRead
from app.forms.schemas import SubmissionRead
from app.organizations.schemas import OrganizationRead
from app.tickets.schemas import CommentRead, TicketRead
from app.webhooks.schemas import EVENT_TYPES

AGENT = {"kind": "user", "id": 12, "name": "Ana Lima"}
DESK_ID = 3
CREATED = "2026-11-30T09:15:27.431Z"
LATER = "2026-11-30T09:42:03.118Z"

TICKET: dict[str, Any] = {
    "id": 1042, "desk_id": DESK_ID, "number": 87, "subject": "Printer on fire",
    "description": "The printer on floor 3 is smoking since this morning.",
    "status": "open", "priority": "high", "type": "incident", "requester_id": 5120,
    "organization_id": 77, "assignee_id": 12, "team_id": 4, "tags": ["hardware", "floor-3"],
    "custom_fields": {"asset_tag": "PR-2231"}, "due_at": "2026-12-01T17:00:00Z",
    "source": "email", "form_id": None, "routing_state": "done",
    "first_responded_at": LATER, "solved_at": None, "version": 3,
    "created_at": CREATED, "updated_at": LATER,
}
NEW_TICKET = {**TICKET, "status": "new", "priority": "normal", "assignee_id": None,
              "team_id": None, "tags": ["hardware"], "routing_state": "pending",
              "first_responded_at": None, "version": 1, "updated_at": CREATED}
COMMENT = {"id": 90311, "ticket_id": 1042, "desk_id": DESK_ID,
           "author": {"kind": "user", "id": 12}, "public": True, "created_at": LATER,
           "body": "Hi Sam, a technician is on the way. Please keep the area clear."}
CUSTOMER = {"id": 5120, "desk_id": DESK_ID, "email": "sam@acme.example", "name": "Sam Ortiz",
            "phone": "+1 415 555 0137", "organization_id": 77, "custom_fields": {"plan": "gold"},
            "version": 1, "created_at": CREATED, "updated_at": CREATED}
ORGANIZATION = {"id": 77, "desk_id": DESK_ID, "name": "Acme Inc.", "domains": ["acme.example"],
                "shared_tickets": True, "custom_fields": {"tier": "enterprise"},
                "routing_actions": [{"type": "set_priority", "value": "high"}],
                "notes": "Key account.", "version": 1, "created_at": CREATED,
                "updated_at": CREATED}
# The answers of a web form as submitted (with the form version they answered), and the
# ticket they opened.
FORM_SUBMISSION = {"id": 6610, "desk_id": DESK_ID, "form_id": 8, "version": 2, "ticket_id": 1042,
                   "answers": {"email": "sam@acme.example", "name": "Sam Ortiz",
                               "subject": "Printer on fire", "floor": "3"},
                   "created_at": CREATED}
# A webhook disabled after sustained failure: desk-less, so only every-desk webhooks hear it.
DISABLED_WEBHOOK = {"id": 15, "url": "https://hooks.example.com/switchboard",
                    "events": ["ticket.created"], "desk_ids": None, "state": "disabled",
                    "disabled_reason": "deliveries have failed without a success since "
                                       "2026-11-27T09:00:00+00:00, the last with: HTTP 503",
                    "failure_count": 61, "failing_since": "2026-11-27T09:00:00+00:00"}


def _envelope(event_id: int, type_: str, schema: type[BaseModel] | None, data: dict[str, Any],
              *, actor: dict[str, Any] = AGENT, changes: dict[str, list[Any]] | None = None,
              desk_id: int | None = DESK_ID, extra: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    body = schema.model_validate(data).model_dump(mode="json") if schema is not None else data
    body = {**body, **(extra or {})}
    envelope = EventRead.model_validate({
        "id": event_id, "type": type_, "desk_id": desk_id, "created_at": LATER,
        "actor": actor, "data": body, "changes": changes})
    return envelope.model_dump(mode="json")


def _build() -> dict[str, dict[str, Any]]:
    moved_ticket = {**TICKET, "desk_id": 5, "number": 12}
    moved_customer = {**CUSTOMER, "desk_id": 5, "organization_id": None}
    moved_org = {**ORGANIZATION, "desk_id": 5}
    return {
        "ticket.created": _envelope(230117, "ticket.created", TicketRead, NEW_TICKET,
                                    desk_id=DESK_ID),
        "ticket.updated": _envelope(230140, "ticket.updated", TicketRead, TICKET, changes={
            "priority": ["normal", "high"], "tags": [["hardware"], ["hardware", "floor-3"]]}),
        "ticket.status_changed": _envelope(230141, "ticket.status_changed", TicketRead, TICKET,
                                           changes={"status": ["new", "open"]}),
        "ticket.assigned": _envelope(230142, "ticket.assigned", TicketRead, TICKET,
                                     changes={"assignee_id": [None, 12]}),
        "ticket.transferred": _envelope(230150, "ticket.transferred", TicketRead, moved_ticket,
                                        changes={"desk_id": [DESK_ID, 5], "number": [87, 12]},
                                        desk_id=5),
        "ticket.routed": _envelope(230118, "ticket.routed", TicketRead, TICKET,
                                   actor=dict(SYSTEM_ACTOR),
                                   changes={"team_id": [None, 4], "assignee_id": [None, 12],
                                            "priority": ["normal", "high"],
                                            "routing_state": ["pending", "done"]}),
        "comment.created": _envelope(230160, "comment.created", CommentRead, COMMENT),
        "customer.created": _envelope(230116, "customer.created", CustomerRead, CUSTOMER),
        "customer.updated": _envelope(230170, "customer.updated", CustomerRead,
                                      {**CUSTOMER, "version": 2, "updated_at": LATER},
                                      changes={"name": ["Sam", "Sam Ortiz"]}),
        "customer.transferred": _envelope(230171, "customer.transferred", CustomerRead,
                                          moved_customer, changes={"desk_id": [DESK_ID, 5]},
                                          desk_id=5),
        "organization.created": _envelope(230101, "organization.created", OrganizationRead,
                                          ORGANIZATION),
        "organization.updated": _envelope(230180, "organization.updated", OrganizationRead,
                                          {**ORGANIZATION, "version": 2, "updated_at": LATER},
                                          changes={"shared_tickets": [False, True]}),
        "organization.transferred": _envelope(230181, "organization.transferred",
                                              OrganizationRead, moved_org,
                                              changes={"desk_id": [DESK_ID, 5]}, desk_id=5),
        "form.submitted": _envelope(230119, "form.submitted", SubmissionRead, FORM_SUBMISSION,
                                    actor=dict(SYSTEM_ACTOR), extra={"ticket_number": 87}),
        "webhook.disabled": _envelope(230190, "webhook.disabled", None, DISABLED_WEBHOOK,
                                      actor=dict(SYSTEM_ACTOR), desk_id=None),
    }


@cache
def samples() -> dict[str, dict[str, Any]]:
    built = _build()
    assert set(built) == set(EVENT_TYPES), "every event type needs a sample"
    return built


def sample(event_type: str) -> dict[str, Any] | None:
    """A fresh copy of the sample envelope of `event_type`, or None for an unknown type."""
    found = samples().get(event_type)
    return None if found is None else copy.deepcopy(found)
