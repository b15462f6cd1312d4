"""Webhook subscriptions: subscribe, change, unsubscribe, rotate, enable; the delivery log.

Visibility (the one rule, `visible`): a caller that sees every desk sees every webhook; any
other caller sees the webhooks whose desks all lie within its own desks (an every-desk webhook
only to every-desk callers). Another caller's webhook outside that is a 404, like any row
outside the scope. Delivery itself (matching events, signing, retries) lives in `tasks.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import check_if_match
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, invalid
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.models import Delivery, Desk, DeskKind, Event, Webhook
from app.webhooks import dispatch, signing, ssrf
from app.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookUpdate

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class UrlPolicy:
    """What a webhook URL may be: the SSRF allow-list and whether http is permitted."""

    allow: ssrf.AllowList
    allow_http: bool = False

    @classmethod
    def of(cls, settings: Settings) -> UrlPolicy:
        return _policy(settings.webhook_allow_hosts, settings.webhook_allow_http)


@lru_cache(maxsize=8)
def _policy(allow_hosts: str, allow_http: bool) -> UrlPolicy:
    return UrlPolicy(ssrf.parse_allow(allow_hosts), allow_http)


def visible(stmt: S, scope: DeskScope) -> S:
    """Restrict `stmt` (over webhooks) to those the caller may see."""
    if scope.all_desks:
        return stmt
    assert scope.desk_ids is not None
    return stmt.where(Webhook.desk_ids.is_not(None),
                      Webhook.desk_ids.contained_by(sorted(scope.desk_ids)))


def check_url(url: str, policy: UrlPolicy, loc: list[str | int]) -> str:
    reason = ssrf.check_url(url, policy.allow, policy.allow_http)
    if reason is not None:
        raise invalid(loc, reason, "url_refused")
    return url


async def _desks(session: AsyncSession, scope: DeskScope, desk_ids: list[int] | None, *,
                 sent: bool, sandbox: bool) -> list[int] | None:
    """The desks a webhook hears: as sent (each within the scope, else 404), the caller's own
    when omitted, every desk (None) only for a caller that sees every desk. A sandbox webhook
    (made by a sandbox token) hears sandbox desks only, whoever changes it."""
    loc: list[str | int] = ["body", "desk_ids"]
    if desk_ids is None:
        if sandbox and sent:
            raise invalid(loc, "a sandbox webhook hears sandbox desks only; name them")
        if scope.all_desks:
            return None
        if sent:
            raise invalid(loc, "only a caller that sees every desk may subscribe to every "
                               "desk; name the desks")
        if not scope.desk_ids:
            raise invalid(loc, "the caller has no desks to subscribe to")
        return sorted(scope.desk_ids)
    for desk_id in desk_ids:
        scope.check_desk(desk_id)
    kinds = {desk_id: kind for desk_id, kind in await session.execute(
        select(Desk.id, Desk.kind).where(Desk.id.in_(desk_ids)))}
    for index, desk_id in enumerate(desk_ids):
        if desk_id not in kinds:
            raise NotFound(f"Desk {desk_id} does not exist.")
        if sandbox and kinds[desk_id] != DeskKind.sandbox:
            raise invalid([*loc, index], f"desk {desk_id} is a {kinds[desk_id]} desk; a sandbox "
                                         "webhook hears sandbox desks only")
    return sorted(set(desk_ids))


async def create(session: AsyncSession, scope: DeskScope, payload: WebhookCreate,
                 policy: UrlPolicy) -> Webhook:
    """Subscribe. The new secret is on the returned row (`secret`); show it only this once."""
    check_url(payload.url, policy, ["body", "url"])
    desk_ids = await _desks(session, scope, payload.desk_ids,
                            sent="desk_ids" in payload.model_fields_set,
                            sandbox=scope.principal.sandbox)
    webhook = Webhook(
        url=payload.url, events=[e.value for e in payload.events], desk_ids=desk_ids,
        description=payload.description, include_internal=payload.include_internal,
        sandbox=scope.principal.sandbox, owner_kind=scope.principal.kind,
        owner_id=scope.principal.id,
        secret=signing.new_secret(),
    )
    session.add(webhook)
    await session.flush()
    await session.refresh(webhook)
    return webhook


async def get(session: AsyncSession, scope: DeskScope, webhook_id: int, *,
              for_update: bool = False) -> Webhook:
    stmt = visible(select(Webhook).where(Webhook.id == webhook_id), scope)
    if for_update:
        stmt = stmt.with_for_update()
    webhook = await session.scalar(stmt.execution_options(populate_existing=True))
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} does not exist.")
    return webhook


async def list_webhooks(session: AsyncSession, scope: DeskScope, params: PageParams
                        ) -> tuple[list[Webhook], str | None]:
    return await paginate(session, visible(select(Webhook), scope), params, [SortKey(Webhook.id)])


async def update(session: AsyncSession, scope: DeskScope, webhook_id: int,
                 payload: WebhookUpdate, policy: UrlPolicy, if_match: str | None) -> Webhook:
    webhook = await get(session, scope, webhook_id, for_update=True)
    check_if_match(if_match, webhook.version)
    sent = payload.model_fields_set
    for name in ("url", "events", "description", "include_internal"):
        if name in sent and getattr(payload, name) is None:
            raise invalid(["body", name], "cannot be null")
    if payload.url is not None:
        webhook.url = check_url(payload.url, policy, ["body", "url"])
    if payload.events is not None:
        webhook.events = [e.value for e in payload.events]
    if "desk_ids" in sent:
        webhook.desk_ids = await _desks(session, scope, payload.desk_ids, sent=True,
                                        sandbox=webhook.sandbox)
    if payload.description is not None:
        webhook.description = payload.description
    if payload.include_internal is not None:
        webhook.include_internal = payload.include_internal
    return await _bump(session, webhook)


async def _bump(session: AsyncSession, webhook: Webhook) -> Webhook:
    webhook.version = webhook.version + 1
    await session.flush()
    await session.refresh(webhook)
    return webhook


async def remove(session: AsyncSession, scope: DeskScope, webhook_id: int) -> None:
    """Unsubscribe (its delivery log goes with it)."""
    webhook = await get(session, scope, webhook_id, for_update=True)
    await session.execute(delete(Webhook).where(Webhook.id == webhook.id))


async def rotate_secret(session: AsyncSession, scope: DeskScope, webhook_id: int, *,
                        now: datetime | None = None) -> Webhook:
    """A new secret; the current one keeps signing next to it for `ROTATION_OVERLAP`, so a
    receiver can switch without dropping a delivery. A secret from an earlier rotation is
    dropped at once."""
    webhook = await get(session, scope, webhook_id, for_update=True)
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = (now or utcnow()) + signing.ROTATION_OVERLAP
    webhook.secret = signing.new_secret()
    return await _bump(session, webhook)


async def enable(session: AsyncSession, scope: DeskScope, webhook_id: int) -> Webhook:
    """Resume deliveries after the webhook was disabled (by sustained failure)."""
    webhook = await get(session, scope, webhook_id, for_update=True)
    webhook.state = "active"
    webhook.disabled_reason = None
    webhook.failure_count = 0
    webhook.failing_since = None
    return await _bump(session, webhook)


# --- the delivery log -----------------------------------------------------------------------

async def read_deliveries(session: AsyncSession, deliveries: list[Delivery]) -> list[DeliveryRead]:
    """Deliveries with their event types, in one query whatever their number."""
    event_ids = {d.event_id for d in deliveries}
    types: dict[int, str] = {}
    if event_ids:
        rows = await session.execute(select(Event.id, Event.type).where(Event.id.in_(event_ids)))
        types = {event_id: event_type for event_id, event_type in rows}
    return [read_delivery(d, types.get(d.event_id, "")) for d in deliveries]


def read_delivery(delivery: Delivery, event_type: str) -> DeliveryRead:
    fields = {name: getattr(delivery, name) for name in DeliveryRead.model_fields
              if name != "event_type"}
    return DeliveryRead.model_validate({**fields, "event_type": event_type})


async def list_deliveries(session: AsyncSession, scope: DeskScope, webhook_id: int,
                          params: PageParams, *, status: str | None = None
                          ) -> tuple[list[Delivery], str | None]:
    """Newest first."""
    await get(session, scope, webhook_id)
    stmt = select(Delivery).where(Delivery.webhook_id == webhook_id)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    return await paginate(session, stmt, params, [SortKey(Delivery.id, descending=True)])


async def redeliver(session: AsyncSession, scope: DeskScope, webhook_id: int,
                    delivery_id: int) -> tuple[Delivery, str]:
    """Send a delivery again, whatever its outcome so far: it is due now, once more."""
    webhook = await get(session, scope, webhook_id)
    row = (await session.execute(
        select(Delivery, Event.type).join(Event, Event.id == Delivery.event_id)
        .where(Delivery.id == delivery_id, Delivery.webhook_id == webhook.id)
        .with_for_update(of=Delivery).execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"Delivery {delivery_id} does not exist.")
    delivery, event_type = row
    if webhook.state != "active":
        raise Conflict(f"Webhook {webhook.id} is disabled; enable it before redelivering.")
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    await session.flush()
    dispatch.defer_delivery(session, delivery.id, delivery.attempts, webhook.id,
                            job_id=dispatch.redeliver_job_id(delivery.id, delivery.attempts))
    return delivery, event_type
