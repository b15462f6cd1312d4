"""Signed delivery of one event to one webhook, on the arq worker.

An attempt runs in three steps so that no transaction is open while a subscriber answers:
1. `claim`: one UPDATE takes a due, pending delivery of an active webhook, counts the attempt
   and leases it (`next_attempt_at = now + lease`); a concurrent or repeated job finds it not
   due and does nothing. A worker killed mid-send leaves the lease to expire, and the sweep
   enqueues the delivery again (at least once, never lost).
2. `send`: POST the envelope, signed per Standard Webhooks, through the SSRF-guarded client:
   every new connection resolves the host once, checks each address (`ssrf.resolve`) and
   connects to the address it checked; TLS still verifies the host name. No redirects, a
   whole-exchange timeout, only the first KiB of the answer is read.
3. `record`: 2xx succeeds (and clears the webhook's failure run), 410 deletes the webhook,
   anything else schedules the next attempt (`schedule`), honouring `Retry-After` on 429/503;
   when the schedule is used up or the webhook has failed for 3 days, the delivery fails and
   the webhook is disabled, with an event saying why.

Each webhook has at most `WEBHOOK_MAX_IN_FLIGHT` attempts running (a Redis lease set), so a slow
subscriber can hold only that many of the worker's job slots and never delays the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import httpcore
import httpx
from arq.worker import Retry
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import jobs, outbox
from app.core.config import Settings
from app.core.db import utcnow
from app.events.schemas import EventRead
from app.models import Delivery, Event, Webhook
from app.webhooks import schedule, signing, ssrf
from app.webhooks.dispatch import DISABLED_EVENT, defer_delivery

log = logging.getLogger(__name__)

BODY_EXCERPT = 1024
# A job may run a little before its row says the attempt is due (clocks of different hosts).
EARLY = timedelta(seconds=2)
USER_AGENT = "Switchboard-Webhooks/1"


# --- the guarded HTTP client ----------------------------------------------------------------

class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens every connection to the address `ssrf.resolve` checked, never to another answer
    of a second lookup. Connections are pooled per URL host, so TLS (SNI and certificate) is
    always for the host name itself."""

    def __init__(self, allow: ssrf.AllowList, resolver: ssrf.Resolver | None = None) -> None:
        self._allow = allow
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        address = await ssrf.resolve(host, port, self._allow, self._resolver)
        return await self._inner.connect_tcp(address, port, timeout=timeout,
                                             local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise ssrf.Blocked("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def client(settings: Settings, resolver: ssrf.Resolver | None = None) -> httpx.AsyncClient:
    """The worker's HTTP client for deliveries (`ctx["http"]`)."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    # httpx takes no network backend; its pool is rebuilt the same way around the guarded one.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(_allow(settings), resolver))
    # trust_env=False: an HTTP(S)_PROXY from the environment would connect around the guard.
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False,
                             timeout=settings.webhook_timeout_seconds,
                             headers={"user-agent": USER_AGENT})


# --- one attempt ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    """A claimed attempt: everything `send` and `record` need, read in the claim."""

    delivery_id: int
    webhook_id: int
    attempts: int  # including this one
    url: str
    secrets: list[str]
    event_id: int
    body: bytes
    webhook_failing: bool


@dataclass(frozen=True)
class Result:
    status: int | None = None
    body: str | None = None
    error: str | None = None
    duration_ms: float = 0.0
    retry_after: str | None = None


def envelope(event: Any) -> bytes:
    """The body: the event as `/v1/events` shows it, compact JSON."""
    return EventRead.model_validate(event, from_attributes=True).model_dump_json().encode()


async def claim(session: AsyncSession, delivery_id: int, now: datetime,
                lease: timedelta) -> Attempt | None:
    """Take the attempt if the delivery is pending and due and its webhook active (not
    committed); None otherwise."""
    stmt = (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending",
               Delivery.next_attempt_at <= now + EARLY,
               Webhook.id == Delivery.webhook_id, Webhook.state == "active",
               Event.id == Delivery.event_id)
        .values(attempts=Delivery.attempts + 1, last_attempt_at=now,
                next_attempt_at=now + lease)
        .returning(Delivery.attempts, Delivery.webhook_id, Webhook.url, Webhook.secret,
                   Webhook.previous_secret, Webhook.previous_secret_expires_at,
                   Webhook.failure_count, Webhook.failing_since, Event.id, Event.type,
                   Event.desk_id, Event.created_at, Event.actor, Event.data, Event.changes)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    secrets = signing.signing_secrets(_Secrets(row.secret, row.previous_secret,
                                               row.previous_secret_expires_at), now)
    body = envelope(_EventRow(id=row.id, type=row.type, desk_id=row.desk_id,
                              created_at=row.created_at, actor=row.actor, data=row.data,
                              changes=row.changes))
    return Attempt(delivery_id=delivery_id, webhook_id=row.webhook_id, attempts=row.attempts,
                   url=row.url, secrets=secrets, event_id=row.id, body=body,
                   webhook_failing=bool(row.failure_count or row.failing_since))


@dataclass(frozen=True)
class _Secrets:
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class _EventRow:
    id: int
    type: str
    desk_id: int | None
    created_at: datetime
    actor: dict[str, Any]
    data: dict[str, Any]
    changes: dict[str, Any] | None


async def send(http: httpx.AsyncClient, attempt: Attempt, *, allow: ssrf.AllowList,
               allow_http: bool, time_limit: float) -> Result:
    """POST the signed envelope; never raises for what a subscriber or the network does."""
    started = time.perf_counter()
    try:
        if reason := ssrf.check_url(attempt.url, allow, allow_http):
            raise ssrf.Blocked(reason)
        # Signed with the wall clock: receivers check it against theirs.
        headers = signing.headers(attempt.secrets, str(attempt.event_id), int(time.time()),
                                  attempt.body)
        async with asyncio.timeout(time_limit):
            async with http.stream("POST", attempt.url, content=attempt.body,
                                   headers=headers) as response:
                excerpt = await _excerpt(response)
        return Result(status=response.status_code, body=excerpt, duration_ms=_ms(started),
                      retry_after=response.headers.get("retry-after"))
    except ssrf.Blocked as exc:
        return Result(error=f"blocked: {exc.reason}", duration_ms=_ms(started))
    except TimeoutError:
        return Result(error=f"timed out after {time_limit:g} s", duration_ms=_ms(started))
    except httpx.HTTPError as exc:
        return Result(error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__,
                      duration_ms=_ms(started))


async def _excerpt(response: httpx.Response) -> str:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= BODY_EXCERPT:
            break
    # PostgreSQL text holds no NUL.
    return data[:BODY_EXCERPT].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def record(session: AsyncSession, attempt: Attempt, result: Result, now: datetime,
                 rng: schedule.Random = random) -> str:  # type: ignore[assignment]
    """Write what the attempt came to (not committed); the outcome, or `stale` when another
    attempt of the delivery was claimed meanwhile."""
    answered = {"response_status": result.status, "response_body": result.body,
                "error": result.error, "duration_ms": result.duration_ms}
    mine = (Delivery.id == attempt.delivery_id, Delivery.attempts == attempt.attempts,
            Delivery.status == "pending")
    outcome = schedule.outcome(result.status)
    if outcome == "succeeded":
        done = await session.scalar(
            update(Delivery).where(*mine).values(status="succeeded", delivered_at=now,
                                                 next_attempt_at=None, **answered)
            .returning(Delivery.id).execution_options(synchronize_session=False))
        if done is not None and attempt.webhook_failing:
            await session.execute(update(Webhook).where(Webhook.id == attempt.webhook_id)
                                  .values(failure_count=0, failing_since=None))
        return "succeeded" if done is not None else "stale"
    locked = await session.scalar(select(Delivery.id).where(*mine).with_for_update())
    if locked is None:
        return "stale"
    if outcome == "gone":
        log.info("webhook %s answered 410 Gone: unsubscribed", attempt.webhook_id)
        await session.execute(delete(Webhook).where(Webhook.id == attempt.webhook_id))
        return "gone"
    failing_since = await session.scalar(
        update(Webhook).where(Webhook.id == attempt.webhook_id)
        .values(failure_count=Webhook.failure_count + 1,
                failing_since=func.coalesce(Webhook.failing_since, now))
        .returning(Webhook.failing_since))
    following = _next(attempt.attempts, result, now, rng)
    reason = _disable_reason(attempt, result, following, failing_since, now)
    if following is not None and reason is None:
        await session.execute(update(Delivery).where(Delivery.id == attempt.delivery_id)
                              .values(next_attempt_at=following, **answered)
                              .execution_options(synchronize_session=False))
        defer_delivery(session, attempt.delivery_id, attempt.attempts, attempt.webhook_id,
                       when=following)
        return "retrying"
    await session.execute(update(Delivery).where(Delivery.id == attempt.delivery_id)
                          .values(status="failed", next_attempt_at=None, **answered)
                          .execution_options(synchronize_session=False))
    if reason is not None:
        await disable(session, attempt.webhook_id, reason)
    return "failed"


def _next(attempts: int, result: Result, now: datetime, rng: schedule.Random) -> datetime | None:
    """When to try again: per the schedule, or later when a 429/503 asked for longer (within
    its bounds). A short Retry-After never brings an attempt forward: honoured alone, it ran
    the whole schedule in seconds and disabled the webhook. Never past the last attempt."""
    following = schedule.next_attempt(attempts, now, rng)
    if following is None:
        return None
    if schedule.honours_retry_after(result.status):
        asked = schedule.retry_after(result.retry_after, now)
        return max(asked, following) if asked is not None else following
    return following


def _disable_reason(attempt: Attempt, result: Result, following: datetime | None,
                    failing_since: datetime | None, now: datetime) -> str | None:
    """Why the webhook is disabled after this failure, if it is. A manual redelivery past the
    schedule that fails only fails again; it does not disable the webhook it was sent for."""
    last = f"HTTP {result.status}" if result.status is not None else result.error
    if following is None and attempt.attempts <= schedule.MAX_ATTEMPTS:
        return (f"delivery {attempt.delivery_id} failed {attempt.attempts} times, the last "
                f"attempt with: {last}")
    if failing_since is not None and schedule.failing_too_long(failing_since, now):
        return (f"deliveries have failed without a success since {failing_since.isoformat()}, "
                f"the last with: {last}")
    return None


async def disable(session: AsyncSession, webhook_id: int, reason: str) -> bool:
    """Disable an active webhook and record `webhook.disabled` (desk-less; its own webhook is
    never sent it). False if it was not active."""
    row = (await session.execute(
        update(Webhook).where(Webhook.id == webhook_id, Webhook.state == "active")
        .values(state="disabled", disabled_reason=reason)
        .returning(Webhook.id, Webhook.url, Webhook.events, Webhook.desk_ids,
                   Webhook.failure_count, Webhook.failing_since))).first()
    if row is None:
        return False
    log.warning("webhook %s disabled: %s", webhook_id, reason)
    data = {"id": row.id, "url": row.url, "events": row.events, "desk_ids": row.desk_ids,
            "state": "disabled", "disabled_reason": reason, "failure_count": row.failure_count,
            "failing_since": row.failing_since.isoformat() if row.failing_since else None}
    outbox.record(session, type=DISABLED_EVENT, desk_id=None, subject_type="webhook",
                  subject_id=webhook_id, data=data, scope=None)
    return True


# --- at most N attempts per webhook at once ---------------------------------------------------

# KEYS[1] the webhook's lease set; ARGV: now ms, lease end ms, member, limit. Expired leases (a
# killed worker's) drop out by themselves.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def _slots_key(settings: Settings, webhook_id: int) -> str:
    return f"{settings.redis_namespace}:webhooks:{webhook_id}:sending"


async def acquire_slot(redis: Any, settings: Settings, webhook_id: int, delivery_id: int) -> bool:
    now_ms = int(time.time() * 1000)
    until = now_ms + int(settings.webhook_lease_seconds * 1000)
    return bool(await redis.eval(_ACQUIRE, 1, _slots_key(settings, webhook_id), now_ms, until,
                                 delivery_id, settings.webhook_max_in_flight))


async def release_slot(redis: Any, settings: Settings, webhook_id: int, delivery_id: int) -> None:
    await redis.zrem(_slots_key(settings, webhook_id), delivery_id)


def busy_wait(job_try: int, rng: schedule.Random = random) -> float:  # type: ignore[assignment]
    """Seconds to wait for a free slot of a busy webhook: about 0.2 s, doubling on each try up
    to 30 s, so a fast subscriber's jobs hardly wait and a stalled one's do not churn."""
    return min(30.0, rng.uniform(0.1, 0.3) * 2 ** min(max(job_try - 1, 0), 10))


# --- the job ----------------------------------------------------------------------------------

async def deliver(ctx: dict[str, Any], delivery_id: int, webhook_id: int | None = None) -> str:
    """The arq job: one attempt of a delivery. `ctx["clock"]` (default: the wall clock) decides
    what is due, so tests drive the schedule without waiting."""
    settings: Settings = ctx["settings"]
    clock = ctx.get("clock", utcnow)
    sessions = ctx["sessionmaker"]
    if webhook_id is None:
        async with sessions() as session:
            webhook_id = await session.scalar(
                select(Delivery.webhook_id).where(Delivery.id == delivery_id))
        if webhook_id is None:
            return "gone"
    if not await acquire_slot(ctx["redis"], settings, webhook_id, delivery_id):
        raise Retry(defer=busy_wait(ctx.get("job_try", 1)))
    try:
        async with jobs.job_session(ctx) as session:
            attempt = await claim(session, delivery_id, clock(),
                                  timedelta(seconds=settings.webhook_lease_seconds))
        if attempt is None:
            return "skipped"
        result = await send(ctx["http"], attempt, allow=_allow(settings),
                            allow_http=settings.webhook_allow_http,
                            time_limit=settings.webhook_timeout_seconds)
    finally:
        await release_slot(ctx["redis"], settings, webhook_id, delivery_id)
    async with jobs.job_session(ctx) as session:
        outcome = await record(session, attempt, result, clock(), ctx.get("random", random))
    return outcome


def _allow(settings: Settings) -> ssrf.AllowList:
    return _parsed_allow(settings.webhook_allow_hosts)


@lru_cache(maxsize=8)
def _parsed_allow(value: str) -> ssrf.AllowList:
    return ssrf.parse_allow(value)
