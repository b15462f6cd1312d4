"""Webhook subscriptions (REST hooks), samples and the delivery log."""

from __future__ import annotations

from app.core.routing import api_router

router = api_router(prefix="/webhooks", tags=["webhooks"])
