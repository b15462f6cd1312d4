"""Attachments of email: stored with the ticket (or the comment a reply became), listed and
downloaded through the ticket's desk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select
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


COPY_COLUMNS = ["desk_id", "ticket_id", "comment_id", "filename", "content_type", "size",
                "content"]
COPY_CHUNK = 256 * 1024  # bytes of a file read at a time (sent as twice as many hex digits)


async def store(session: AsyncSession, ticket: Ticket, comment: Comment | None,
                files: Sequence[ParsedAttachment], max_bytes: int) -> list[ParsedAttachment]:
    """Store the files up to `max_bytes`; return those refused.

    One `COPY … FROM STDIN` on the session's connection (so in its transaction), fed a chunk
    of a file at a time: an INSERT would hold each file's bytes and the driver's encoded copy
    of them in memory at once (test_large_message_keeps_its_attachment_in_bounded_memory)."""
    kept, refused = split(files, max_bytes)
    if kept:
        connection = await (await session.connection()).get_raw_connection()
        await connection.driver_connection.copy_to_table(
            Attachment.__tablename__, columns=COPY_COLUMNS, format="text",
            source=_copy_rows(ticket, comment, kept))
    return refused


async def _copy_rows(ticket: Ticket, comment: Comment | None,
                     files: Sequence[ParsedAttachment]) -> AsyncIterator[bytes]:
    """The rows in COPY's text format: tab-separated, `\\N` for null, bytea as `\\x` hex."""
    comment_id = str(comment.id) if comment is not None else "\\N"
    for f in files:
        fields = [str(ticket.desk_id), str(ticket.id), comment_id, _copy_text(f.filename),
                  _copy_text(f.content_type), str(f.size)]
        yield ("\t".join(fields) + "\t\\\\x").encode()
        for chunk in f.chunks(COPY_CHUNK):
            yield chunk.hex().encode()
        yield b"\n"


def _copy_text(value: str) -> str:
    """A text field of COPY's text format: backslash, tab and line breaks escaped."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


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
