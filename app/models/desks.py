from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class DeskKind(StrEnum):
    standard = "standard"
    staging = "staging"
    sandbox = "sandbox"


class MemberRole(StrEnum):
    manager = "manager"
    agent = "agent"


class Desk(TimestampMixin, Base):
    __tablename__ = "desks"
    __table_args__ = (
        CheckConstraint("kind IN ('standard', 'staging', 'sandbox')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=DeskKind.standard)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                     server_default=text("'{}'::jsonb"))
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class DeskMember(Base):
    """A user or a team granted a role on a desk."""

    __tablename__ = "desk_members"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="user_xor_team"),
        CheckConstraint("role IN ('manager', 'agent')", name="role"),
        UniqueConstraint("desk_id", "user_id"),
        UniqueConstraint("desk_id", "team_id"),
        Index("ix_desk_members_user_id", "user_id"),
        Index("ix_desk_members_team_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
