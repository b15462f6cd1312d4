"""Webhook jobs of the arq worker: fan-out from the outbox, signed delivery, and the sweep that
re-enqueues whatever a lost job left behind (Redis down at commit time, a killed worker)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import cron
from arq.worker import func
from sqlalchemy import select

from app.core import jobs
from app.core.db import utcnow
from app.core.outbox import DISPATCH_JOB
from app.models import Delivery, Event, Webhook
from app.webhooks.delivery import deliver
from app.webhooks.dispatch import deliver_job_id, dispatch_events

log = logging.getLogger(__name__)

# A due delivery this much overdue has lost its job (or its worker); the sweep sends it again.
OVERDUE = timedelta(seconds=1)
SWEEP_LIMIT = 1000
SWEEP_EVERY_SECONDS = 5


async def sweep_webhooks(ctx: dict[str, Any]) -> int:
    """Enqueue the dispatcher if any event is undispatched, and `deliver` for every overdue
    pending delivery of an active webhook; job ids make a job still queued or running a no-op."""
    now = ctx.get("clock", utcnow)()
    async with jobs.job_session(ctx) as session:
        if await session.scalar(select(Event.id).where(Event.dispatched_at.is_(None)).limit(1)):
            jobs.defer(session, DISPATCH_JOB, job_id=DISPATCH_JOB)
        overdue = (await session.execute(
            select(Delivery.id, Delivery.attempts, Delivery.webhook_id)
            .join(Webhook, Webhook.id == Delivery.webhook_id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now - OVERDUE,
                   Webhook.state == "active")
            .order_by(Delivery.next_attempt_at).limit(SWEEP_LIMIT))).all()
        for row in overdue:
            jobs.defer(session, "deliver", job_id=deliver_job_id(row.id, row.attempts),
                       delivery_id=row.id, webhook_id=row.webhook_id)
    if overdue:
        log.info("re-enqueued %d overdue webhook deliveries", len(overdue))
    return len(overdue)


FUNCTIONS: list[Any] = [
    # Fixed job id and no kept result: a kick while one is queued is a no-op, and the id is
    # free again as soon as a run ends.
    func(dispatch_events, name=DISPATCH_JOB, keep_result=0, timeout=600),
    # A slot wait (`Retry`) is not a delivery attempt; attempts are counted in the row.
    func(deliver, name="deliver", keep_result=0, timeout=60, max_tries=100),
]
CRON_JOBS: list[Any] = [
    cron(sweep_webhooks, second=set(range(0, 60, SWEEP_EVERY_SECONDS)),
         run_at_startup=True, keep_result=0, timeout=120),
]
