"""Routing actions: what a rule (or an organization) does to a matching ticket.

One Pydantic model per action type in a discriminated union, so the OpenAPI spec lists every
shape and a bad action is refused when it is saved, not when a ticket arrives.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from app.core.enums import Priority, TicketStatus
from app.core.ids import Id
from app.core.text import Text, reject_nul_deep
from app.routing import template
from app.tickets.schemas import Tag


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignAgent(_Action):
    type: Literal["assign_agent"]
    value: Id = Field(description="User id of an agent of the desk.")


class AssignTeam(_Action):
    type: Literal["assign_team"]
    value: Id = Field(description="Team id (a member team of the desk).")


class AssignRoundRobin(_Action):
    type: Literal["assign_round_robin"]
    value: Id = Field(description="Team id: its members take turns.")


class AssignLeastLoaded(_Action):
    type: Literal["assign_least_loaded"]
    value: Id = Field(description="Team id: the member with the fewest open tickets.")


class SetPriority(_Action):
    type: Literal["set_priority"]
    value: Priority


class SetStatus(_Action):
    type: Literal["set_status"]
    value: TicketStatus


class SetType(_Action):
    type: Literal["set_type"]
    value: Text = Field(min_length=1, max_length=64)


class FieldValue(_Action):
    key: Text = Field(min_length=1, max_length=64, examples=["plan"])
    value: Annotated[Any, AfterValidator(reject_nul_deep)] = Field(
        description="Checked against the ticket field's type; null clears the field.")


class SetField(_Action):
    type: Literal["set_field"]
    value: FieldValue


class AddTags(_Action):
    type: Literal["add_tags"]
    value: list[Tag] = Field(min_length=1, max_length=50,
                             description="Normalised like ticket tags (lower-case, no spaces).")


class RemoveTags(_Action):
    type: Literal["remove_tags"]
    value: list[Tag] = Field(min_length=1, max_length=50)


class MoveToDesk(_Action):
    type: Literal["move_to_desk"]
    value: Id = Field(description="Target desk id; ends routing in this desk.")


class ReplyTemplate(_Action):
    subject: Text | None = Field(None, max_length=200)
    body: Text = Field(min_length=1, max_length=10_000,
                      description="Plain-text template over `ticket` and `requester` (a safe "
                                  "subset of Jinja: `{{ requester.name }}`, filters, `if`).",
                      examples=["Hi {{ requester.name }}, we got #{{ ticket.number }}."])

    @field_validator("subject", "body")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        problem = template.check(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value


class Reply(_Action):
    type: Literal["reply"]
    value: ReplyTemplate


RoutingAction = Annotated[
    AssignAgent | AssignTeam | AssignRoundRobin | AssignLeastLoaded | SetPriority | SetStatus
    | SetType | SetField | AddTags | RemoveTags | MoveToDesk | Reply,
    Field(discriminator="type"),
]

ACTIONS = TypeAdapter(list[RoutingAction])
