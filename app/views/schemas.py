from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.ids import Id
from app.core.text import Text
from app.tickets.query import DEFAULT_EXPORT_COLUMNS, EXPORT_COLUMNS, TicketFilters
from app.tickets.schemas import TicketSort

ExportColumn = Literal[tuple(EXPORT_COLUMNS)]  # type: ignore[valid-type]


class ViewFilters(TicketFilters):
    """The list filters of `GET /v1/tickets`, minus `desk_id` (the view's own)."""

    desk_id: None = Field(None, exclude=True)


class ViewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "name": "Urgent, unassigned",
         "filters": {"priority": ["urgent"], "status": ["new", "open"]},
         "sort": "-created_at"},
    ]})

    desk_id: Id
    name: Text = Field(min_length=1, max_length=200, examples=["Urgent, unassigned"])
    filters: ViewFilters = Field(default_factory=ViewFilters)
    columns: list[ExportColumn] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DEFAULT_EXPORT_COLUMNS), min_length=1,
        description="Columns of the view's table and CSV export.")
    sort: TicketSort = TicketSort.created_at_desc

    @field_validator("columns")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ViewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    desk_id: int
    name: str
    filters: ViewFilters
    columns: list[ExportColumn]  # type: ignore[valid-type]
    sort: TicketSort
    owner_kind: str
    owner_id: int | None
    created_at: datetime
