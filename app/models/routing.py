from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class RoutingRule(TimestampMixin, Base):
    """Conditions -> actions, evaluated against each new ticket of its desk by `position`."""

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_desk_id_position", "desk_id", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    # {"all": [{field, op, value}, ...], "any": [...]}
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                       server_default=text("'{}'::jsonb"))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                          server_default=text("'[]'::jsonb"))
    stop_processing: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Who saved `actions` (a principal's kind and id; "system" with no id): routing checks a
    # `move_to_desk` again against what that principal may write now. NULL: saved before it
    # was recorded (such a rule moves nothing until its actions are saved again).
    actions_saved_by_kind: Mapped[str | None] = mapped_column(String(16))
    actions_saved_by_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class RoutingRun(Base):
    """One attempt at routing a ticket: what matched, what was done, how long, what failed."""

    __tablename__ = "routing_runs"
    __table_args__ = (Index("ix_routing_runs_ticket_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # "done" | "failed" | "retrying"
    outcome: Mapped[str] = mapped_column(String(16))
    matched_rule_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list,
                                                        server_default=text("'{}'::integer[]"))
    # [{"desk_id", "rule_id" | None, "type", "value", "result"}, ...] in the order applied
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                          server_default=text("'[]'::jsonb"))
    hops: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # when the run was written (the end of its routing), not when its transaction began: a
    # batch routes many tickets in one transaction
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class RoundRobinCursor(Base):
    """Whose turn it is in a team, per desk: the row is locked while a turn is taken, so two
    workers never hand out the same slot."""

    __tablename__ = "round_robin_cursors"

    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"),
                                         primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
