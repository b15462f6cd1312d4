"""Webhook subscriptions (REST hooks), samples and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response, status

from app.core import idempotency
from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import NotFound, problem_responses
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import WebhooksRead, WebhooksWrite
from app.events.schemas import EventRead
from app.models import Webhook
from app.webhooks import samples, service
from app.webhooks.schemas import (
    EVENT_TYPES,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from app.webhooks.service import UrlPolicy

router = api_router(prefix="/webhooks", tags=["webhooks"])


def url_policy(request: Request) -> UrlPolicy:
    return UrlPolicy.of(request.app.state.settings)


Policy = Annotated[UrlPolicy, Depends(url_policy)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


def read(webhook: Webhook) -> WebhookRead:
    return WebhookRead.model_validate(webhook)


def read_with_secret(webhook: Webhook) -> WebhookCreated:
    return WebhookCreated.model_validate(webhook)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def subscribe(payload: WebhookCreate, session: Session, scope: WebhooksWrite,
                    policy: Policy, request: Request, response: Response) -> WebhookCreated:
    """Subscribe a URL to events (a REST hook). The answer carries the signing `secret`, the
    only time it is shown. Deliveries are signed per Standard Webhooks (`webhook-id`,
    `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). The secret is never
    stored for an `Idempotency-Key` replay: a retry with the same key subscribes again."""
    idempotency.forget(request)
    webhook = await service.create(session, scope, payload, policy)
    set_created(response, f"/v1/webhooks/{webhook.id}", webhook.version)
    return read_with_secret(webhook)


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(session: Session, scope: WebhooksRead,
                        page: Pagination) -> Page[WebhookRead]:
    """The webhooks whose desks all lie within the caller's desks (every-desk callers: all)."""
    rows, cursor = await service.list_webhooks(session, scope, page)
    return Page(items=[read(w) for w in rows], next_cursor=cursor)


@router.get("/samples/{event_type}", response_model=EventRead,
            responses={200: {"description": "A sample envelope, as a delivery's body."}})
async def sample_event(
    scope: WebhooksRead,
    event_type: Annotated[str, Path(description="An event type.", examples=["ticket.created"],
                                    max_length=64)],
) -> dict[str, Any]:
    """A realistic sample envelope of an event type, shaped exactly like a delivery's body (for
    platforms that ask for sample data when a hook is set up)."""
    found = samples.sample(event_type)
    if found is None:
        raise NotFound(f"Event type {event_type!r} does not exist; known types: "
                       f"{', '.join(EVENT_TYPES)}.")
    return found


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(webhook_id: PathId, session: Session, scope: WebhooksRead,
                      response: Response) -> WebhookRead:
    webhook = await service.get(session, scope, webhook_id)
    set_etag(response, webhook.version)
    return read(webhook)


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=problem_responses(412))
async def update_webhook(webhook_id: PathId, payload: WebhookUpdate, session: Session,
                         scope: WebhooksWrite, policy: Policy, response: Response,
                         if_match: IfMatch = None) -> WebhookRead:
    webhook = await service.update(session, scope, webhook_id, payload, policy, if_match)
    set_etag(response, webhook.version)
    return read(webhook)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(webhook_id: PathId, session: Session, scope: WebhooksWrite) -> Response:
    """Unsubscribe; the delivery log goes with it."""
    await service.remove(session, scope, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
async def rotate_secret(webhook_id: PathId, session: Session, scope: WebhooksWrite,
                        request: Request, response: Response) -> WebhookCreated:
    """A new signing secret, shown once (never stored for an `Idempotency-Key` replay). For 24
    hours the old one signs too: deliveries carry two `v1,` signatures, so receivers can switch
    without losing one."""
    idempotency.forget(request)
    webhook = await service.rotate_secret(session, scope, webhook_id)
    set_etag(response, webhook.version)
    return read_with_secret(webhook)


@router.post("/{webhook_id}/enable", response_model=WebhookRead)
async def enable_webhook(webhook_id: PathId, session: Session, scope: WebhooksWrite,
                         response: Response) -> WebhookRead:
    """Resume a webhook disabled after sustained failure (its failure count starts again)."""
    webhook = await service.enable(session, scope, webhook_id)
    set_etag(response, webhook.version)
    return read(webhook)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: PathId, session: Session, scope: WebhooksRead, page: Pagination,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this state.")]
    = None,
) -> Page[DeliveryRead]:
    """The delivery log, newest first: status, attempts, the last response (status and first
    bytes), error and timings."""
    rows, cursor = await service.list_deliveries(session, scope, webhook_id, page, status=status)
    return Page(items=await service.read_deliveries(session, rows), next_cursor=cursor)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead,
             responses=problem_responses(409))
async def redeliver(
    webhook_id: PathId, session: Session, scope: WebhooksWrite,
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> DeliveryRead:
    """Send a delivery again now, whether it succeeded or not (409 while the webhook is
    disabled: enable it first)."""
    delivery, event_type = await service.redeliver(session, scope, webhook_id, delivery_id)
    return service.read_delivery(delivery, event_type)
