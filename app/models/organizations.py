from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin


class Organization(TimestampMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        Index("ix_organizations_desk_id_name", "desk_id", func.lower(text("name")), "id"),
        Index("ix_organizations_desk_id_id", "desk_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    shared_tickets: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                          server_default=text("'{}'::jsonb"))
    routing_actions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb"))
    # Who saved `routing_actions`, as on `routing_rules` (see `RoutingRule`).
    actions_saved_by_kind: Mapped[str | None] = mapped_column(String(16))
    actions_saved_by_id: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    domain_rows: Mapped[list[OrganizationDomain]] = relationship(
        lazy="raise", order_by="OrganizationDomain.domain", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def domains(self) -> list[str]:
        return [d.domain for d in self.domain_rows]


class OrganizationDomain(Base):
    """A domain belongs to at most one organization per desk (the unique key enforces it)."""

    __tablename__ = "organization_domains"
    __table_args__ = (
        UniqueConstraint("desk_id", "domain"),
        Index("ix_organization_domains_organization_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253))
