from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
PRIORITY_NAME = {v: k for k, v in PRIORITY_RANK.items()}


class Ticket(TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("desk_id", "number"),
        CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')", name="status"),
        CheckConstraint("priority BETWEEN 0 AND 3", name="priority"),
        CheckConstraint("routing_state IN ('pending', 'done', 'failed')", name="routing_state"),
        Index("ix_tickets_desk_id_created_at", "desk_id", "created_at", "id"),
        Index("ix_tickets_desk_id_updated_at", "desk_id", "updated_at", "id"),
        Index("ix_tickets_desk_id_status", "desk_id", "status", "created_at", "id"),
        Index("ix_tickets_desk_id_priority", "desk_id", "priority", "id"),
        Index("ix_tickets_assignee_id", "assignee_id", "created_at", "id"),
        Index("ix_tickets_requester_id", "requester_id"),
        Index("ix_tickets_organization_id", "organization_id"),
        Index("ix_tickets_team_id", "team_id"),
        Index("ix_tickets_search", "search", postgresql_using="gin"),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
        Index("ix_tickets_custom_fields", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
        # the tickets waiting for routing, by desk and age: a routing batch's claim, the sweep
        Index("ix_tickets_routing_pending", "desk_id", "created_at",
              postgresql_where=text("routing_state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(250))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    type: Mapped[str | None] = mapped_column(String(64))
    requester_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list,
                                            server_default=text("'{}'::varchar[]"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                          server_default=text("'{}'::jsonb"))
    due_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    # The web form a submission came through (kept as history: no foreign key).
    form_id: Mapped[int | None] = mapped_column(Integer)
    routing_state: Mapped[str] = mapped_column(String(16), default="pending",
                                               server_default="pending")
    first_responded_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    search: Mapped[Any] = mapped_column(TSVECTOR, deferred=True, deferred_raiseload=True)

    __mapper_args__ = {"version_id_col": version}


class Comment(Base):
    """A public reply or an internal note (`public=false`) on a ticket."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("author_kind IN ('user', 'customer', 'system', 'api_token')",
                        name="author_kind"),
        Index("ix_comments_ticket_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class View(Base):
    """A saved list: filters, columns and sort over a desk's tickets."""

    __tablename__ = "views"
    __table_args__ = (Index("ix_views_desk_id", "desk_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    columns: Mapped[list[str]] = mapped_column(JSONB, default=list)
    sort: Mapped[str] = mapped_column(String(32), default="-created_at")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
