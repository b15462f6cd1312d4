from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.core.enums import Priority, TicketStatus
from app.core.ids import Id
from app.core.text import Text
from app.core.timestamps import UtcDatetime
from app.customers.schemas import Email
from app.models import PRIORITY_NAME

# Every text of a ticket and its comments is plain text, whatever sent it (the API, a web form,
# email): clients escape it before putting it in HTML. Email and forms arrive with their markup
# removed; text sent through the API is stored as sent.
PLAIN_TEXT = ("Plain text, never HTML: escape it before rendering it in a page (text from email "
              "and web forms arrives with markup removed; a Markdown link is text too).")


class TicketSource(StrEnum):
    api = "api"
    web_form = "web_form"
    email = "email"
    phone = "phone"
    chat = "chat"
    internal = "internal"


class TicketSort(StrEnum):
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"
    priority = "priority"
    priority_desc = "-priority"


def normalize_tag(raw: str) -> str:
    tag = re.sub(r"\s+", "-", raw.strip().lower())
    if not tag:
        raise ValueError("a tag cannot be empty")
    if "\x00" in tag or "," in tag:
        raise ValueError("a tag cannot contain NUL or commas")
    return tag


Tag = Annotated[str, Field(min_length=1, max_length=64, examples=["vip"]),
                AfterValidator(normalize_tag)]


def _unique_tags(tags: list[str] | None) -> list[str] | None:
    return None if tags is None else list(dict.fromkeys(tags))


class RequesterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: Text = Field("", max_length=200)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "subject": "Printer on fire",
         "description": "Smoke from tray 2.",
         "requester": {"email": "ana@acme.example", "name": "Ana Lima"},
         "priority": "high",
         "tags": ["hardware"]},
    ]})

    desk_id: Id
    subject: Text = Field(min_length=1, max_length=250, examples=["Printer on fire"],
                          description=PLAIN_TEXT)
    description: Text = Field("", max_length=65_536, description=PLAIN_TEXT)
    requester: RequesterIn | None = Field(
        None, description="Found or created in the desk by email (give this or requester_id).")
    requester_id: Id | None = None
    priority: Priority | None = Field(None, description="Default: the desk's default_priority.")
    status: TicketStatus = Field(TicketStatus.new, description="`closed` is not allowed here.")
    type: Text | None = Field(None, max_length=64, examples=["incident"])
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    assignee_id: Id | None = Field(None, description="An agent of the desk.")
    team_id: Id | None = Field(None, description="A team that is a member of the desk.")
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    due_at: UtcDatetime | None = None
    source: TicketSource = TicketSource.api

    _tags = field_validator("tags")(_unique_tags)

    @model_validator(mode="after")
    def _requester_once(self) -> TicketCreate:
        if (self.requester is None) == (self.requester_id is None):
            raise ValueError("give exactly one of requester and requester_id")
        return self

    @field_validator("status")
    @classmethod
    def _not_closed(cls, value: TicketStatus) -> TicketStatus:
        if value is TicketStatus.closed:
            raise ValueError("a ticket cannot be created closed")
        return value


class TicketUpdate(BaseModel):
    """Only the fields sent change; null clears type, assignee_id, team_id and due_at."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "open", "priority": "urgent", "tags": ["hardware", "escalated"]},
    ]})

    subject: Text | None = Field(None, min_length=1, max_length=250, description=PLAIN_TEXT)
    description: Text | None = Field(None, max_length=65_536, description=PLAIN_TEXT)
    priority: Priority | None = None
    status: TicketStatus | None = None
    type: Text | None = Field(None, max_length=64)
    tags: list[Tag] | None = Field(None, max_length=50, description="Replaces the tags.")
    assignee_id: Id | None = None
    team_id: Id | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Merged into the current values; null clears a field.")
    due_at: UtcDatetime | None = None

    _tags = field_validator("tags")(_unique_tags)


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    desk_id: int
    number: int = Field(description="Unique within the desk, increasing in the order tickets "
                                    "are created or moved in; a create that failed leaves a gap.")
    subject: str = Field(description=PLAIN_TEXT)
    description: str = Field(description=PLAIN_TEXT)
    status: TicketStatus
    priority: Priority
    type: str | None
    requester_id: int
    organization_id: int | None
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    custom_fields: dict[str, Any]
    due_at: datetime | None
    source: TicketSource
    form_id: int | None = Field(description="The web form it was submitted through, if any.")
    routing_state: Literal["pending", "done", "failed"] = Field(
        description="Whether routing has run; its end alone moves neither `version` nor "
                    "`updated_at`.")
    first_responded_at: datetime | None
    solved_at: datetime | None
    version: int = Field(description="The ETag's version: moves with every real change of the "
                                     "ticket (routing that changes nothing leaves it).")
    created_at: datetime
    updated_at: datetime

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_name(cls, value: Any) -> Any:
        return PRIORITY_NAME.get(value, value) if isinstance(value, int) else value


class TicketTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 2},
    ]})

    desk_id: Id


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"body": "We are sending a technician.", "public": True},
    ]})

    body: Text = Field(min_length=1, max_length=65_536, description=PLAIN_TEXT)
    public: bool = Field(True, description="false: an internal note, never shown to customers.")


class Author(BaseModel):
    kind: Literal["user", "customer", "system", "api_token"]
    id: int | None


class CommentRead(BaseModel):
    id: int
    ticket_id: int
    desk_id: int
    author: Author
    body: str = Field(description=PLAIN_TEXT)
    public: bool
    created_at: datetime


class BoardColumn(BaseModel):
    status: TicketStatus
    count: int
    cards: list[TicketRead]


class Board(BaseModel):
    desk_id: int
    columns: list[BoardColumn]
