"""Who is calling: a bearer credential becomes a `DeskScope`, once per request.

`compute_scope` loads what the database says about the caller; the visibility rule of its
subject kind (`core/scope.desk_scope`) decides which desks it sees. Routers ask for a scope
with the `Annotated` aliases at the bottom (`DesksRead`, `AdminScope`, …), which authenticate
(refusing subjects the staff API does not serve), rate-limit, start idempotency and check the
scope name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import idempotency, ratelimit
from app.core.config import Settings
from app.core.db import Session, utcnow
from app.core.errors import Unauthorized
from app.core.scope import (
    DeskScope,
    Scope,
    StaffSubject,
    SubjectKind,
    TokenSubject,
    desk_scope,
)
from app.core.security import TOKEN_PREFIX, decode_access_token, hash_token
from app.models import (
    ApiToken,
    Desk,
    DeskKind,
    DeskMember,
    MemberRole,
    TeamMember,
    User,
    UserRole,
)

bearer = HTTPBearer(
    auto_error=False,
    description="A staff JWT from `POST /v1/auth/token` or an API token (`swb_…`).",
)

LAST_USED_RESOLUTION = timedelta(minutes=1)


async def member_desks(session: AsyncSession, user_id: int
                       ) -> tuple[frozenset[int], frozenset[int]]:
    """The desks a user belongs to (directly or through a team), and those it manages."""
    direct = select(DeskMember.desk_id, DeskMember.role).where(DeskMember.user_id == user_id)
    via_team = (
        select(DeskMember.desk_id, DeskMember.role)
        .join(TeamMember, TeamMember.team_id == DeskMember.team_id)
        .where(TeamMember.user_id == user_id)
    )
    rows = (await session.execute(union(direct, via_team))).all()
    return (frozenset(d for d, _ in rows),
            frozenset(d for d, role in rows if role == MemberRole.manager))


async def compute_scope(session: AsyncSession, *, user: User | None = None,
                        token: ApiToken | None = None) -> DeskScope:
    """Load what the rule of a staff user's or an API token's kind needs, and apply it."""
    if user is not None:
        if user.role == UserRole.admin:
            return desk_scope(StaffSubject(user.id, user.name, admin=True))
        member_of, manages = await member_desks(session, user.id)
        return desk_scope(StaffSubject(user.id, user.name, admin=False,
                                       member_of=member_of, manages=manages))
    assert token is not None
    desk_ids = None if token.desk_ids is None else frozenset(token.desk_ids)
    sandbox_desk_ids: frozenset[int] = frozenset()
    if token.sandbox:
        stmt = select(Desk.id).where(Desk.kind == DeskKind.sandbox)
        if desk_ids is not None:
            stmt = stmt.where(Desk.id.in_(desk_ids))
        sandbox_desk_ids = frozenset((await session.scalars(stmt)).all())
    return desk_scope(TokenSubject(token.id, token.name, frozenset(token.scopes), desk_ids,
                                   sandbox=token.sandbox, sandbox_desk_ids=sandbox_desk_ids))


@dataclass(frozen=True)
class _CachedToken:
    scope: DeskScope
    expires_at: datetime | None
    fetched: float


class TokenCache:
    """API token scopes kept in process for a few seconds: most requests then authenticate
    without a query. A revocation clears this process's entry at once; other processes notice
    within `ttl` seconds (AUTH_CACHE_SECONDS)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, _CachedToken] = {}

    def get(self, digest: bytes, ttl: float) -> _CachedToken | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry.fetched > ttl:
            return None
        return entry

    def put(self, digest: bytes, entry: _CachedToken) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = entry

    def forget(self, token_id: int) -> None:
        for digest, entry in list(self._entries.items()):
            principal = entry.scope.principal
            if principal.kind == SubjectKind.api_token and principal.id == token_id:
                del self._entries[digest]


token_cache = TokenCache()


async def _scope_of_api_token(session: AsyncSession, secret: str, ttl: float) -> DeskScope:
    digest = hash_token(secret)
    now = utcnow()
    cached = token_cache.get(digest, ttl) if ttl > 0 else None
    if cached is None:
        token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if token is None:
            raise Unauthorized("The API token is not valid.")
        if token.revoked_at is not None:
            raise Unauthorized("The API token has been revoked.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            await _touch(session, token.id, now)
        cached = _CachedToken(await compute_scope(session, token=token), token.expires_at,
                              time.monotonic())
        token_cache.put(digest, cached)
    if cached.expires_at is not None and cached.expires_at <= now:
        raise Unauthorized("The API token has expired.")
    return cached.scope


async def _touch(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Record use; a row another request is touching right now is skipped, never waited for."""
    locked = select(ApiToken.id).where(ApiToken.id == token_id).with_for_update(skip_locked=True)
    await session.execute(update(ApiToken).where(ApiToken.id.in_(locked.scalar_subquery()))
                          .values(last_used_at=now))


async def _scope_of_jwt(session: AsyncSession, settings: Settings, raw: str) -> DeskScope:
    claims = decode_access_token(raw, settings.secret_key)
    user = await session.get(User, claims.user_id) if claims is not None else None
    if claims is None or user is None or not user.is_active:
        raise Unauthorized("The access token is not valid or has expired.")
    if (user.password_changed_at is not None
            and claims.issued_at < user.password_changed_at.timestamp()):
        raise Unauthorized("The access token was issued before the password last changed; "
                           "sign in again.")
    return await compute_scope(session, user=user)


async def authenticate(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> DeskScope:
    cached: DeskScope | None = getattr(request.state, "desk_scope", None)
    if cached is not None:
        return cached
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>`.")
    settings: Settings = request.app.state.settings
    raw = credentials.credentials
    if raw.startswith(TOKEN_PREFIX):
        scope = await _scope_of_api_token(session, raw, settings.auth_cache_seconds)
    else:
        scope = await _scope_of_jwt(session, settings, raw)
    scope.check_staff_api()  # before it counts against a limit or replays a response
    request.state.desk_scope = scope
    request.state.ratelimit = await ratelimit.hit(
        request.app.state.redis, settings.redis_namespace, scope.principal.key,
        settings.rate_limit_per_minute,
    )
    await idempotency.begin(request, session, scope.principal.key,
                            settings.idempotency_ttl_seconds)
    return scope


Authenticated = Annotated[DeskScope, Depends(authenticate)]


# The scope each `requires` dependency checks, for the OpenAPI document (core/openapi.py).
REQUIRED_SCOPES: dict[Callable[..., Any], Scope] = {}


def requires(name: Scope) -> Any:  # a Depends marker (typed Any by FastAPI)
    """A `Depends` that authenticates the caller and checks that it holds `name`."""

    async def dependency(scope: Authenticated) -> DeskScope:
        scope.require(name)
        return scope

    dependency.__name__ = f"requires_{name.value.replace(':', '_')}"
    REQUIRED_SCOPES[dependency] = name
    return Depends(dependency)


DesksRead = Annotated[DeskScope, requires(Scope.desks_read)]
DesksWrite = Annotated[DeskScope, requires(Scope.desks_write)]
AdminScope = Annotated[DeskScope, requires(Scope.admin)]
OrganizationsRead = Annotated[DeskScope, requires(Scope.organizations_read)]
OrganizationsWrite = Annotated[DeskScope, requires(Scope.organizations_write)]
CustomersRead = Annotated[DeskScope, requires(Scope.customers_read)]
CustomersWrite = Annotated[DeskScope, requires(Scope.customers_write)]
TicketsRead = Annotated[DeskScope, requires(Scope.tickets_read)]
TicketsWrite = Annotated[DeskScope, requires(Scope.tickets_write)]
EventsRead = Annotated[DeskScope, requires(Scope.events_read)]
FormsRead = Annotated[DeskScope, requires(Scope.forms_read)]
FormsWrite = Annotated[DeskScope, requires(Scope.forms_write)]
RulesRead = Annotated[DeskScope, requires(Scope.rules_read)]
RulesWrite = Annotated[DeskScope, requires(Scope.rules_write)]
WebhooksRead = Annotated[DeskScope, requires(Scope.webhooks_read)]
WebhooksWrite = Annotated[DeskScope, requires(Scope.webhooks_write)]
InboundScope = Annotated[DeskScope, requires(Scope.inbound)]
