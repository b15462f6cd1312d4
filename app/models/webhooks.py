from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class Webhook(TimestampMixin, Base):
    """A REST-hook subscription: which events of which desks go to which URL, signed how."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'disabled')", name="state"),
        Index("ix_webhooks_active", "id", postgresql_where=text("state = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Event types, or ["*"] for every type.
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # The desks it hears from; None = every desk (only for a caller whose scope is every desk).
    desk_ids: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    include_internal: Mapped[bool] = mapped_column(default=False, server_default="false")
    sandbox: Mapped[bool] = mapped_column(default=False, server_default="false")
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None]
    secret: Mapped[str] = mapped_column(String(128))
    # After a rotation the old secret keeps signing (a second `v1,` signature) until this time.
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failure_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Start of the current run of consecutive failures (None while deliveries succeed).
    failing_since: Mapped[datetime | None]
    # Bumped by changes of the subscription itself (PATCH, rotate, enable), not by delivery
    # bookkeeping, so an `If-Match` is not made stale by a failed delivery.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Delivery(Base):
    """One event for one webhook: attempted until it succeeds or its schedule runs out."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_deliveries_webhook_id", "webhook_id", "id"),
        Index("ix_deliveries_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # first bytes only
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
