"""Email in: every message received (dedupe, threading, the untrimmed text) and attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class InboundMessage(Base):
    """One message per (desk, Message-ID): what became of it, and its full text.

    `sent` rows are messages we sent ourselves, kept so that replies to them thread by header.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("desk_id", "message_id"),
        CheckConstraint("outcome IN ('created', 'threaded', 'ignored', 'sent')", name="outcome"),
        Index("ix_inbound_messages_ticket_id", "ticket_id"),
        Index("ix_inbound_messages_comment_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"))
    from_address: Mapped[str] = mapped_column(String(320), default="", server_default="")
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    # The whole text as received, before the quoted reply was trimmed.
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Attachment(Base):
    """A file that came with an email: on the ticket (`comment_id` null: the first message) or
    on the comment a reply became."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_ticket_id", "ticket_id", "id"),
        Index("ix_attachments_comment_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
