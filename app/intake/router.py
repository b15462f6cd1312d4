"""Email in by webhook: providers that forward the raw RFC 822 message."""

from __future__ import annotations

from app.core.routing import api_router

router = api_router(prefix="/inbound", tags=["inbound"])
