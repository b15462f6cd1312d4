from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Event(Base):
    """Outbox, history, audit and feed in one: written in the transaction of the change."""

    __tablename__ = "events"
    __table_args__ = (
        # The feed's order: (desk_id,) txid, id.
        Index("ix_events_desk_id_txid_id", "desk_id", "txid", "id"),
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_subject", "subject_type", "subject_id", "id"),
        Index("ix_events_undispatched", "id", postgresql_where=text("dispatched_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[dict[str, Any]] = mapped_column(JSONB)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    dispatched_at: Mapped[datetime | None]
    # The writing transaction's id: the feed shows an event only once its transaction and
    # every older one have ended, and orders by (txid, id), so every event still to come sorts
    # after all those shown and `after=` never skips one.
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
