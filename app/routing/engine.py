"""The routing engine: a pure function from (rules, ticket facts) to a plan. No database, no I/O.

CONTRACT (shared by the rules side and the worker side; keep these names and shapes):

- `Facts` is a plain dict describing a ticket as rules see it:
    {"subject": str, "description": str, "requester.email": str | None,
     "requester.domain": str | None, "organization_id": int | None, "source": str,
     "form_id": int | None, "priority": "low"|"normal"|"high"|"urgent", "status": str,
     "type": str | None, "tags": list[str], "custom_fields": dict[str, Any],
     "assignee_id": int | None, "team_id": int | None,
     "created_at": aware datetime, "time_zone": IANA name (the desk's; "UTC" by default)}
  `created.weekday` (0 = Monday .. 6) and `created.hour` (0..23) are derived from created_at in
  time_zone. `facts_from` also gives "id", "desk_id" and "number" (a `move_to_desk` sets
  "desk_id" in `Plan.facts`; null for an unsaved ticket in the dry run).
- `RuleSpec(id, name, conditions, actions, stop_processing)`: `conditions` is the validated
  conditions model of `app.routing.schemas`, `actions` a list of `app.routing.actions`
  RoutingAction models.
- `evaluate(rules, facts, *, org_actions=()) -> Plan`: org actions first (rule_id None), then
  each rule by the order given (the caller sorts by position and drops disabled ones); each rule
  sees the facts as changed by those before it. `stop_processing` ends evaluation after that
  rule; a `move_to_desk` action ends evaluation of this desk (`Plan.move_to` is set and nothing
  after it in this desk is planned).
- `Plan.steps` is the ordered list of `Step(rule_id, action)` to apply; `Plan.matched` the ids
  of matching rules in order; `Plan.facts` the facts after the plan (for the dry run's
  `result`). Actions whose outcome needs the database (round-robin, least-loaded) change no
  fact here except `team_id`; the executor resolves the agent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from app.routing import actions as a
from app.routing.conditions import Conditions, conditions_hold

Facts = a.Facts

_ACTION: TypeAdapter[a.RoutingAction] = TypeAdapter(a.RoutingAction)


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    conditions: Any
    actions: Sequence[Any]
    stop_processing: bool = False


@dataclass(frozen=True)
class Step:
    rule_id: int | None
    action: a.RoutingAction


@dataclass
class Plan:
    matched: list[int] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    facts: Facts = field(default_factory=dict)
    move_to: int | None = None


def evaluate(rules: Sequence[RuleSpec], facts: Mapping[str, Any], *,
             org_actions: Sequence[Any] = ()) -> Plan:
    """The plan for one ticket in one desk (see the module docstring). `org_actions` and rule
    actions may be models or their JSON dicts; conditions a `Conditions` model or its dict."""
    plan = Plan(facts=copy.deepcopy(dict(facts)))
    if _run(plan, None, org_actions):
        return plan
    for rule in rules:
        if not conditions_hold(_conditions(rule.conditions), plan.facts):
            continue
        plan.matched.append(rule.id)
        if _run(plan, rule.id, rule.actions) or rule.stop_processing:
            break
    return plan


def _conditions(raw: Any) -> Conditions:
    return raw if isinstance(raw, Conditions) else Conditions.model_validate(raw or {})


def action_model(raw: a.RoutingAction | Mapping[str, Any]) -> a.RoutingAction:
    return _ACTION.validate_python(raw) if isinstance(raw, Mapping) else raw


def _run(plan: Plan, rule_id: int | None, actions: Sequence[Any]) -> bool:
    """Plan the actions in order (each one's `plan`, see `actions`); True once one moves the
    ticket out of the desk."""
    for raw in actions:
        action = action_model(raw)
        plan.steps.append(Step(rule_id, action))
        action.plan(plan.facts)
        if action.phase is a.Phase.MOVE:
            plan.move_to = plan.facts["desk_id"]
            return True
    return False
