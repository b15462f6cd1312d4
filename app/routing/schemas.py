"""Routing rules over HTTP: create/update/read, reorder, and the dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import Priority, TicketStatus
from app.core.ids import Id
from app.core.text import Text
from app.core.timestamps import UtcDatetime
from app.routing.actions import RoutingAction
from app.routing.conditions import Conditions
from app.tickets.schemas import RequesterIn, Tag, TicketSource

MAX_POSITION = 1_000_000

CONDITIONS_EXAMPLE = {
    "all": [{"field": "requester.domain", "op": "eq", "value": "acme.example"}],
    "any": [{"field": "subject", "op": "contains", "value": "invoice"},
            {"field": "tags", "op": "contains", "value": "billing"}],
}
ACTIONS_EXAMPLE = [{"type": "assign_team", "value": 3}, {"type": "set_priority", "value": "high"},
                   {"type": "add_tags", "value": ["billing"]}]


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "name": "Invoices are high priority",
         "conditions": {"any": [{"field": "subject", "op": "contains", "value": "invoice"}]},
         "actions": [{"type": "set_priority", "value": "high"},
                     {"type": "add_tags", "value": ["billing"]}]},
    ]})

    desk_id: Id
    name: Text = Field(min_length=1, max_length=200, examples=["Acme billing to finance"])
    position: int | None = Field(None, ge=0, le=MAX_POSITION,
                                 description="Rules run by ascending position (then id); "
                                             "default: after the desk's last rule.")
    enabled: bool = True
    conditions: Conditions = Field(default_factory=Conditions,
                                   examples=[CONDITIONS_EXAMPLE])
    actions: list[RoutingAction] = Field(default_factory=list, max_length=20,
                                         examples=[ACTIONS_EXAMPLE])
    stop_processing: bool = Field(False, description="No later rule runs once this one matched.")


class RuleUpdate(BaseModel):
    """Only the fields sent change; `conditions` and `actions` are replaced whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Invoices are urgent",
         "enabled": True,
         "actions": [{"type": "set_priority", "value": "urgent"}]},
    ]})

    name: Text | None = Field(None, min_length=1, max_length=200)
    position: int | None = Field(None, ge=0, le=MAX_POSITION)
    enabled: bool | None = None
    conditions: Conditions | None = None
    actions: list[RoutingAction] | None = Field(None, max_length=20)
    stop_processing: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> RuleUpdate:
        nulls = [k for k in self.model_fields_set if getattr(self, k) is None]
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(sorted(nulls))}")
        return self


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    desk_id: int
    name: str
    position: int
    enabled: bool
    conditions: Conditions
    actions: list[RoutingAction]
    stop_processing: bool
    version: int
    created_at: datetime
    updated_at: datetime


class RuleReorder(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1, "rule_ids": [3, 1, 2]},
    ]})

    desk_id: Id
    rule_ids: list[Id] = Field(min_length=1, max_length=1000,
                               description="The new order; the desk's rules not named keep "
                                           "their relative order after these.")


class TicketDraft(BaseModel):
    """An unsaved ticket, checked like a ticket create (the requester is optional)."""

    model_config = ConfigDict(extra="forbid")

    subject: Text = Field(min_length=1, max_length=250, examples=["Invoice 42 is wrong"])
    description: Text = Field("", max_length=65_536)
    requester: RequesterIn | None = Field(
        None, description="Its email (and domain) feed `requester.*` conditions; the desk's "
                          "organization owning the domain feeds `organization_id`.")
    organization_id: Id | None = Field(None, description="Default: found by requester domain.")
    priority: Priority | None = Field(None, description="Default: the desk's default_priority.")
    status: TicketStatus = TicketStatus.new
    type: Text | None = Field(None, max_length=64)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    assignee_id: Id | None = None
    team_id: Id | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    source: TicketSource = TicketSource.api
    form_id: Id | None = None
    created_at: UtcDatetime | None = Field(
        None, description="Default: now. Drives `created.weekday` / `created.hour`.")


class DryRunRequest(BaseModel):
    """Either `{ticket_id}` (a stored ticket) or `{desk_id, ticket}` (an unsaved one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"ticket_id": 42},
        {"desk_id": 1, "ticket": {"subject": "Invoice 42 is wrong",
                                  "requester": {"email": "ana@acme.example"}}},
    ]})

    ticket_id: Id | None = None
    desk_id: Id | None = None
    ticket: TicketDraft | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DryRunRequest:
        if self.ticket_id is not None:
            if self.desk_id is not None or self.ticket is not None:
                raise ValueError("give either ticket_id, or desk_id and ticket")
        elif self.desk_id is None or self.ticket is None:
            raise ValueError("give either ticket_id, or desk_id and ticket")
        return self


class PlannedAction(BaseModel):
    rule_id: int | None = Field(description="Null for the organization's routing actions.")
    type: str = Field(examples=["assign_team"])
    value: Any = Field(examples=[3])
    preview: str | None = Field(None, description="`reply`: the body as it would be sent.")


class RoutedTicket(BaseModel):
    """The ticket as routing would leave it (the agent of round-robin/least-loaded assignment
    is picked only when routing really runs)."""

    id: int | None = Field(description="Null for an unsaved ticket.")
    number: int | None
    desk_id: int = Field(description="The target desk when a rule moves the ticket.")
    subject: str
    description: str
    requester_email: str | None
    organization_id: int | None
    source: TicketSource
    form_id: int | None
    priority: Priority
    status: TicketStatus
    type: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    assignee_id: int | None
    team_id: int | None
    created_at: datetime


class DryRunResult(BaseModel):
    matched: list[int] = Field(description="Ids of the matching rules, in the order they ran.")
    actions: list[PlannedAction] = Field(description="What would be done, in order; the "
                                                     "organization's actions first.")
    move_to_desk_id: int | None = Field(description="Set when a `move_to_desk` ends routing "
                                                    "in this desk.")
    result: RoutedTicket
