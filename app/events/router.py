from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.core.boundary import api_router
from app.core.db import Session
from app.core.ids import QueryId
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.core.principal import EventsRead
from app.events import service
from app.events.schemas import EventPage, EventRead

router = api_router(tags=["events"])


@router.get("/events", response_model=EventPage)
async def event_feed(
    session: Session, scope: EventsRead,
    after: Annotated[int, Query(ge=0, le=2**63 - 1,
                                description="The last event id seen (0: from the start).")] = 0,
    types: Annotated[str | None, Query(description="Comma-separated event types.",
                                       examples=["ticket.created,ticket.updated"])] = None,
    desk_id: QueryId | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> EventPage:
    """The incremental feed across the caller's desks, oldest first: an event shows once the
    transaction that wrote it has committed (and every older one has ended), in the order of
    those transactions, so resuming with `after` = `next_cursor` never skips one."""
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    rows = await service.feed(session, scope, after=after, limit=limit, types=wanted,
                              desk_id=desk_id)
    return EventPage(items=[EventRead.model_validate(e) for e in rows],
                     next_cursor=str(rows[-1].id) if rows else None)
