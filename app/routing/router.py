"""Routing rules: CRUD, reordering and the dry run."""

from __future__ import annotations

from app.core.routing import api_router

router = api_router(prefix="/routing-rules", tags=["routing"])
