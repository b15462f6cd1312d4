"""The request's unit of work: the transaction boundary of every route, and its router.

`AppRoute` wraps each endpoint: the session commits once, after the endpoint returned and the
idempotent response (if any) was added to the same transaction; jobs deferred during the request
are sent only after that commit; any error rolls everything back and renders as problem+json.
`api_router` builds the routers that use it, authenticated unless declared public.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.core import idempotency, jobs
from app.core.errors import (
    Conflict,
    PreconditionFailed,
    Unprocessable,
    render_any,
)
from app.core.principal import authenticate

log = logging.getLogger(__name__)


class AppRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await endpoint(request)
                session: AsyncSession | None = getattr(request.state, "session", None)
                if session is not None:
                    idempotency.record(request, session, response)
                    await session.commit()
                    await _send_jobs(request, session)
            except idempotency.Replay as replay:
                await _rollback(request)
                response = replay.response
            except Exception as exc:
                await _rollback(request)
                response = render_any(request, _translate(exc))
                await _record_failure(request, response)
            state = getattr(request.state, "ratelimit", None)
            if state is not None:
                for name, value in state.headers().items():
                    response.headers.setdefault(name, value)
            if response.status_code in NO_BODY_STATUSES and "content-type" in response.headers:
                # The JSON response class names a media type even for no body at all.
                del response.headers["content-type"]
            return response

        return handler


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, StaleDataError):
        return PreconditionFailed("The resource changed while this request ran; fetch it again.")
    if isinstance(exc, IntegrityError):
        if "uq_idempotency_keys_lookup" in str(exc.orig):
            return Conflict("A request with this Idempotency-Key is already being processed.")
        # Services check what they can; a constraint that still fires is a race they lost.
        if getattr(exc.orig, "sqlstate", None) in {"23505", "23503", "23P01"}:
            return Conflict("The request conflicts with the current state of a resource.")
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TEXT_SQLSTATES:
        # Schemas refuse NUL per field; this is the net under any field they missed.
        return Unprocessable("Text must not contain NUL characters.")
    return exc


NO_BODY_STATUSES = frozenset({204, 304})

# character_not_in_repertoire, untranslatable_character: PostgreSQL refusing a NUL in text/jsonb
TEXT_SQLSTATES = {"22021", "22P05"}


async def _rollback(request: Request) -> None:
    session: AsyncSession | None = getattr(request.state, "session", None)
    if session is not None:
        jobs.discard(session)
        await session.rollback()


async def _record_failure(request: Request, response: Response) -> None:
    """A 4xx answer to a keyed request is replayed too: store it in a transaction of its own."""
    session: AsyncSession | None = getattr(request.state, "session", None)
    if session is None or not idempotency.record(request, session, response):
        return
    try:
        await session.commit()
    except IntegrityError:  # a concurrent request with the same key stored first
        await session.rollback()


async def _send_jobs(request: Request, session: AsyncSession) -> None:
    pending = jobs.take(session)
    if pending:
        settings = request.app.state.settings
        await jobs.send(request.app.state.arq, pending, queue_name=settings.queue_name)


def api_router(*, authenticated: bool = True, **kwargs: Any) -> APIRouter:
    """A router whose routes use the transaction boundary.

    The problem responses each route can answer are documented by core/openapi.py, derived
    from the route (its body, parameters, credential), not listed per router.

    Authenticated by default: the router itself makes every route resolve the caller
    (`authenticate`) before the endpoint runs, so a router cannot become public by where it is
    mounted. `authenticated=False` is for the public endpoints (forms, surveys, the token
    endpoint, health) only; name such a router `public_router`.
    """
    if not authenticated:
        return APIRouter(route_class=AppRoute, **kwargs)
    dependencies = [Depends(authenticate), *kwargs.pop("dependencies", ())]
    return APIRouter(route_class=AppRoute, dependencies=dependencies, **kwargs)
