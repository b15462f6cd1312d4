"""The engine, pure: rules in order over facts, every action's effect, org actions first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from app.routing import actions as a
from app.routing.conditions import Conditions
from app.routing.engine import Plan, RuleSpec, Step, evaluate


def facts(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1, "desk_id": 1, "subject": "Invoice wrong", "description": "",
        "requester.email": "ana@acme.example", "requester.domain": "acme.example",
        "organization_id": None, "source": "api", "form_id": None, "priority": "normal",
        "status": "new", "type": None, "tags": ["billing"], "custom_fields": {"plan": "gold"},
        "assignee_id": None, "team_id": None,
        "created_at": datetime(2026, 1, 5, 10, 0, tzinfo=UTC), "time_zone": "UTC",
    }
    base.update(changes)
    return base


def rule(rule_id: int, actions: list[dict[str, Any]], *, all_: list[dict[str, Any]] = (),  # type: ignore[assignment]
         any_: list[dict[str, Any]] = (), stop: bool = False) -> RuleSpec:  # type: ignore[assignment]
    return RuleSpec(id=rule_id, name=f"rule {rule_id}",
                    conditions=Conditions.model_validate({"all": list(all_), "any": list(any_)}),
                    actions=a.ACTIONS.validate_python(actions), stop_processing=stop)


def when(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


ACTION_EFFECTS = [
    ({"type": "assign_agent", "value": 5}, {"assignee_id": 5}),
    ({"type": "assign_team", "value": 3}, {"team_id": 3}),
    ({"type": "assign_round_robin", "value": 4}, {"team_id": 4, "assignee_id": None}),
    ({"type": "assign_least_loaded", "value": 6}, {"team_id": 6, "assignee_id": None}),
    ({"type": "set_priority", "value": "urgent"}, {"priority": "urgent"}),
    ({"type": "set_status", "value": "open"}, {"status": "open"}),
    ({"type": "set_type", "value": "incident"}, {"type": "incident"}),
    ({"type": "set_field", "value": {"key": "seats", "value": 10}},
     {"custom_fields": {"plan": "gold", "seats": 10}}),
    ({"type": "set_field", "value": {"key": "plan", "value": None}}, {"custom_fields": {}}),
    ({"type": "add_tags", "value": ["VIP", "billing"]}, {"tags": ["billing", "vip"]}),
    ({"type": "remove_tags", "value": ["billing", "absent"]}, {"tags": []}),
    ({"type": "move_to_desk", "value": 9}, {"desk_id": 9}),
    ({"type": "reply", "value": {"body": "Hi {{ requester.name }}"}}, {}),
]


@pytest.mark.parametrize(("action", "effect"), ACTION_EFFECTS,
                         ids=[f"{x[0]['type']}-{i}" for i, x in enumerate(ACTION_EFFECTS)])
def test_action_changes_exactly_its_facts(action: dict[str, Any], effect: dict[str, Any]) -> None:
    before = facts()
    plan = evaluate([rule(1, [action])], before)
    assert plan.facts == {**before, **effect}
    assert plan.matched == [1]
    assert [s.rule_id for s in plan.steps] == [1]
    assert plan.steps[0].action.type == action["type"]
    assert before == facts()  # the input is not changed


def test_every_action_type_has_an_effect_case() -> None:
    assert {x[0]["type"] for x in ACTION_EFFECTS} == {
        "assign_agent", "assign_team", "assign_round_robin", "assign_least_loaded",
        "set_priority", "set_status", "set_type", "set_field", "add_tags", "remove_tags",
        "move_to_desk", "reply"}


def test_rules_run_in_the_order_given_and_later_ones_see_earlier_changes() -> None:
    rules = [
        rule(1, [{"type": "set_priority", "value": "high"}]),
        rule(2, [{"type": "add_tags", "value": ["escalated"]}],
             all_=[when("priority", "gte", "high")]),
        rule(3, [{"type": "assign_team", "value": 2}], all_=[when("tags", "contains", "escalated")]),
    ]
    plan = evaluate(rules, facts())
    assert plan.matched == [1, 2, 3]
    assert plan.facts["team_id"] == 2
    assert [s.action.type for s in plan.steps] == ["set_priority", "add_tags", "assign_team"]


def test_rule_whose_conditions_fail_plans_nothing() -> None:
    plan = evaluate([rule(1, [{"type": "set_status", "value": "open"}],
                          all_=[when("subject", "contains", "printer")])], facts())
    assert plan == Plan(matched=[], steps=[], facts=facts(), move_to=None)


def test_later_rule_overrides_earlier_rule() -> None:
    plan = evaluate([rule(1, [{"type": "assign_agent", "value": 1}]),
                     rule(2, [{"type": "assign_agent", "value": 2}])], facts())
    assert plan.facts["assignee_id"] == 2
    assert len(plan.steps) == 2


def test_stop_processing_ends_evaluation_after_a_matching_rule() -> None:
    rules = [rule(1, [{"type": "add_tags", "value": ["a"]}],
                  all_=[when("status", "eq", "closed")], stop=True),  # no match: no stop
             rule(2, [{"type": "add_tags", "value": ["b"]}], stop=True),
             rule(3, [{"type": "add_tags", "value": ["c"]}])]
    plan = evaluate(rules, facts())
    assert plan.matched == [2]
    assert plan.facts["tags"] == ["billing", "b"]


def test_move_to_desk_ends_the_desk_including_the_rest_of_its_rule() -> None:
    rules = [rule(1, [{"type": "set_priority", "value": "low"},
                      {"type": "move_to_desk", "value": 8},
                      {"type": "add_tags", "value": ["after-move"]}]),
             rule(2, [{"type": "set_status", "value": "open"}])]
    plan = evaluate(rules, facts())
    assert plan.move_to == 8
    assert plan.matched == [1]
    assert [s.action.type for s in plan.steps] == ["set_priority", "move_to_desk"]
    assert plan.facts["desk_id"] == 8 and plan.facts["status"] == "new"


def test_org_actions_run_first_and_desk_rules_override_them() -> None:
    org = a.ACTIONS.validate_python([{"type": "set_priority", "value": "urgent"},
                                     {"type": "assign_team", "value": 1}])
    rules = [rule(7, [{"type": "assign_team", "value": 2}],
                  all_=[when("priority", "eq", "urgent")])]  # sees the org's change
    plan = evaluate(rules, facts(), org_actions=org)
    assert [(s.rule_id, s.action.type) for s in plan.steps] == [
        (None, "set_priority"), (None, "assign_team"), (7, "assign_team")]
    assert plan.facts["team_id"] == 2
    assert plan.matched == [7]


def test_org_move_to_desk_skips_the_desk_rules() -> None:
    plan = evaluate([rule(1, [{"type": "set_status", "value": "open"}])], facts(),
                    org_actions=[{"type": "move_to_desk", "value": 4}])
    assert plan.move_to == 4 and plan.matched == []
    assert plan.steps == [Step(None, a.MoveToDesk(type="move_to_desk", value=4))]


def test_actions_and_conditions_may_be_given_as_stored_json() -> None:
    stored = RuleSpec(id=3, name="json", conditions={"all": [when("tags", "contains", "billing")]},
                      actions=[{"type": "set_type", "value": "question"}])
    plan = evaluate([stored], facts(), org_actions=[{"type": "add_tags", "value": ["org"]}])
    assert plan.matched == [3]
    assert plan.facts["type"] == "question" and plan.facts["tags"] == ["billing", "org"]


def test_no_rules_and_no_org_actions_plan_nothing() -> None:
    plan = evaluate([], facts())
    assert plan.matched == [] and plan.steps == [] and plan.move_to is None
    assert plan.facts == facts()


def test_time_zone_decides_the_weekday_a_rule_sees() -> None:
    # Sunday 2026-01-04 23:30 UTC is Monday 08:30 in Tokyo
    weekend = rule(1, [{"type": "add_tags", "value": ["weekend"]}],
                   all_=[when("created.weekday", "in", [5, 6])])
    sunday_night = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert evaluate([weekend], facts(created_at=sunday_night)).matched == [1]
    assert evaluate([weekend], facts(created_at=sunday_night, time_zone="Asia/Tokyo")).matched == []


def test_any_group_matches_on_one_case_insensitive_hit() -> None:
    r = rule(1, [{"type": "assign_team", "value": 9}],
             any_=[when("requester.domain", "eq", "ACME.EXAMPLE"),
                   when("subject", "contains", "refund")])
    assert evaluate([r], facts()).matched == [1]
    assert evaluate([r], facts(**{"requester.domain": "other.example"})).matched == []


# --- action shapes --------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "loc"), [
    ({"type": "assign_agent", "value": 0}, (0, "assign_agent", "value")),
    ({"type": "assign_team", "value": "x"}, (0, "assign_team", "value")),
    ({"type": "move_to_desk", "value": 2**31}, (0, "move_to_desk", "value")),
    ({"type": "set_priority", "value": "critical"}, (0, "set_priority", "value")),
    ({"type": "set_status", "value": "done"}, (0, "set_status", "value")),
    ({"type": "add_tags", "value": []}, (0, "add_tags", "value")),
    ({"type": "add_tags", "value": ["a,b"]}, (0, "add_tags", "value", 0)),
    ({"type": "set_field", "value": {"value": 1}}, (0, "set_field", "value", "key")),
    ({"type": "reply", "value": {"body": "{{ oops"}}, (0, "reply", "value", "body")),
    ({"type": "reply", "value": {"body": "{{ ''.__class__.mro() }}"}},
     (0, "reply", "value", "body")),
    ({"type": "reply", "value": {"body": "ok", "subject": "{% for %}"}},
     (0, "reply", "value", "subject")),
    ({"type": "teleport", "value": 1}, (0,)),
])
def test_malformed_action_is_refused_at_its_part(action: dict[str, Any],
                                                 loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        a.ACTIONS.validate_python([action])
    assert [e["loc"] for e in caught.value.errors()] == [loc]


def test_tags_in_actions_are_normalised_like_ticket_tags() -> None:
    [action] = a.ACTIONS.validate_python([{"type": "add_tags", "value": [" Needs  Help "]}])
    assert action.value == ["needs-help"]
