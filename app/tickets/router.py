from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.enums import Priority, TicketStatus
from app.core.errors import invalid, problem_responses
from app.core.ids import PathId, QueryId
from app.core.pagination import Page, Pagination
from app.core.principal import TicketsRead, TicketsWrite
from app.core.text import NUL, NUL_MESSAGE, Text
from app.core.timestamps import in_utc
from app.events import service as events
from app.events.schemas import EventRead
from app.tickets import query, service
from app.tickets.query import DEFAULT_EXPORT_COLUMNS, EXPORT_COLUMNS, TicketFilters
from app.tickets.schemas import (
    Board,
    CommentCreate,
    CommentRead,
    Tag,
    TicketCreate,
    TicketRead,
    TicketSort,
    TicketTransfer,
    TicketUpdate,
)
from app.views import service as views

router = api_router(prefix="/tickets", tags=["tickets"])

CUSTOM_FIELD_PREFIX = "custom_fields."


def ticket_filters(
    request: Request,
    desk_id: QueryId | None = None,
    status: Annotated[list[TicketStatus], Query(description="Repeat for several.")] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    assignee_id: QueryId | None = None,
    team_id: QueryId | None = None,
    organization_id: QueryId | None = None,
    requester_id: QueryId | None = None,
    tag: Annotated[list[Tag], Query(description="Tickets carrying every tag given "
                                    "(normalised like stored tags).")] = [],  # noqa: B006
    q: Annotated[Text | None, Query(max_length=500, description="Full-text search over subject, "
                                   "description and comments; ranked unless `sort` is given.")]
    = None,
    created_after: datetime | None = None,
    updated_after: datetime | None = None,
) -> TicketFilters:
    """Also `custom_fields.KEY=value` (any number of them)."""
    custom = {k.removeprefix(CUSTOM_FIELD_PREFIX): v for k, v in request.query_params.items()
              if k.startswith(CUSTOM_FIELD_PREFIX)}
    for loc, moment in (("created_after", created_after), ("updated_after", updated_after)):
        if moment is not None and moment.tzinfo is None:
            raise invalid(["query", loc], "needs a time zone offset (RFC 3339)")
        if moment is not None:
            try:
                in_utc(moment)
            except ValueError as exc:
                raise invalid(["query", loc], str(exc)) from exc
    for key, value in custom.items():
        if NUL in key or NUL in value:  # here, not mid-way through a streamed export
            raise invalid(["query", CUSTOM_FIELD_PREFIX + key], NUL_MESSAGE, "string_nul")
    return TicketFilters(desk_id=desk_id, status=status, priority=priority,
                         assignee_id=assignee_id, team_id=team_id,
                         organization_id=organization_id, requester_id=requester_id, tag=tag,
                         q=q or None, created_after=created_after, updated_after=updated_after,
                         custom_fields=custom)


Filters = Annotated[TicketFilters, Depends(ticket_filters)]
Sort = Annotated[TicketSort | None, Query(description="Default `-created_at`; with `q`, "
                                                      "relevance.")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketRead,
             responses=problem_responses(409))
async def create_ticket(payload: TicketCreate, session: Session, scope: TicketsWrite,
                        response: Response) -> TicketRead:
    ticket = await service.create(session, scope, payload)
    set_created(response, f"/v1/tickets/{ticket.id}", ticket.version)
    return service.read(ticket)


@router.get("", response_model=Page[TicketRead])
async def list_tickets(session: Session, scope: TicketsRead, page: Pagination, filters: Filters,
                       sort: Sort = None) -> Page[TicketRead]:
    tickets, cursor = await query.list_tickets(session, scope, filters, sort, page)
    return Page(items=[service.read(t) for t in tickets], next_cursor=cursor)


@router.get("/board", response_model=Board)
async def ticket_board(session: Session, scope: TicketsRead, desk_id: QueryId,
                       cards: Annotated[int, Query(ge=0, le=50,
                                                   description="Cards per column.")] = 10) -> Board:
    """Per status, in lifecycle order: how many tickets and the newest cards (a kanban)."""
    return await query.board(session, scope, desk_id, cards)


@router.get("/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "Streamed CSV"}})
async def export_tickets(
    request: Request, session: Session, scope: TicketsRead, filters: Filters, sort: Sort = None,
    columns: Annotated[str | None, Query(description="Comma-separated; default: a view's or "
                                         + ",".join(DEFAULT_EXPORT_COLUMNS))] = None,
    view_id: Annotated[QueryId | None, Query(description="Use a saved view's filters (the "
                                                         "other filters are ignored), columns "
                                                         "and sort (unless `columns` or `sort` "
                                                         "are given).")] = None,
) -> StreamingResponse:
    """The same filters as the list, streamed as CSV (constant memory however many rows)."""
    chosen = list(DEFAULT_EXPORT_COLUMNS)
    if view_id is not None:
        view = await views.get(session, scope, view_id)
        # The view's filters; its columns and sort unless the request names its own.
        filters, sort, chosen = (views.filters_of(view), sort or TicketSort(view.sort),
                                 list(view.columns))
    if columns:
        chosen = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in chosen if c not in EXPORT_COLUMNS]
        if unknown or not chosen:
            raise invalid(["query", "columns"], f"unknown columns: {', '.join(unknown)}; "
                          f"choose from {', '.join(EXPORT_COLUMNS)}")
    if filters.desk_id is not None:
        scope.check_desk(filters.desk_id)
    rows = query.export_csv(request.app.state.sessionmaker, scope, filters, sort, chosen)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="tickets.csv"'})


@router.get("/{ticket_id}", response_model=TicketRead)
async def get_ticket(ticket_id: PathId, session: Session, scope: TicketsRead,
                     response: Response) -> TicketRead:
    ticket = await service.get(session, scope, ticket_id)
    set_etag(response, ticket.version)
    return service.read(ticket)


@router.patch("/{ticket_id}", response_model=TicketRead, responses=problem_responses(409, 412))
async def update_ticket(ticket_id: PathId, payload: TicketUpdate, session: Session,
                        scope: TicketsWrite, response: Response,
                        if_match: IfMatch = None) -> TicketRead:
    ticket = await service.update(session, scope, ticket_id, payload, if_match)
    set_etag(response, ticket.version)
    return service.read(ticket)


@router.post("/{ticket_id}/transfer", response_model=TicketRead,
             responses=problem_responses(409))
async def transfer_ticket(ticket_id: PathId, payload: TicketTransfer, session: Session,
                          scope: TicketsWrite) -> TicketRead:
    """Move to another desk: new number there, requester found or created there by email."""
    return service.read(await service.transfer(session, scope, ticket_id, payload.desk_id))


@router.post("/{ticket_id}/comments", status_code=status.HTTP_201_CREATED,
             response_model=CommentRead, responses=problem_responses(409))
async def add_comment(ticket_id: PathId, payload: CommentCreate, session: Session,
                      scope: TicketsWrite, response: Response) -> CommentRead:
    ticket = await service.get(session, scope, ticket_id, for_update=True)
    comment = await service.add_comment(session, scope, ticket, payload)
    response.headers["Location"] = f"/v1/tickets/{ticket_id}/comments"
    return service.read_comment(comment)


@router.get("/{ticket_id}/comments", response_model=Page[CommentRead])
async def list_comments(ticket_id: PathId, session: Session, scope: TicketsRead,
                        page: Pagination, public: bool | None = None) -> Page[CommentRead]:
    """Oldest first. `public=true`: replies only; `public=false`: internal notes only."""
    comments, cursor = await service.list_comments(session, scope, ticket_id, page, public=public)
    return Page(items=[service.read_comment(c) for c in comments], next_cursor=cursor)


@router.get("/{ticket_id}/events", response_model=Page[EventRead])
async def ticket_history(ticket_id: PathId, session: Session, scope: TicketsRead,
                         page: Pagination) -> Page[EventRead]:
    """The ticket's history, oldest first, each change with `{field: [old, new]}`."""
    await service.get(session, scope, ticket_id)
    rows, cursor = await events.history(session, "ticket", ticket_id, page)
    return Page(items=[EventRead.model_validate(e) for e in rows], next_cursor=cursor)
