from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class FieldEntity(StrEnum):
    organization = "organization"
    customer = "customer"
    ticket = "ticket"


class FieldDefinition(Base):
    """A desk's custom field for one kind of record; `spec` is a `core.fields.FieldSpec`."""

    __tablename__ = "field_definitions"
    __table_args__ = (
        UniqueConstraint("desk_id", "entity", "key"),
        CheckConstraint("entity IN ('organization', 'customer', 'ticket')", name="entity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
