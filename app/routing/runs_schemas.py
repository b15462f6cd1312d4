"""What `GET /v1/tickets/{id}/routing` answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AppliedAction(BaseModel):
    desk_id: int = Field(description="The desk whose organization or rule planned it.")
    rule_id: int | None = Field(description="null: the organization's routing actions.")
    type: str = Field(examples=["assign_round_robin"])
    value: Any
    result: Literal["applied", "skipped"]
    detail: str | None = Field(None, description="Why it was skipped, or what it chose "
                                                 "(`assigned user 7`, `comment 12`).",
                               examples=["user 9 is not an agent of desk 2"])


class RoutingRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    desk_id: int = Field(description="The desk the ticket was in when the run ended.")
    attempt: int = Field(description="The job's try (1 unless it was retried).")
    outcome: Literal["done", "failed", "retrying"] = Field(
        description="`retrying`: a transient failure, tried again later; `failed`: given up.")
    matched_rule_ids: list[int] = Field(description="Rules that matched, in order.")
    actions: list[AppliedAction] = Field(description="Every planned action, in order applied.")
    hops: int = Field(description="Moves between desks (at most 3).")
    error: str | None
    duration_ms: float
    created_at: datetime


class RoutingRuns(BaseModel):
    ticket_id: int
    routing_state: Literal["pending", "done", "failed"]
    items: list[RoutingRunRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.")
