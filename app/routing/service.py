"""Routing rules: save-time checks, CRUD and reordering, and the rules the worker runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import check_if_match
from app.core.db import utcnow
from app.core.errors import Unprocessable, invalid
from app.core.lookup import get_in_scope
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope, Scope
from app.desks import service as desks
from app.desks.members import check_assignee, check_team
from app.desks.schemas import DeskSettings
from app.fields import service as fields
from app.models import (
    Customer,
    Desk,
    FieldEntity,
    Organization,
    OrganizationDomain,
    RoutingRule,
)
from app.routing import actions as a
from app.routing.checks import (
    check_actions,
    refuse,
    saved_by,
    ticket_field_specs,
)
from app.routing.conditions import Conditions, check_conditions
from app.routing.engine import RuleSpec, evaluate
from app.routing.facts import domain_of, load_facts
from app.routing.schemas import (
    DryRunRequest,
    DryRunResult,
    PlannedAction,
    RoutedTicket,
    RuleCreate,
    RuleReorder,
    RuleUpdate,
    TicketDraft,
)
from app.tickets import service as tickets


def spec_of(rule: RoutingRule) -> RuleSpec:
    return RuleSpec(id=rule.id, name=rule.name,
                    conditions=Conditions.model_validate(rule.conditions),
                    actions=a.ACTIONS.validate_python(rule.actions),
                    stop_processing=rule.stop_processing)


async def rules_for_desk(session: AsyncSession, desk_id: int) -> list[RuleSpec]:
    """The desk's enabled rules in the order they run (position, then id), parsed."""
    rows = await session.scalars(
        select(RoutingRule)
        .where(RoutingRule.desk_id == desk_id, RoutingRule.enabled.is_(True))
        .order_by(RoutingRule.position, RoutingRule.id))
    return [spec_of(r) for r in rows]


# --- save-time checks (`checks`) -------------------------------------------------------------

async def _check(session: AsyncSession, scope: DeskScope, desk: Desk,
                 conditions: Conditions | None, actions: Sequence[Any] | None) -> None:
    specs = await ticket_field_specs(session, desk.id)
    errors: list[dict[str, Any]] = []
    if conditions is not None:
        errors += check_conditions(conditions, specs, ["body", "conditions"])
    if actions is not None:
        errors += await check_actions(session, scope, desk, actions, specs, ["body", "actions"])
    refuse(errors)


# --- CRUD ----------------------------------------------------------------------------------

def _dump_actions(actions: Sequence[Any]) -> list[dict[str, Any]]:
    return [x.model_dump(mode="json") for x in actions]


def _dump_conditions(conditions: Conditions) -> dict[str, Any]:
    return conditions.model_dump(mode="json")


async def get(session: AsyncSession, scope: DeskScope, rule_id: int, *,
              for_update: bool = False) -> RoutingRule:
    return await get_in_scope(session, scope, RoutingRule, rule_id, "Routing rule",
                              for_update=for_update)


async def _next_position(session: AsyncSession, desk_id: int) -> int:
    last = await session.scalar(select(func.max(RoutingRule.position))
                                .where(RoutingRule.desk_id == desk_id))
    return 0 if last is None else last + 1


async def create(session: AsyncSession, scope: DeskScope, payload: RuleCreate) -> RoutingRule:
    desk = await desks.get(session, scope, payload.desk_id, manage=True)
    await _check(session, scope, desk, payload.conditions, payload.actions)
    position = payload.position
    if position is None:
        position = await _next_position(session, desk.id)
    rule = RoutingRule(desk_id=desk.id, name=payload.name, position=position,
                       enabled=payload.enabled, conditions=_dump_conditions(payload.conditions),
                       actions=_dump_actions(payload.actions),
                       stop_processing=payload.stop_processing, **saved_by(scope))
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    return rule


async def list_(session: AsyncSession, scope: DeskScope, desk_id: int,
                params: PageParams) -> tuple[list[RoutingRule], str | None]:
    await desks.get(session, scope, desk_id)
    stmt = select(RoutingRule).where(RoutingRule.desk_id == desk_id)
    return await paginate(session, stmt, params,
                          [SortKey(RoutingRule.position), SortKey(RoutingRule.id)])


async def update(session: AsyncSession, scope: DeskScope, rule_id: int, payload: RuleUpdate,
                 if_match: str | None) -> RoutingRule:
    rule = await get(session, scope, rule_id, for_update=True)
    scope.check_manages(rule.desk_id)
    check_if_match(if_match, rule.version)
    if payload.conditions is not None or payload.actions is not None:
        desk = await session.get_one(Desk, rule.desk_id)
        await _check(session, scope, desk, payload.conditions, payload.actions)
    if payload.name is not None:
        rule.name = payload.name
    if payload.position is not None:
        rule.position = payload.position
    if payload.enabled is not None:
        rule.enabled = payload.enabled
    if payload.conditions is not None:
        rule.conditions = _dump_conditions(payload.conditions)
    if payload.actions is not None:
        rule.actions = _dump_actions(payload.actions)
        for column, value in saved_by(scope).items():  # its moves are checked against them
            setattr(rule, column, value)
    if payload.stop_processing is not None:
        rule.stop_processing = payload.stop_processing
    rule.updated_at = func.now()
    await session.flush()
    await session.refresh(rule)
    return rule


async def delete(session: AsyncSession, scope: DeskScope, rule_id: int,
                 if_match: str | None) -> None:
    rule = await get(session, scope, rule_id, for_update=True)
    scope.check_manages(rule.desk_id)
    check_if_match(if_match, rule.version)
    await session.delete(rule)
    await session.flush()


async def reorder(session: AsyncSession, scope: DeskScope, payload: RuleReorder) -> list[RoutingRule]:
    """Positions 0, 1, … in the order given; the desk's other rules follow in their order."""
    await desks.get(session, scope, payload.desk_id, manage=True)
    rules = list((await session.scalars(
        select(RoutingRule).where(RoutingRule.desk_id == payload.desk_id)
        .order_by(RoutingRule.position, RoutingRule.id).with_for_update()
        .execution_options(populate_existing=True))).all())
    by_id = {r.id: r for r in rules}
    errors = []
    seen: set[int] = set()
    for i, rule_id in enumerate(payload.rule_ids):
        if rule_id not in by_id:
            errors.append({"loc": ["body", "rule_ids", i],
                           "msg": f"rule {rule_id} is not a rule of desk {payload.desk_id}",
                           "type": "value_error"})
        elif rule_id in seen:
            errors.append({"loc": ["body", "rule_ids", i], "msg": f"rule {rule_id} is repeated",
                           "type": "value_error"})
        seen.add(rule_id)
    if errors:
        raise Unprocessable("Invalid rule_ids.", errors=errors)
    ordered = [by_id[i] for i in payload.rule_ids] + [r for r in rules if r.id not in seen]
    for position, rule in enumerate(ordered):
        if rule.position != position:
            rule.position = position
            rule.updated_at = func.now()
    await session.flush()
    for rule in ordered:
        await session.refresh(rule)
    return ordered


# --- the dry run ---------------------------------------------------------------------------

async def dry_run(session: AsyncSession, scope: DeskScope, payload: DryRunRequest) -> DryRunResult:
    """What the desk's enabled rules would do to a stored or an unsaved ticket; changes nothing."""
    if payload.ticket_id is not None:
        scope.require(Scope.tickets_read)
        ticket = await tickets.get(session, scope, payload.ticket_id)
        facts = await load_facts(session, ticket)
        requester = await session.get_one(Customer, ticket.requester_id)
        names = {"email": requester.email, "name": requester.name}
    else:
        assert payload.desk_id is not None and payload.ticket is not None
        desk = await desks.get(session, scope, payload.desk_id)
        facts = await _draft_facts(session, desk, payload.ticket)
        names = {"email": facts["requester.email"],
                 "name": payload.ticket.requester.name if payload.ticket.requester else ""}
    org_actions: list[Any] = []
    if facts["organization_id"] is not None:
        org_actions = list(await session.scalar(
            select(Organization.routing_actions).where(Organization.id == facts["organization_id"])
        ) or [])
    plan = evaluate(await rules_for_desk(session, facts["desk_id"]), facts,
                    org_actions=org_actions)
    result = routed_ticket(plan.facts)
    context = result.model_dump(mode="json")
    steps = [PlannedAction(rule_id=s.rule_id, type=s.action.type,
                           value=s.action.model_dump(mode="json")["value"],
                           preview=s.action.preview(context, names))
             for s in plan.steps]
    return DryRunResult(matched=plan.matched, actions=steps, move_to_desk_id=plan.move_to,
                        result=result)


def routed_ticket(facts: Mapping[str, Any]) -> RoutedTicket:
    return RoutedTicket(
        id=facts.get("id"), number=facts.get("number"), desk_id=facts["desk_id"],
        subject=facts["subject"], description=facts["description"],
        requester_email=facts["requester.email"], organization_id=facts["organization_id"],
        source=facts["source"], form_id=facts["form_id"], priority=facts["priority"],
        status=facts["status"], type=facts["type"], tags=facts["tags"],
        custom_fields=facts["custom_fields"], assignee_id=facts["assignee_id"],
        team_id=facts["team_id"], created_at=facts["created_at"])


async def _draft_facts(session: AsyncSession, desk: Desk, draft: TicketDraft) -> dict[str, Any]:
    """The facts of an unsaved ticket, checked like a ticket create."""
    loc = ["body", "ticket"]
    specs = await fields.specs(session, desk.id, FieldEntity.ticket)
    custom = fields.check(specs, draft.custom_fields, [*loc, "custom_fields"])
    if draft.assignee_id is not None:
        await check_assignee(session, desk.id, draft.assignee_id, [*loc, "assignee_id"])
    if draft.team_id is not None:
        await check_team(session, desk.id, draft.team_id, [*loc, "team_id"])
    email = draft.requester.email if draft.requester is not None else None
    organization_id = draft.organization_id
    if organization_id is not None:
        found = await session.scalar(select(Organization.id).where(
            Organization.id == organization_id, Organization.desk_id == desk.id))
        if found is None:
            raise invalid([*loc, "organization_id"],
                          f"organization {organization_id} is not in desk {desk.id}")
    elif email is not None:
        organization_id = await session.scalar(select(OrganizationDomain.organization_id).where(
            OrganizationDomain.desk_id == desk.id, OrganizationDomain.domain == domain_of(email)))
    settings = DeskSettings.model_validate(desk.settings)
    return {
        "id": None, "number": None, "desk_id": desk.id, "subject": draft.subject,
        "description": draft.description, "requester.email": email,
        "requester.domain": domain_of(email), "organization_id": organization_id,
        "source": draft.source.value, "form_id": draft.form_id,
        "priority": (draft.priority or settings.default_priority).value,
        "status": draft.status.value, "type": draft.type, "tags": list(draft.tags),
        "custom_fields": {k: v for k, v in custom.items() if v is not None},
        "assignee_id": draft.assignee_id, "team_id": draft.team_id,
        "created_at": draft.created_at or utcnow(), "time_zone": settings.time_zone,
    }
