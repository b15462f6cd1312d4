from __future__ import annotations

from fastapi import Response, status

from app.core.boundary import api_router
from app.core.db import Session
from app.core.ids import PathId, QueryId
from app.core.pagination import Page, Pagination
from app.core.principal import TicketsRead, TicketsWrite
from app.tickets import query
from app.tickets import service as tickets
from app.tickets.schemas import TicketRead, TicketSort
from app.views import service
from app.views.schemas import ViewCreate, ViewRead

router = api_router(prefix="/views", tags=["views"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ViewRead)
async def create_view(payload: ViewCreate, session: Session, scope: TicketsWrite,
                      response: Response) -> ViewRead:
    view = await service.create(session, scope, payload)
    response.headers["Location"] = f"/v1/views/{view.id}"
    return ViewRead.model_validate(view)


@router.get("", response_model=Page[ViewRead])
async def list_views(session: Session, scope: TicketsRead, page: Pagination,
                     desk_id: QueryId | None = None) -> Page[ViewRead]:
    views, cursor = await service.list_(session, scope, page, desk_id=desk_id)
    return Page(items=[ViewRead.model_validate(v) for v in views], next_cursor=cursor)


@router.get("/{view_id}", response_model=ViewRead)
async def get_view(view_id: PathId, session: Session, scope: TicketsRead) -> ViewRead:
    return ViewRead.model_validate(await service.get(session, scope, view_id))


@router.delete("/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_view(view_id: PathId, session: Session, scope: TicketsWrite) -> None:
    await service.delete(session, scope, view_id)


@router.get("/{view_id}/tickets", response_model=Page[TicketRead])
async def view_tickets(view_id: PathId, session: Session, scope: TicketsRead,
                       page: Pagination) -> Page[TicketRead]:
    """The view's tickets: its filters and sort."""
    view = await service.get(session, scope, view_id)
    rows, cursor = await query.list_tickets(session, scope, service.filters_of(view),
                                            TicketSort(view.sort), page)
    return Page(items=[tickets.read(t) for t in rows], next_cursor=cursor)
