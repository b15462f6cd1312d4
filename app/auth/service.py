"""Signing in, API tokens and the bootstrap admin."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.schemas import ApiTokenCreate
from app.core.db import utcnow
from app.core.errors import NotFound, Unauthorized, invalid
from app.core.pagination import PageParams, SortKey, paginate
from app.core.principal import token_cache
from app.core.scope import DeskScope, Scope, SubjectKind
from app.core.security import create_access_token, new_api_token, verify_password
from app.models import ApiToken, Desk, DeskKind, User, UserRole
from app.staff.service import find_user_by_email


async def password_grant(session: AsyncSession, username: str, password: str, *,
                         secret: str, expires_in: int) -> str:
    """A JWT for valid credentials; one 401 for every wrong part, so none is revealed."""
    user = await find_user_by_email(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized("Invalid username or password.", error="invalid_grant")
    return create_access_token(user.id, secret, expires_in)


async def _check_token_desks(session: AsyncSession, scope: DeskScope,
                             payload: ApiTokenCreate) -> None:
    if payload.sandbox:
        if not payload.desk_ids:
            raise invalid(["body", "desk_ids"], "a sandbox token must name its sandbox desks")
        if Scope.admin in payload.scopes:
            raise invalid(["body", "scopes"], "a sandbox token cannot hold the admin scope")
    if Scope.admin in payload.scopes and payload.desk_ids is not None:
        # `admin` manages users, teams and tokens, which no desk confines.
        raise invalid(["body", "desk_ids"], "an admin token covers every desk; leave it null")
    if payload.desk_ids is None:
        return
    kinds = dict((await session.execute(
        scope.filter(select(Desk.id, Desk.kind).where(Desk.id.in_(payload.desk_ids)), Desk.id)
    )).all())
    for i, desk_id in enumerate(payload.desk_ids):
        if desk_id not in kinds:
            raise invalid(["body", "desk_ids", i], f"desk {desk_id} does not exist")
        if payload.sandbox and kinds[desk_id] != DeskKind.sandbox:
            raise invalid(["body", "desk_ids", i],
                          f"desk {desk_id} is a {kinds[desk_id]} desk; sandbox tokens "
                          "may name sandbox desks only")


async def create_token(session: AsyncSession, scope: DeskScope,
                       payload: ApiTokenCreate) -> tuple[ApiToken, str]:
    if payload.expires_at is not None and payload.expires_at <= utcnow():
        raise invalid(["body", "expires_at"], "must be in the future")
    await _check_token_desks(session, scope, payload)
    new = new_api_token()
    token = ApiToken(
        name=payload.name, prefix=new.prefix, token_hash=new.digest,
        scopes=sorted({s.value for s in payload.scopes}),
        desk_ids=sorted(set(payload.desk_ids)) if payload.desk_ids is not None else None,
        sandbox=payload.sandbox, expires_at=payload.expires_at,
        created_by_id=scope.principal.id if scope.principal.kind == SubjectKind.user else None,
    )
    session.add(token)
    await session.flush()
    await session.refresh(token)
    return token, new.secret


async def list_tokens(session: AsyncSession, params: PageParams
                      ) -> tuple[list[ApiToken], str | None]:
    return await paginate(session, select(ApiToken), params, [SortKey(ApiToken.id)])


async def get_token(session: AsyncSession, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"API token {token_id} does not exist.")
    return token


async def revoke_token(session: AsyncSession, token_id: int) -> None:
    token = await get_token(session, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
    token_cache.forget(token.id)


async def create_admin(session: AsyncSession, email: str, *, name: str | None = None
                       ) -> tuple[User, str]:
    """Find or create an admin user and mint a new all-desk admin API token for it."""
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], role=UserRole.admin)
        session.add(user)
        await session.flush()
    elif user.role != UserRole.admin:
        user.role = UserRole.admin
    new = new_api_token()
    session.add(ApiToken(name=f"admin token for {email}", prefix=new.prefix,
                         token_hash=new.digest, scopes=[Scope.admin.value], desk_ids=None,
                         created_by_id=user.id))
    await session.flush()
    return user, new.secret
