"""A ticket's routing runs: `GET /v1/tickets/{id}/routing`."""

from __future__ import annotations

from app.core.boundary import api_router
from app.core.db import Session
from app.core.ids import PathId
from app.core.pagination import Pagination
from app.core.principal import TicketsRead
from app.routing import runs_service
from app.routing.runs_schemas import RoutingRunRead, RoutingRuns

router = api_router(tags=["routing"])


@router.get("/tickets/{ticket_id}/routing", response_model=RoutingRuns)
async def ticket_routing(ticket_id: PathId, session: Session, scope: TicketsRead,
                         page: Pagination) -> RoutingRuns:
    """The ticket's routing state and its routing runs, oldest first: what matched, what each
    action did (or why it was skipped), how long it took, and the error of a failed try."""
    ticket, runs, cursor = await runs_service.list_runs(session, scope, ticket_id, page)
    return RoutingRuns(ticket_id=ticket.id, routing_state=ticket.routing_state,  # type: ignore[arg-type]
                       items=[RoutingRunRead.model_validate(r) for r in runs], next_cursor=cursor)
