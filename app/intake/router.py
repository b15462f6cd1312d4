"""Email in by webhook: providers that forward the raw RFC 822 message. Also the attachments
that email brings, listed per ticket and downloaded one by one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response, status

from app.core.boundary import api_router
from app.core.db import Session
from app.core.errors import AppError, invalid, problem_responses
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import InboundScope, TicketsRead
from app.intake import attachments, service
from app.intake.schemas import AttachmentRead, InboundEmailResult

router = api_router(prefix="/inbound", tags=["inbound"])
attachments_router = api_router(tags=["attachments"])

EMAIL_MEDIA_TYPES = {"message/rfc822", "text/plain", "application/octet-stream"}
EMAIL_BODY = {"requestBody": {"required": True, "content": {
    "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
    "text/plain": {"schema": {"type": "string"}},
}}}


class UnsupportedMediaType(AppError):
    status, slug = 415, "unsupported-media-type"


@router.post(
    "/email", status_code=status.HTTP_201_CREATED, response_model=InboundEmailResult,
    openapi_extra=EMAIL_BODY,
    responses={200: {"model": InboundEmailResult,
                     "description": "Threaded onto a ticket, a Message-ID already seen, or "
                                    "ignored (auto-reply, bounce, bulk: `ticket_id` null)"},
               **problem_responses(409, 415)},
)
async def inbound_email(request: Request, session: Session, scope: InboundScope,
                        response: Response) -> InboundEmailResult:
    """Take a raw RFC 822 message (`Content-Type: message/rfc822`, or `text/plain`).

    The desk is the one whose `inbound_addresses` holds a recipient (To, Cc, Delivered-To,
    X-Original-To) within the token's desks; none → 422; an archived desk → 409. 201: a ticket
    was created (`Location`); 200: the message threaded onto a ticket, repeated a Message-ID
    already taken (same `ticket_id`), or was ignored as machine-written (`ticket_id` null).
    `X-Switchboard-Outcome` says which: `created`, `threaded`, `duplicate` or `ignored`.

    The text is stored as plain text, as for web forms: an HTML body is converted and every
    markup removed (entity-encoded tags included), and so are the subject's, the sender name's
    and the file names' (which also lose paths and control characters).
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in EMAIL_MEDIA_TYPES:
        raise UnsupportedMediaType("Send the raw message as message/rfc822 (or text/plain).")
    raw = await request.body()
    if not raw.strip():
        raise invalid(["body"], "the message is empty")
    result = await service.receive(
        session, raw, recipients=None, scope=scope,
        max_attachment_bytes=request.app.state.settings.max_attachment_bytes)
    if result.created:
        response.headers["Location"] = f"/v1/tickets/{result.ticket_id}"
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["X-Switchboard-Outcome"] = result.outcome
    return InboundEmailResult(ticket_id=result.ticket_id, created=result.created)


@attachments_router.get("/tickets/{ticket_id}/attachments", response_model=Page[AttachmentRead])
async def list_attachments(ticket_id: PathId, session: Session, scope: TicketsRead,
                           page: Pagination) -> Page[AttachmentRead]:
    """The files email brought to the ticket, oldest first (without their content)."""
    rows, cursor = await attachments.list_for_ticket(session, scope, ticket_id, page)
    return Page(items=[AttachmentRead.model_validate(a) for a in rows], next_cursor=cursor)


@attachments_router.get(
    "/attachments/{attachment_id}", response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}},
                     "description": "The file, as a download"}})
async def download_attachment(attachment_id: PathId, session: Session,
                              scope: TicketsRead) -> Response:
    """The file itself, served as a download in its own media type (never rendered inline)."""
    found = await attachments.get(session, scope, attachment_id, content=True)
    ascii_name = found.filename.encode("ascii", "replace").decode().replace('"', "'")
    return Response(found.content, media_type=found.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                               f"filename*=UTF-8''{quote(found.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    })
