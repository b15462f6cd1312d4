from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class Customer(TimestampMixin, Base):
    """A person who asks. `email` is stored lower-cased: unique per desk, case-insensitively."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("desk_id", "email"),
        Index("ix_customers_desk_id_id", "desk_id", "id"),
        Index("ix_customers_desk_id_domain", "desk_id", "email_domain"),
        Index("ix_customers_organization_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_domain: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                          server_default=text("'{}'::jsonb"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
