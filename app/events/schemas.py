from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.outbox import EventType


class EventRead(BaseModel):
    """The envelope of the feed, of a ticket's history and of every webhook body."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Unique; pass the last one seen as `after`. The feed runs in "
                                "commit-safe order (by writing transaction, then id), so ids "
                                "of different changes need not increase.")
    type: EventType = Field(examples=["ticket.updated"])
    desk_id: int | None
    created_at: datetime
    actor: dict[str, Any] = Field(examples=[{"kind": "user", "id": 3, "name": "Ana"}])
    data: dict[str, Any] = Field(description="The resource as the API returns it.")
    changes: dict[str, list[Any]] | None = Field(
        None, description="`{field: [old, new]}` on update events.")


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None = Field(description="The last id returned: pass it as `after`.")
