from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import Form, Request, Response, status

from app.auth import service
from app.auth.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenRead, MeRead, TokenResponse
from app.core import idempotency, ratelimit
from app.core.boundary import api_router
from app.core.clients import client_ip
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import AdminScope, Authenticated

public_router = api_router(authenticated=False, tags=["auth"])
router = api_router(tags=["auth"])


@public_router.post(
    "/auth/token", response_model=TokenResponse,
    responses=problem_responses(401, 429),
    summary="OAuth2 password grant for staff (rate-limited per client address and per account)",
)
async def issue_token(
    request: Request,
    session: Session,
    grant_type: Annotated[Literal["password"], Form(description="OAuth2 password grant")],
    username: Annotated[str, Form(description="The staff user's email", max_length=320)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenResponse:
    """Every attempt counts against two one-minute limits, checked before the password:
    `LOGIN_RATE_LIMIT_PER_MINUTE` per client address (`X-Forwarded-For` is believed only from
    `TRUSTED_PROXIES`) and `LOGIN_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE` per username, whatever
    the address. Past either: 429 with `Retry-After`."""
    settings = request.app.state.settings
    redis, namespace = request.app.state.redis, settings.redis_namespace
    by_address = await ratelimit.hit(redis, namespace, f"login:ip:{client_ip(request)}",
                                     settings.login_rate_limit_per_minute)
    by_account = await ratelimit.hit(redis, namespace, f"login:account:{_account(username)}",
                                     settings.login_rate_limit_per_account_per_minute)
    request.state.ratelimit = ratelimit.tightest(by_address, by_account)
    token = await service.password_grant(session, username, password,
                                         secret=settings.secret_key,
                                         expires_in=settings.jwt_expires_seconds)
    return TokenResponse(access_token=token, expires_in=settings.jwt_expires_seconds)


def _account(username: str) -> str:
    """The rate-limit identity of a username: as the sign-in matches it (trimmed, any case),
    digested so a key stays short whatever was sent."""
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


@router.get("/me", response_model=MeRead)
async def me(scope: Authenticated) -> MeRead:
    p = scope.principal
    return MeRead(kind=p.kind, id=p.id, name=p.name, scopes=sorted(scope.scopes),
                  desk_ids=None if scope.desk_ids is None else sorted(scope.desk_ids),
                  sandbox=p.sandbox)


@router.post("/api-tokens", status_code=status.HTTP_201_CREATED, response_model=ApiTokenCreated)
async def create_api_token(payload: ApiTokenCreate, session: Session, scope: AdminScope,
                           request: Request, response: Response) -> ApiTokenCreated:
    """The response holds the secret, which is never stored: an `Idempotency-Key` is not replayed."""
    idempotency.forget(request)
    token, secret = await service.create_token(session, scope, payload)
    response.headers["Location"] = f"/v1/api-tokens/{token.id}"
    return ApiTokenCreated(**ApiTokenRead.model_validate(token).model_dump(), token=secret)


@router.get("/api-tokens", response_model=Page[ApiTokenRead])
async def list_api_tokens(session: Session, _: AdminScope, page: Pagination) -> Page[ApiTokenRead]:
    tokens, cursor = await service.list_tokens(session, page)
    return Page(items=[ApiTokenRead.model_validate(t) for t in tokens], next_cursor=cursor)


@router.get("/api-tokens/{token_id}", response_model=ApiTokenRead)
async def get_api_token(token_id: PathId, session: Session, _: AdminScope) -> ApiTokenRead:
    return ApiTokenRead.model_validate(await service.get_token(session, token_id))


@router.delete("/api-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_token(token_id: PathId, session: Session, _: AdminScope) -> None:
    await service.revoke_token(session, token_id)
