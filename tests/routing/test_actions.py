"""The action table, pure: every action type of the API is one class implementing every hook,
and what it declares it reads and writes is what its plan and its application touch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from app.routing import actions as a
from app.routing import executor
from app.tickets import changes
from tests.routing.test_engine import ACTION_EFFECTS, facts

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLASSES: tuple[type[a._Action], ...] = get_args(get_args(a.RoutingAction)[0])
SAMPLES = {raw["type"]: raw for raw, _ in reversed(ACTION_EFFECTS)}


def action_types(cls: type[a._Action]) -> tuple[str, ...]:
    return get_args(cls.model_fields["type"].annotation)


def sample(cls: type[a._Action]) -> a._Action:
    [type_] = action_types(cls)
    return a.ACTIONS.validate_python([SAMPLES[type_]])[0]


class Recording(dict[str, Any]):
    """A dict that notes the keys read."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


class Ticket:
    """The columns routing changes, as a new ticket has them."""

    assignee_id = None
    team_id = None
    priority = 1
    status = "new"
    solved_at = None
    type = None
    tags = ["billing"]
    custom_fields = {"plan": "gold"}


class FakeTicket:
    """`actions.Applying` over plain columns, noting what an action reads, writes and calls."""

    def __init__(self) -> None:
        self.columns = Recording({c: getattr(Ticket, c) for c in executor.ROUTED})
        self.written: set[str] = set()
        self.calls: list[tuple[str, Any]] = []

    def current(self, column: str) -> Any:
        return self.columns[column]

    def change(self, requested: Mapping[str, Any]) -> None:
        values = changes.apply_changes(self.columns, requested, NOW)
        self.written |= values.keys()

    async def check_agent(self, user_id: int) -> None:
        self.calls.append(("check_agent", user_id))

    async def check_team(self, team_id: int) -> None:
        self.calls.append(("check_team", team_id))

    async def take_turn(self, team_id: int) -> int | None:
        self.calls.append(("take_turn", team_id))
        return 7

    async def least_loaded(self, team_id: int) -> int | None:
        self.calls.append(("least_loaded", team_id))
        return 8

    async def field_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("field_values", dict(values)))
        return dict(values)

    def template_context(self) -> dict[str, Any]:
        return {"ticket": {"number": 12}, "requester": {"name": "Ana"}}

    async def comment(self, body: str) -> int:
        self.calls.append(("comment", body))
        return 31

    async def move(self, desk_id: int) -> None:
        self.calls.append(("move", desk_id))
        self.written.add("desk_id")


class FakeDesk:
    """`actions.DeskChecks` that finds everything wrong, noting what was checked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _error(self, what: str, at: a.Loc) -> list[a.Error]:
        self.calls.append(what)
        return [{"loc": list(at), "msg": what, "type": "value_error"}]

    async def agent(self, user_id: int, at: a.Loc) -> list[a.Error]:
        return self._error("agent", at)

    async def team(self, team_id: int, at: a.Loc) -> list[a.Error]:
        return self._error("team", at)

    async def target(self, desk_id: int, at: a.Loc) -> list[a.Error]:
        return self._error("target", at)

    def field(self, key: str, value: Any, at: a.Loc) -> list[a.Error]:
        return self._error("field", at)


def test_every_action_class_of_the_module_is_in_the_union_once_with_one_type():
    defined = {c for c in vars(a).values()
               if isinstance(c, type) and issubclass(c, a._Action) and c is not a._Action}
    assert set(CLASSES) == defined and len(CLASSES) == len(defined)
    types = [t for cls in CLASSES for t in action_types(cls)]
    assert all(len(action_types(cls)) == 1 for cls in CLASSES)
    assert len(set(types)) == len(types)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_action_implements_every_hook(cls: type[a._Action]) -> None:
    assert not cls.__abstractmethods__
    assert isinstance(cls.phase, a.Phase)
    for hook in ("plan", "apply", "check", "preview"):
        assert callable(getattr(cls, hook))
    assert action_types(cls)[0] in SAMPLES, "add a sample of it to test_engine.ACTION_EFFECTS"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
async def test_plan_and_apply_touch_exactly_what_the_action_declares(cls: type[a._Action]):
    action = sample(cls)
    planned = Recording(facts(tags=["billing"], custom_fields={"plan": "gold"}))
    before = dict(planned)
    action.plan(planned)
    after = dict(planned)  # (read without noting reads)
    plan_writes = {k for k in after if after[k] != before.get(k)}

    ticket = FakeTicket()
    await action.apply(ticket)

    assert plan_writes | ticket.written == cls.writes
    assert (planned.read | ticket.columns.read) <= cls.reads
    if cls.phase is a.Phase.CHANGE:  # held back and written by the executor's one statement
        assert cls.writes <= set(executor.ROUTED)


def test_what_a_change_reads_is_among_the_columns_routing_holds():
    assert set(changes.READS) <= set(executor.ROUTED)


def test_only_a_move_ends_the_desk_and_only_replies_wait_for_the_desks_changes():
    assert [c for c in CLASSES if c.phase is a.Phase.MOVE] == [a.MoveToDesk]
    assert [c for c in CLASSES if c.phase is a.Phase.REPLY] == [a.Reply]


CHECKED = {"assign_agent": ["agent"], "assign_team": ["team"], "assign_round_robin": ["team"],
           "assign_least_loaded": ["team"], "move_to_desk": ["target"], "set_field": ["field"]}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
async def test_save_time_checks_look_up_what_the_action_names(cls: type[a._Action]) -> None:
    desk = FakeDesk()
    errors = await sample(cls).check(desk, ["body", "actions", 2, "value"])
    assert desk.calls == CHECKED.get(action_types(cls)[0], [])
    assert all(e["loc"] == ["body", "actions", 2, "value"] for e in errors)
    assert len(errors) == len(desk.calls)


async def test_round_robin_and_least_loaded_assign_the_member_picked():
    for raw, picked in (({"type": "assign_round_robin", "value": 4}, 7),
                        ({"type": "assign_least_loaded", "value": 4}, 8)):
        ticket = FakeTicket()
        [action] = a.ACTIONS.validate_python([raw])
        assert await action.apply(ticket) == f"assigned user {picked}"


async def test_a_pick_from_a_team_without_members_is_skipped_after_checking_the_team():
    class Empty(FakeTicket):
        async def take_turn(self, team_id: int) -> int | None:
            return None

    ticket = Empty()
    [action] = a.ACTIONS.validate_python([{"type": "assign_round_robin", "value": 4}])
    with pytest.raises(a.Skipped, match="team 4 has no active members"):
        await action.apply(ticket)
    assert ticket.calls == [("check_team", 4)] and not ticket.written


async def test_a_reply_renders_its_template_and_an_empty_one_is_skipped():
    ticket = FakeTicket()
    [reply, empty] = a.ACTIONS.validate_python([
        {"type": "reply", "value": {"body": "Hi {{ requester.name }}, #{{ ticket.number }}"}},
        {"type": "reply", "value": {"body": "{{ requester.missing }}"}}])
    assert await reply.apply(ticket) == "comment 31"
    assert ticket.calls == [("comment", "Hi Ana, #12")]
    with pytest.raises(a.Skipped, match="rendered empty"):
        await empty.apply(ticket)
    assert reply.preview({"number": 3}, {"name": "Bo"}) == "Hi Bo, #3"
    assert sample(a.SetType).preview({}, {}) is None


async def test_adding_tags_beyond_the_limit_is_skipped():
    ticket = FakeTicket()
    ticket.columns["tags"] = [f"t{i}" for i in range(a.MAX_TAGS)]
    with pytest.raises(a.Skipped, match=f"at most {a.MAX_TAGS} tags"):
        await a.AddTags(type="add_tags", value=["one-more"]).apply(ticket)
