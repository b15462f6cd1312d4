"""`Idempotency-Key` on POST: the first 2xx/4xx response is stored and replayed for 24 h.

`begin()` runs once the caller is known (from authentication): a stored, matching request is
replayed; a stored request with another body answers 422. `record()` runs at the transaction
boundary and writes the response in the same transaction as the work it describes, so a
replayed response always matches what was committed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from fastapi import Request, Response
from sqlalchemy import CursorResult, Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import jobs
from app.core.db import utcnow
from app.core.errors import AppError, invalid
from app.models import IdempotencyKey

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers worth replaying; hop-by-hop and per-response ones are recomputed.
_KEPT_HEADERS = {"location", "etag", "content-type"}


class Replay(AppError):
    status = 200

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


@dataclass(frozen=True)
class Pending:
    principal: str
    key: str
    method: str
    path: str
    request_hash: bytes
    ttl_seconds: int


async def begin(request: Request, session: AsyncSession, principal: str, ttl_seconds: int) -> None:
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid(["header", HEADER], f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    body = await request.body()
    digest = hashlib.sha256(
        b"\0".join([request.method.encode(), request.url.path.encode(),
                    request.url.query.encode(), body])
    ).digest()
    pending = Pending(principal, key, request.method, request.url.path, digest, ttl_seconds)
    stored = await session.scalar(_lookup(pending))
    if stored is not None and stored.expires_at <= utcnow():
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == stored.id))
        stored = None
    if stored is None:
        request.state.idempotency = pending
        return
    if stored.request_hash != digest:
        raise invalid(["header", HEADER],
                      "this Idempotency-Key was used with a different request", "idempotency_mismatch")
    headers = {**stored.response_headers, REPLAYED_HEADER: "true"}
    raise Replay(Response(stored.response_body, status_code=stored.status_code, headers=headers))


def _lookup(p: Pending) -> Select[IdempotencyKey]:
    return select(IdempotencyKey).where(
        IdempotencyKey.principal == p.principal, IdempotencyKey.key == p.key,
        IdempotencyKey.method == p.method, IdempotencyKey.path == p.path,
    )


def forget(request: Request) -> None:
    """Never store this request's response: it holds a secret shown once (the key is not replayed)."""
    request.state.idempotency = None


def record(request: Request, session: AsyncSession, response: Response) -> bool:
    """Add the response to the session's transaction if this request carries a new key."""
    pending: Pending | None = getattr(request.state, "idempotency", None)
    body = getattr(response, "body", None)
    if pending is None or response.status_code >= 500 or not isinstance(body, bytes):
        return False
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    session.add(IdempotencyKey(
        principal=pending.principal, key=pending.key, method=pending.method, path=pending.path,
        request_hash=pending.request_hash, status_code=response.status_code,
        response_headers=headers, response_body=body,
        expires_at=utcnow() + timedelta(seconds=pending.ttl_seconds),
    ))
    return True


async def purge_expired(session: AsyncSession) -> int:
    stmt = delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())
    result = cast("CursorResult[Any]", await session.execute(stmt))  # a DML statement's result
    return result.rowcount or 0


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """The worker's hourly job: forget stored responses older than their 24 h window."""
    async with jobs.job_session(ctx) as session:
        removed = await purge_expired(session)
    if removed:
        log.info("purged %d expired idempotency keys", removed)
    return removed
