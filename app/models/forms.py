from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class Form(TimestampMixin, Base):
    """A web form. `fields` are the current version's (`app.forms.schemas.FormField` dicts);
    `version` counts field versions a published form went through, `revision` every change
    (the ETag)."""

    __tablename__ = "forms"
    __table_args__ = (
        UniqueConstraint("slug"),
        CheckConstraint("kind IN ('ticket', 'survey')", name="kind"),
        Index("ix_forms_desk_id", "desk_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16), default="ticket", server_default="ticket")
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                         server_default=text("'[]'::jsonb"))
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": revision}


class FormVersion(Base):
    """The fields of every version a form was published with: a submission's version can be
    rendered later, whatever the form became."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FormSubmission(Base):
    """The answers to one version of a form, as submitted (cleaned, plain text)."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        Index("ix_form_submissions_desk_id_form_id", "desk_id", "form_id", "id"),
        Index("ix_form_submissions_ticket_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # The ticket it opened (ticket forms); deleted with it, so a desk reset leaves no answers.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Keyed hash of the client address: abuse can be traced without keeping the address.
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SurveyResponse(Base):
    """A customer's satisfaction rating of a solved ticket: one per ticket."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("ticket_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        Index("ix_survey_responses_desk_id", "desk_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
