"""Routing actions: what a rule (or an organization) does to a matching ticket.

One Pydantic model per action type in a discriminated union, so the OpenAPI spec lists every
shape and a bad action is refused when it is saved, not when a ticket arrives.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from app.core.enums import Priority, TicketStatus
from app.core.text import Text, reject_nul_deep


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignAgent(_Action):
    type: Literal["assign_agent"]
    value: int = Field(description="User id of an agent of the desk.")


class AssignTeam(_Action):
    type: Literal["assign_team"]
    value: int = Field(description="Team id.")


class AssignRoundRobin(_Action):
    type: Literal["assign_round_robin"]
    value: int = Field(description="Team id: its members take turns.")


class AssignLeastLoaded(_Action):
    type: Literal["assign_least_loaded"]
    value: int = Field(description="Team id: the member with the fewest open tickets.")


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
    key: Text = Field(min_length=1, max_length=64)
    value: Annotated[Any, AfterValidator(reject_nul_deep)]


class SetField(_Action):
    type: Literal["set_field"]
    value: FieldValue


class AddTags(_Action):
    type: Literal["add_tags"]
    value: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(min_length=1)


class RemoveTags(_Action):
    type: Literal["remove_tags"]
    value: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(min_length=1)


class MoveToDesk(_Action):
    type: Literal["move_to_desk"]
    value: int = Field(description="Target desk id.")


class ReplyTemplate(_Action):
    subject: Text | None = Field(None, max_length=200)
    body: Text = Field(min_length=1, max_length=10_000,
                      description="Template over `ticket` and `requester`.")


class Reply(_Action):
    type: Literal["reply"]
    value: ReplyTemplate


RoutingAction = Annotated[
    AssignAgent | AssignTeam | AssignRoundRobin | AssignLeastLoaded | SetPriority | SetStatus
    | SetType | SetField | AddTags | RemoveTags | MoveToDesk | Reply,
    Field(discriminator="type"),
]

ACTIONS = TypeAdapter(list[RoutingAction])
