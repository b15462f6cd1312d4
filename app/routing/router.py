"""Routing rules: CRUD, reordering and the dry run."""

from __future__ import annotations

from fastapi import Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId, QueryId
from app.core.pagination import Page, Pagination
from app.core.principal import RulesRead, RulesWrite
from app.routing import service
from app.routing.schemas import (
    DryRunRequest,
    DryRunResult,
    RuleCreate,
    RuleRead,
    RuleReorder,
    RuleUpdate,
)

router = api_router(prefix="/routing-rules", tags=["routing"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RuleRead)
async def create_rule(payload: RuleCreate, session: Session, scope: RulesWrite,
                      response: Response) -> RuleRead:
    """A rule of a desk. Conditions and actions are checked against the desk now: each
    condition's op and value against its field's type, each id an action names against the
    desk (its agents, its member teams, a target desk the caller sees)."""
    rule = await service.create(session, scope, payload)
    set_created(response, f"/v1/routing-rules/{rule.id}", rule.version)
    return RuleRead.model_validate(rule)


@router.get("", response_model=Page[RuleRead])
async def list_rules(session: Session, scope: RulesRead, page: Pagination,
                     desk_id: QueryId) -> Page[RuleRead]:
    """A desk's rules in the order they run: by position, then id."""
    rules, cursor = await service.list_(session, scope, desk_id, page)
    return Page(items=[RuleRead.model_validate(r) for r in rules], next_cursor=cursor)


@router.post("/reorder", response_model=list[RuleRead])
async def reorder_rules(payload: RuleReorder, session: Session,
                        scope: RulesWrite) -> list[RuleRead]:
    """Give the rules named positions 0, 1, … in that order; the rest follow. Answers every
    rule of the desk in its new order."""
    return [RuleRead.model_validate(r) for r in await service.reorder(session, scope, payload)]


@router.post("/test", response_model=DryRunResult)
async def test_rules(payload: DryRunRequest, session: Session, scope: RulesRead) -> DryRunResult:
    """Dry run: which of the desk's enabled rules match a stored ticket (`{ticket_id}`, needs
    `tickets:read` too) or an unsaved one (`{desk_id, ticket}`), what they would do, and the
    ticket as it would be. Nothing is changed, sent or recorded."""
    return await service.dry_run(session, scope, payload)


@router.get("/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: PathId, session: Session, scope: RulesRead,
                   response: Response) -> RuleRead:
    rule = await service.get(session, scope, rule_id)
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.patch("/{rule_id}", response_model=RuleRead, responses=problem_responses(412))
async def update_rule(rule_id: PathId, payload: RuleUpdate, session: Session,
                      scope: RulesWrite, response: Response,
                      if_match: IfMatch = None) -> RuleRead:
    rule = await service.update(session, scope, rule_id, payload, if_match)
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(412))
async def delete_rule(rule_id: PathId, session: Session, scope: RulesWrite,
                      if_match: IfMatch = None) -> None:
    await service.delete(session, scope, rule_id, if_match)
