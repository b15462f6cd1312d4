"""Unauthenticated operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.core.boundary import api_router
from app.core.errors import Unauthorized, problem_response, problem_responses

public_router = api_router(authenticated=False, tags=["health"])

CHECK_TIMEOUT = 2.0


@public_router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> None:
    async with request.app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))


async def _check_redis(request: Request) -> None:
    redis = request.app.state.redis
    if redis is None:
        raise RuntimeError("not configured")
    await redis.ping()


@public_router.get(
    "/readyz", summary="Readiness: PostgreSQL and Redis answer",
    responses=problem_responses(503),
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            await asyncio.wait_for(check(request), CHECK_TIMEOUT)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(k for k, v in checks.items() if v != "ok")
    return problem_response(request, 503, slug="not-ready", detail=f"Not ready: {failing}.",
                            extensions={"checks": checks})


@public_router.get("/metrics", summary="Prometheus metrics",
                   response_class=Response,
                   responses={200: {"content": {"text/plain": {}}}, **problem_responses(401)})
async def metrics(request: Request) -> Response:
    """With `METRICS_TOKEN` set, only a scraper sending it as a bearer token reads them."""
    expected = request.app.state.settings.metrics_token
    if expected and not hmac.compare_digest(request.headers.get("authorization", "").encode(),
                                            f"Bearer {expected}".encode()):
        raise Unauthorized("Send `Authorization: Bearer <METRICS_TOKEN>`.")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
