"""Web forms: definitions (authenticated) and the public endpoints that render and submit them."""

from __future__ import annotations

from app.core.routing import api_router

router = api_router(prefix="/forms", tags=["forms"])
public_router = api_router(authenticated=False, prefix="/public", tags=["public"])
