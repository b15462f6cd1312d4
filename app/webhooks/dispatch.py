"""Fan-out from the outbox: every undispatched event becomes one delivery per matching webhook.

`dispatch_events` claims events in id order (`FOR UPDATE SKIP LOCKED`, so any number of workers
share the work), matches them against the active webhooks with the pure `matches`, inserts the
deliveries (`ON CONFLICT DO NOTHING` on (webhook, event): a re-run adds nothing), marks the events
dispatched, commits, and only then enqueues one `deliver` per new delivery. Any transaction that
writes events enqueues one `dispatch_events` after its commit (`core/outbox.py`); the sweep in
`tasks.py` covers a kick that Redis lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import jobs
from app.core.db import utcnow
from app.core.outbox import EventType
from app.models import Delivery, Webhook

log = logging.getLogger(__name__)

BATCH = 500
DISABLED_EVENT = EventType.webhook_disabled


class Subscription(Protocol):
    id: int
    events: list[str]
    desk_ids: list[int] | None
    include_internal: bool
    sandbox: bool


@dataclass(frozen=True)
class Dispatchable:
    """What matching needs to know of an event."""

    id: int
    type: str
    desk_id: int | None
    sandbox_desk: bool = False
    internal: bool = False  # an internal note (`comment.created` with `data.public == false`)
    subject_type: str = ""
    subject_id: int = 0


def matches(hook: Subscription, event: Dispatchable) -> bool:
    """Whether an active webhook hears an event: its type (or `*`), its desk (or every desk),
    internal notes only with `include_internal`, sandbox webhooks only sandbox desks' events,
    and never the event that says the webhook itself was disabled."""
    if event.type not in hook.events and "*" not in hook.events:
        return False
    if hook.desk_ids is not None and event.desk_id not in hook.desk_ids:
        return False
    if event.internal and not hook.include_internal:
        return False
    if hook.sandbox and not event.sandbox_desk:
        return False
    return not (event.type == DISABLED_EVENT and event.subject_type == "webhook"
                and event.subject_id == hook.id)


def fan_out(hooks: Iterable[Subscription], events: Iterable[Dispatchable]) -> list[tuple[int, int]]:
    """Pure: the (webhook id, event id) pairs to deliver."""
    hooks = list(hooks)
    return [(hook.id, event.id) for event in events for hook in hooks if matches(hook, event)]


# Claims a batch of undispatched events and marks them, in one statement; the row locks hold
# until the commit, so a concurrent dispatcher skips them.
_CLAIM = text("""
UPDATE events AS e SET dispatched_at = :now
FROM (SELECT id FROM events WHERE dispatched_at IS NULL ORDER BY id LIMIT :limit
      FOR UPDATE SKIP LOCKED) AS claimed
WHERE e.id = claimed.id
RETURNING e.id, e.type, e.desk_id, e.subject_type, e.subject_id,
          e.type = 'comment.created' AND e.data->'public' = 'false'::jsonb AS internal,
          COALESCE((SELECT d.kind = 'sandbox' FROM desks AS d WHERE d.id = e.desk_id), false)
              AS sandbox_desk
""")


async def claim(session: AsyncSession, now: datetime, limit: int = BATCH) -> list[Dispatchable]:
    rows = (await session.execute(_CLAIM, {"now": now, "limit": limit})).all()
    return [Dispatchable(id=r.id, type=r.type, desk_id=r.desk_id, sandbox_desk=r.sandbox_desk,
                         internal=bool(r.internal), subject_type=r.subject_type,
                         subject_id=r.subject_id) for r in rows]


async def active_webhooks(session: AsyncSession) -> Sequence[Any]:
    stmt = select(Webhook.id, Webhook.events, Webhook.desk_ids, Webhook.include_internal,
                  Webhook.sandbox).where(Webhook.state == "active")
    return (await session.execute(stmt)).all()


async def create_deliveries(session: AsyncSession, pairs: list[tuple[int, int]],
                            now: datetime) -> list[tuple[int, int]]:
    """Insert the deliveries not there yet; (id, webhook id) of the new ones."""
    if not pairs:
        return []
    stmt = (insert(Delivery)
            .values([{"webhook_id": w, "event_id": e, "next_attempt_at": now} for w, e in pairs])
            .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
            .returning(Delivery.id, Delivery.webhook_id))
    return [(row.id, row.webhook_id) for row in (await session.execute(stmt)).all()]


def deliver_job_id(delivery_id: int, attempts: int) -> str:
    """The contract with the API's redeliver: one job per (delivery, attempts made so far)."""
    return f"deliver:{delivery_id}:{attempts}"


def redeliver_job_id(delivery_id: int, attempts: int) -> str:
    """A redeliver's own job: the scheduled retry's job (`deliver_job_id`) may be queued for
    later, and sharing its id would hold the redelivery until then. Whichever of the two runs
    second finds the attempt taken (or the delivery done) and skips."""
    return f"redeliver:{delivery_id}:{attempts}"


def defer_delivery(session: AsyncSession, delivery_id: int, attempts: int,
                   webhook_id: int | None = None, when: datetime | None = None, *,
                   job_id: str | None = None) -> None:
    """Enqueue the delivery's next attempt after the session commits (at `when`, if given).
    `webhook_id`, when known, spares the job a lookup."""
    extra: dict[str, Any] = {"_defer_until": when} if when is not None else {}
    if webhook_id is not None:
        extra["webhook_id"] = webhook_id
    jobs.defer(session, "deliver", job_id=job_id or deliver_job_id(delivery_id, attempts),
               delivery_id=delivery_id, **extra)


async def dispatch_batch(session: AsyncSession, now: datetime, limit: int = BATCH) -> tuple[int, int]:
    """One batch, not committed: (events claimed, deliveries created); their jobs are deferred."""
    events = await claim(session, now, limit)
    if not events:
        return 0, 0
    pairs = fan_out(await active_webhooks(session), events)
    created = await create_deliveries(session, pairs, now)
    for delivery_id, webhook_id in created:
        defer_delivery(session, delivery_id, 0, webhook_id)
    return len(events), len(created)


async def dispatch_events(ctx: dict[str, Any]) -> int:
    """The arq job: dispatch until no undispatched event is left; how many deliveries it made."""
    clock = ctx.get("clock", utcnow)
    made = 0
    while True:
        async with jobs.job_session(ctx) as session:
            claimed, created = await dispatch_batch(session, clock())
        made += created
        if claimed == 0:
            break
    if made:
        log.debug("dispatched %d deliveries", made)
    return made
