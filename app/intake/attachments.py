"""Attachments of email: stored with the ticket (or the comment a reply became), listed and
downloaded through the ticket's desk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from app.core.errors import NotFound
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.intake.parse import ParsedAttachment
from app.models import Attachment, Comment, Ticket
from app.tickets import service as tickets


def split(files: Sequence[ParsedAttachment], max_bytes: int
          ) -> tuple[list[ParsedAttachment], list[ParsedAttachment]]:
    """(kept, refused): files up to `max_bytes` are kept."""
    return [f for f in files if f.size <= max_bytes], [f for f in files if f.size > max_bytes]


async def store(session: AsyncSession, ticket: Ticket, comment: Comment | None,
                files: Sequence[ParsedAttachment], max_bytes: int) -> list[ParsedAttachment]:
    """Store the files up to `max_bytes` (one INSERT); return those refused."""
    kept, refused = split(files, max_bytes)
    if kept:
        await session.execute(insert(Attachment), [
            {"desk_id": ticket.desk_id, "ticket_id": ticket.id,
             "comment_id": comment.id if comment is not None else None,
             "filename": f.filename, "content_type": f.content_type, "size": f.size,
             "content": f.content} for f in kept])
    return refused


async def list_for_ticket(session: AsyncSession, scope: DeskScope, ticket_id: int,
                          params: PageParams) -> tuple[list[Attachment], str | None]:
    await tickets.get(session, scope, ticket_id)
    stmt = select(Attachment).where(Attachment.ticket_id == ticket_id)
    return await paginate(session, stmt, params, [SortKey(Attachment.id)])


async def get(session: AsyncSession, scope: DeskScope, attachment_id: int, *,
              content: bool = False) -> Attachment:
    """Visible through its ticket's desk (which a transfer may have changed); else 404."""
    stmt = (select(Attachment).join(Ticket, Ticket.id == Attachment.ticket_id)
            .where(Attachment.id == attachment_id))
    if content:
        stmt = stmt.options(undefer(Attachment.content))
    found = await session.scalar(scope.filter(stmt, Ticket.desk_id))
    if found is None:
        raise NotFound(f"Attachment {attachment_id} does not exist.")
    return found
