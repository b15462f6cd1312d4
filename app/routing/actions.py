"""Routing actions: what a rule (or an organization) does to a matching ticket.

One Pydantic model per action type in a discriminated union, so the OpenAPI spec lists every
shape and a bad action is refused when it is saved, not when a ticket arrives.

Each action is defined once, here, with everything routing does with it (the action table):

- `reads` / `writes`: the ticket fields (facts, columns) its effect depends on and changes;
- `check(desk, at)`: save-time checks of what it names against the rule's desk (an agent, a
  team, a field, a target desk), through `DeskChecks` (`routing.checks`);
- `plan(facts)`: its effect on the pure engine's facts (`engine.evaluate`);
- `phase` and `apply(ticket)`: when and how the worker applies it to a locked ticket, through
  `Applying` (`executor.Routing`), which holds the writes back for the batch's executemany;
- `preview(ticket, requester)`: what the dry run shows beside it (a reply's body).

The layers offer what needs the database through those two protocols, so this module stays
pure (no session, no I/O) and imports nothing of the worker's or the service's.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from app.core.enums import Priority, TicketStatus
from app.core.ids import Id
from app.core.text import Text, reject_nul_deep
from app.routing import template
from app.tickets.schemas import Tag, normalize_tag

Facts = dict[str, Any]
Loc = Sequence[str | int]
Error = dict[str, Any]

MAX_TAGS = 50


class Phase(IntEnum):
    """When the worker applies an action among those its desk planned."""

    CHANGE = 0
    """In plan order; the changes are held back and written with the batch's."""
    REPLY = 1
    """After the desk's changes are written: a reply tells the outcome."""
    MOVE = 2
    """Last, and the last of its desk: planning stops there (`engine`), routing goes on in
    the target desk."""


class Skipped(Exception):
    """Raised by `apply`: the action is not applied, for the reason given; the run goes on."""


class DeskChecks(Protocol):
    """What saving a rule offers its actions to check what they name against its desk
    (`routing.checks.DeskChecks`): each gives the errors found (none when fine)."""

    async def agent(self, user_id: int, at: Loc) -> list[Error]: ...

    async def team(self, team_id: int, at: Loc) -> list[Error]: ...

    async def target(self, desk_id: int, at: Loc) -> list[Error]: ...

    def field(self, key: str, value: Any, at: Loc) -> list[Error]: ...


class Applying(Protocol):
    """What the worker offers an action applying itself to the ticket it routes
    (`executor.Routing`). A check that fails raises (`Unprocessable`, `ValueError`): like
    `Skipped`, the action is skipped with why, and the run goes on."""

    def current(self, column: str) -> Any:
        """A column as the desk's actions so far left it."""

    def change(self, requested: Mapping[str, Any]) -> None:
        """Change fields (`tickets.changes.apply_changes`), written with the batch's."""

    async def check_agent(self, user_id: int) -> None: ...

    async def check_team(self, team_id: int) -> None: ...

    async def take_turn(self, team_id: int) -> int | None:
        """The team member whose turn it is (None: it has no active member)."""

    async def least_loaded(self, team_id: int) -> int | None:
        """The team member with the fewest open tickets (None: it has no active member)."""

    async def field_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Ticket field values checked against the desk's fields."""

    def template_context(self) -> dict[str, Any]:
        """What a reply template sees: `ticket` and `requester`."""

    async def comment(self, body: str) -> int:
        """Add a public comment by the system; its id."""

    async def move(self, desk_id: int) -> None:
        """Move the ticket to another desk (the worker checks it still may)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Action(_Model):
    """An entry of the action table (see the module docstring)."""

    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[frozenset[str]] = frozenset()
    phase: ClassVar[Phase] = Phase.CHANGE

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        """Errors in what it names (saving refuses it); most name nothing to check."""
        return []

    @abstractmethod
    def plan(self, facts: Facts) -> None:
        """Its effect on the facts (in place)."""

    @abstractmethod
    async def apply(self, ticket: Applying) -> str | None:
        """Apply it to the ticket; a detail for the run (None: nothing to add)."""

    def preview(self, ticket: Mapping[str, Any], requester: Mapping[str, Any]) -> str | None:
        """What the dry run shows beside it (None: nothing)."""
        return None


async def _assign_member(ticket: Applying, team_id: int, chosen: int | None) -> str:
    """The team and its member picked by round-robin or least-loaded."""
    if chosen is None:
        await ticket.check_team(team_id)
        raise Skipped(f"team {team_id} has no active members")
    ticket.change({"team_id": team_id, "assignee_id": chosen})
    return f"assigned user {chosen}"


class AssignAgent(_Action):
    type: Literal["assign_agent"]
    value: Id = Field(description="User id of an agent of the desk.")

    writes = frozenset({"assignee_id"})

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return await desk.agent(self.value, at)

    def plan(self, facts: Facts) -> None:
        facts["assignee_id"] = self.value

    async def apply(self, ticket: Applying) -> None:
        await ticket.check_agent(self.value)
        ticket.change({"assignee_id": self.value})


class AssignTeam(_Action):
    type: Literal["assign_team"]
    value: Id = Field(description="Team id (a member team of the desk).")

    writes = frozenset({"team_id"})

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return await desk.team(self.value, at)

    def plan(self, facts: Facts) -> None:
        facts["team_id"] = self.value

    async def apply(self, ticket: Applying) -> None:
        await ticket.check_team(self.value)
        ticket.change({"team_id": self.value})


class AssignRoundRobin(_Action):
    type: Literal["assign_round_robin"]
    value: Id = Field(description="Team id: its members take turns.")

    writes = frozenset({"team_id", "assignee_id"})

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return await desk.team(self.value, at)

    def plan(self, facts: Facts) -> None:
        facts["team_id"] = self.value  # the agent is picked only when routing really runs

    async def apply(self, ticket: Applying) -> str:
        return await _assign_member(ticket, self.value, await ticket.take_turn(self.value))


class AssignLeastLoaded(_Action):
    type: Literal["assign_least_loaded"]
    value: Id = Field(description="Team id: the member with the fewest open tickets.")

    writes = frozenset({"team_id", "assignee_id"})

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return await desk.team(self.value, at)

    def plan(self, facts: Facts) -> None:
        facts["team_id"] = self.value  # the agent is picked only when routing really runs

    async def apply(self, ticket: Applying) -> str:
        return await _assign_member(ticket, self.value, await ticket.least_loaded(self.value))


class SetPriority(_Action):
    type: Literal["set_priority"]
    value: Priority

    writes = frozenset({"priority"})

    def plan(self, facts: Facts) -> None:
        facts["priority"] = self.value.value

    async def apply(self, ticket: Applying) -> None:
        ticket.change({"priority": self.value})


class SetStatus(_Action):
    type: Literal["set_status"]
    value: TicketStatus

    reads = frozenset({"status", "solved_at"})
    writes = frozenset({"status", "solved_at"})

    def plan(self, facts: Facts) -> None:
        facts["status"] = self.value.value

    async def apply(self, ticket: Applying) -> None:
        ticket.change({"status": self.value})


class SetType(_Action):
    type: Literal["set_type"]
    value: Text = Field(min_length=1, max_length=64)

    writes = frozenset({"type"})

    def plan(self, facts: Facts) -> None:
        facts["type"] = self.value

    async def apply(self, ticket: Applying) -> None:
        ticket.change({"type": self.value})


class FieldValue(_Model):
    key: Text = Field(min_length=1, max_length=64, examples=["plan"])
    value: Annotated[Any, AfterValidator(reject_nul_deep)] = Field(
        description="Checked against the ticket field's type; null clears the field.")


class SetField(_Action):
    type: Literal["set_field"]
    value: FieldValue

    reads = frozenset({"custom_fields"})
    writes = frozenset({"custom_fields"})

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return desk.field(self.value.key, self.value.value, at)

    def plan(self, facts: Facts) -> None:
        custom = dict(facts.get("custom_fields") or {})
        if self.value.value is None:
            custom.pop(self.value.key, None)
        else:
            custom[self.value.key] = self.value.value
        facts["custom_fields"] = custom

    async def apply(self, ticket: Applying) -> None:
        cleaned = await ticket.field_values({self.value.key: self.value.value})
        ticket.change({"custom_fields": cleaned})


class AddTags(_Action):
    type: Literal["add_tags"]
    value: list[Tag] = Field(min_length=1, max_length=50,
                             description="Normalised like ticket tags (lower-case, no spaces).")

    reads = frozenset({"tags"})
    writes = frozenset({"tags"})

    def plan(self, facts: Facts) -> None:
        facts["tags"] = list(dict.fromkeys([*(facts.get("tags") or []), *self.value]))

    async def apply(self, ticket: Applying) -> None:
        tags = list(dict.fromkeys([*ticket.current("tags"), *map(normalize_tag, self.value)]))
        if len(tags) > MAX_TAGS:
            raise Skipped(f"a ticket holds at most {MAX_TAGS} tags")
        ticket.change({"tags": tags})


class RemoveTags(_Action):
    type: Literal["remove_tags"]
    value: list[Tag] = Field(min_length=1, max_length=50)

    reads = frozenset({"tags"})
    writes = frozenset({"tags"})

    def plan(self, facts: Facts) -> None:
        gone = set(self.value)
        facts["tags"] = [t for t in facts.get("tags") or [] if t not in gone]

    async def apply(self, ticket: Applying) -> None:
        gone = {normalize_tag(t) for t in self.value}
        ticket.change({"tags": [t for t in ticket.current("tags") if t not in gone]})


class MoveToDesk(_Action):
    type: Literal["move_to_desk"]
    value: Id = Field(description=(
        "Target desk id; ends routing in this desk. A desk the principal saving the action "
        "may write tickets in (else 422), not the action's own desk; a sandbox desk moves "
        "tickets only to sandbox desks, any other never into one. Checked again when routing "
        "runs, against what that principal may write then: a move it could not save now is "
        "skipped, with the reason in the routing run."))

    writes = frozenset({"desk_id"})
    phase = Phase.MOVE

    async def check(self, desk: DeskChecks, at: Loc) -> list[Error]:
        return await desk.target(self.value, at)

    def plan(self, facts: Facts) -> None:
        facts["desk_id"] = self.value

    async def apply(self, ticket: Applying) -> None:
        await ticket.move(self.value)


class ReplyTemplate(_Model):
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
    # A public comment by the system; its template is checked when saved, by the model. (No
    # docstring: the OpenAPI document would carry it.)
    type: Literal["reply"]
    value: ReplyTemplate

    phase = Phase.REPLY

    def plan(self, facts: Facts) -> None:
        """A reply changes no fact."""

    async def apply(self, ticket: Applying) -> str:
        body = template.render(self.value.body, **ticket.template_context())
        if not body.strip():
            raise Skipped("the template rendered empty")
        return f"comment {await ticket.comment(body)}"

    def preview(self, ticket: Mapping[str, Any], requester: Mapping[str, Any]) -> str:
        try:
            return template.render(self.value.body, ticket=ticket, requester=requester)
        except template.TemplateFailure as exc:
            return f"(the template fails: {exc})"


RoutingAction = Annotated[
    AssignAgent | AssignTeam | AssignRoundRobin | AssignLeastLoaded | SetPriority | SetStatus
    | SetType | SetField | AddTags | RemoveTags | MoveToDesk | Reply,
    Field(discriminator="type"),
]

ACTIONS = TypeAdapter(list[RoutingAction])
