"""A ticket's routing runs: `GET /v1/tickets/{id}/routing`."""

from __future__ import annotations

from app.core.routing import api_router

router = api_router(tags=["routing"])
