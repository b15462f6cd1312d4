from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core import outbox
from app.core.ids import Id
from app.core.text import Text

# What a webhook may subscribe to: the outbox's catalogue, less what only a ticket's history
# shows, and `*` for every type.
UNSUBSCRIBABLE = frozenset({outbox.EventType.survey_answered})
EventType = StrEnum(  # type: ignore[misc]  # members from the catalogue, not literals
    "WebhookEventType", [("all", "*")] + [(t.name, t.value) for t in outbox.EventType
                                   if t not in UNSUBSCRIBABLE])
EventType.__doc__ = "What a webhook may subscribe to; `*` is every type."

EVENT_TYPES = tuple(t.value for t in EventType if t is not EventType.all)

URL_DESCRIPTION = ("Where deliveries are POSTed. https (http only where `WEBHOOK_ALLOW_HTTP` "
                   "permits it); no credentials; must reach a public address (checked again on "
                   "every delivery after DNS resolution) unless listed in `WEBHOOK_ALLOW_HOSTS`.")
EVENTS_DESCRIPTION = "Event types to deliver, or `[\"*\"]` for all of them."
DESKS_DESCRIPTION = ("Desks whose events are delivered, each within the caller's desks (sandbox "
                     "tokens: sandbox desks only). Omitted: the caller's desks; null: every desk "
                     "(only for a caller that sees every desk).")
INTERNAL_DESCRIPTION = ("Also deliver `comment.created` for internal notes (`data.public` "
                        "false); off by default.")


def _events(value: list[EventType] | None) -> list[EventType] | None:
    if value is None:
        return None
    unique = list(dict.fromkeys(value))
    if EventType.all in unique and len(unique) > 1:
        raise ValueError('"*" already means every event type; send it alone')
    return unique


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://hooks.example.com/switchboard",
         "events": ["ticket.created", "comment.created"],
         "description": "Zapier: new tickets to Slack"},
    ]})

    url: Text = Field(min_length=1, max_length=2048, description=URL_DESCRIPTION,
                      examples=["https://hooks.example.com/switchboard"])
    events: list[EventType] = Field(min_length=1, max_length=len(EventType),
                                    description=EVENTS_DESCRIPTION,
                                    examples=[["ticket.created", "comment.created"]])
    desk_ids: list[Id] | None = Field(None, min_length=1, max_length=1000,
                                      description=DESKS_DESCRIPTION)
    description: Text = Field("", max_length=500, examples=["Zapier: new tickets to Slack"])
    include_internal: bool = Field(False, description=INTERNAL_DESCRIPTION)

    _events = field_validator("events")(_events)


class WebhookUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"events": ["ticket.created", "ticket.updated"]},
    ]})

    url: Text | None = Field(None, min_length=1, max_length=2048, description=URL_DESCRIPTION)
    events: list[EventType] | None = Field(None, min_length=1, max_length=len(EventType),
                                           description=EVENTS_DESCRIPTION)
    desk_ids: list[Id] | None = Field(None, min_length=1, max_length=1000,
                                      description="null: every desk (every-desk callers only).")
    description: Text | None = Field(None, max_length=500)
    include_internal: bool | None = None

    _events = field_validator("events")(_events)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[EventType]
    desk_ids: list[int] | None = Field(description="Null: every desk.")
    description: str
    include_internal: bool
    sandbox: bool = Field(description="Created by a sandbox token (hears sandbox desks only).")
    state: Literal["active", "disabled"]
    disabled_reason: str | None = Field(description="Why deliveries stopped, while disabled.")
    failure_count: int = Field(description="Consecutive failed attempts.")
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until then the old secret signs too (a second `v1,` "
                    "signature).")
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret (`whsec_` + base64). Shown only here.",
                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event_id: int
    event_type: str = Field(examples=["ticket.created"])
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    response_status: int | None = Field(description="HTTP status of the last attempt.")
    response_body: str | None = Field(description="The first bytes of the last response body.")
    error: str | None = Field(description="Why the last attempt failed without a response "
                                          "(timeout, refused address, …).")
    duration_ms: float | None = Field(description="Duration of the last attempt.")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

