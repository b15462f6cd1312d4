"""What routing actions may name: the save-time checks (`DeskChecks`, `check_actions`) and the
check a move meets again when routing runs (`move_refused`).

A `move_to_desk` target must be a desk the principal that saves the action can write (it sees
the desk and holds `tickets:write`), other than the action's own desk and not archived; a
sandbox desk moves tickets only to sandbox desks, and a desk that is not a sandbox never
moves them into one. Who saved the actions is stored with them (`saved_by`), so routing asks
again, of what that principal may write now (`core.principal.compute_scope`): a rule or an
organization saved before an access change moves nothing it could not be saved with now.

Its own room (it imports neither tickets nor customers) so that organizations, which save
routing actions too, can check them without a cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Unprocessable
from app.core.fields import FieldError, FieldSpec, clean_value
from app.core.principal import compute_scope
from app.core.scope import DeskScope, Scope, SubjectKind
from app.desks.members import check_assignee, check_team
from app.fields import service as fields
from app.models import ApiToken, Desk, DeskKind, FieldEntity, User
from app.routing import actions as a


async def ticket_field_specs(session: AsyncSession, desk_id: int) -> dict[str, FieldSpec]:
    return {s.key: s for s in await fields.specs(session, desk_id, FieldEntity.ticket)}


@dataclass
class DeskChecks:
    """What the save-time checks of actions (`actions.DeskChecks`) look up in the desk that
    runs them: its agents and teams, its ticket field `specs`, the desks the caller may move
    tickets to."""

    session: AsyncSession
    scope: DeskScope | None
    desk: Desk
    specs: Mapping[str, FieldSpec]

    async def agent(self, user_id: int, at: a.Loc) -> list[dict[str, Any]]:
        return await _errors_of(check_assignee(self.session, self.desk.id, user_id, list(at)))

    async def team(self, team_id: int, at: a.Loc) -> list[dict[str, Any]]:
        return await _errors_of(check_team(self.session, self.desk.id, team_id, list(at)))

    async def target(self, desk_id: int, at: a.Loc) -> list[dict[str, Any]]:
        problem = await _move_problem(self.session, self.scope, self.desk, desk_id)
        return [] if problem is None else [{"loc": list(at), "msg": problem,
                                            "type": "value_error"}]

    def field(self, key: str, value: Any, at: a.Loc) -> list[dict[str, Any]]:
        return _field_problems(self.specs, key, value, list(at))


async def _errors_of(check: Awaitable[None]) -> list[dict[str, Any]]:
    """The errors of a check that raises 422."""
    try:
        await check
    except Unprocessable as exc:
        return [dict(e) for e in exc.errors or []]
    return []


async def check_actions(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                        actions: Sequence[a.RoutingAction], specs: Mapping[str, FieldSpec],
                        loc: Sequence[str | int]) -> list[dict[str, Any]]:
    """Errors of actions naming what the desk does not have: an agent that is not one of its
    agents, a team that is not a member, a target desk the caller may not write (or the same
    desk, or one of the other kind, see the module docstring), a ticket field it does not
    define (each action's `check`)."""
    checks = DeskChecks(session, scope, desk, specs)
    errors: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        errors += await action.check(checks, [*loc, i, "value"])
    return errors


def refuse(errors: Sequence[Mapping[str, Any]]) -> None:
    """422 with every error (the detail names the first five), when there are any."""
    if errors:
        raise Unprocessable("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                      for e in errors[:5]), errors=[dict(e) for e in errors])


async def check_saved_actions(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                              actions: Sequence[a.RoutingAction],
                              loc: Sequence[str | int]) -> None:
    """422 unless the actions pass `check_actions` in `desk`."""
    if actions:
        specs = await ticket_field_specs(session, desk.id)
        refuse(await check_actions(session, scope, desk, actions, specs, loc))


def saved_by(scope: DeskScope | None) -> dict[str, Any]:
    """The `actions_saved_by_*` columns of actions saved by `scope` (None: the system)."""
    if scope is None:
        return {"actions_saved_by_kind": SubjectKind.system.value, "actions_saved_by_id": None}
    return {"actions_saved_by_kind": str(scope.principal.kind),
            "actions_saved_by_id": scope.principal.id}


def _writes(scope: DeskScope | None, desk_id: int) -> bool:
    """Whether the caller may write tickets in the desk (None: the system may)."""
    return scope is None or (scope.sees(desk_id) and scope.allows(Scope.tickets_write))


def _kinds_problem(desk: Desk, target: Desk) -> str | None:
    """Sandbox tickets stay among sandboxes; real ones never go into one."""
    if desk.kind == DeskKind.sandbox and target.kind != DeskKind.sandbox:
        return "a sandbox desk may only move tickets to sandbox desks"
    if desk.kind != DeskKind.sandbox and target.kind == DeskKind.sandbox:
        return "only a sandbox desk may move tickets into a sandbox desk"
    return None


async def _move_problem(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                        target_id: int) -> str | None:
    if target_id == desk.id:
        return "an action cannot move tickets to the desk it runs in"
    target = await session.get(Desk, target_id)
    if target is None or (scope is not None and not scope.sees(target_id)):
        return f"desk {target_id} does not exist"  # a desk out of sight is not told apart
    if not _writes(scope, target_id):
        return f"this credential may not write tickets in desk {target_id}"
    if target.archived_at is not None:
        return f"desk {target_id} is archived"
    return _kinds_problem(desk, target)


async def scope_now(session: AsyncSession, kind: str | None,
                    principal_id: int | None) -> DeskScope | str | None:
    """What the principal that saved actions may touch now: its scope, None for the system,
    or why it can no longer be asked (a str)."""
    if kind == SubjectKind.system:
        return None
    if kind == SubjectKind.user and principal_id is not None:
        user = await session.get(User, principal_id)
        if user is None or not user.is_active:
            return f"user {principal_id}, who saved the action, is no longer an active user"
        return await compute_scope(session, user=user)
    if kind == SubjectKind.api_token and principal_id is not None:
        token = await session.get(ApiToken, principal_id)
        if token is None or token.revoked_at is not None or (
                token.expires_at is not None and token.expires_at <= utcnow()):
            return (f"API token {principal_id}, which saved the action, is revoked, expired "
                    "or deleted")
        return await compute_scope(session, token=token)
    if kind is None:
        return ("the action records no one who saved it (saved before moves were checked "
                "again when routing runs): save it again")
    return f"the action was saved by a principal of unknown kind {kind!r}"


async def move_refused(session: AsyncSession, kind: str | None, principal_id: int | None,
                       desk: Desk, target: Desk) -> str | None:
    """Why a move from `desk` to `target` (both existing) that the principal (`kind`,
    `principal_id`) saved may not run now (None: it may)."""
    scope = await scope_now(session, kind, principal_id)
    if isinstance(scope, str):
        return scope
    if not _writes(scope, target.id):
        return (f"whoever saved the action may no longer write tickets in desk {target.id}")
    return _kinds_problem(desk, target)


def _field_problems(specs: Mapping[str, FieldSpec], key: str, value: Any,
                    at: list[str | int]) -> list[dict[str, Any]]:
    spec = specs.get(key)
    if spec is None:
        return [{"loc": [*at, "key"], "msg": "no such ticket field is defined in this desk",
                 "type": "unknown_field"}]
    if value is None:
        if spec.required:
            return [{"loc": [*at, "value"], "msg": "is required", "type": "missing"}]
        return []
    try:
        clean_value(spec, value)
    except FieldError as exc:
        return [{"loc": [*at, "value"], "msg": exc.msg, "type": exc.type}]
    return []
