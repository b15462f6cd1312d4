from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.core.enums import Priority
from app.core.text import Text
from app.models import DeskKind, MemberRole


class SearchLanguage(StrEnum):
    """PostgreSQL text search configurations."""

    simple = "simple"
    english = "english"
    german = "german"
    french = "french"
    spanish = "spanish"
    italian = "italian"
    portuguese = "portuguese"
    dutch = "dutch"
    swedish = "swedish"
    danish = "danish"
    norwegian = "norwegian"
    finnish = "finnish"
    russian = "russian"
    turkish = "turkish"


class SlaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response_minutes: int | None = Field(None, ge=1, examples=[60])
    resolution_minutes: int | None = Field(None, ge=1, examples=[1440])


class DeskSettings(BaseModel):
    """Desk behaviour. PATCH merges these keys (JSON merge patch: null resets one)."""

    model_config = ConfigDict(extra="forbid")

    auto_create_organizations: bool = Field(
        False, description="Create an organization for each new (non free-mail) email domain."
    )
    inbound_addresses: list[EmailStr] = Field(
        default_factory=list, description="Email addresses whose mail becomes tickets here.",
        examples=[["support@acme.example"]],
    )
    time_zone: str = Field("UTC", description="IANA time zone name.", examples=["Europe/Berlin"])
    default_priority: Priority = Priority.normal
    language: SearchLanguage = Field(
        SearchLanguage.english, description="How ticket text is stemmed for full-text search.")
    sla: SlaPolicy | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not a known IANA time zone name") from exc
        return value

    @field_validator("inbound_addresses")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return sorted({v.lower() for v in value})


class DeskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Berlin office",
         "description": "Walk-in and phone support.",
         "settings": {"time_zone": "Europe/Berlin", "default_priority": "normal"}},
    ]})

    name: Text = Field(min_length=1, max_length=200, examples=["Berlin office"])
    kind: DeskKind = Field(DeskKind.standard, description="Fixed at creation.")
    description: Text = Field("", max_length=2000)
    settings: DeskSettings = Field(default_factory=DeskSettings)


class DeskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"description": "Walk-in, phone and mail support.",
         "settings": {"time_zone": "Europe/Berlin"}},
    ]})

    name: Text | None = Field(None, min_length=1, max_length=200)
    description: Text | None = Field(None, max_length=2000)
    settings: dict[str, Any] | None = Field(
        None, description="Merged into the current settings (JSON merge patch).",
        examples=[{"time_zone": "Europe/Berlin", "sla": None}],
    )


class DeskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: DeskKind
    description: str
    settings: DeskSettings
    archived_at: datetime | None = Field(description="Null while the desk is active.")
    version: int
    created_at: datetime
    updated_at: datetime


class MemberPut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"role": "agent"},
    ]})

    role: MemberRole = MemberRole.agent


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    desk_id: int
    user_id: int | None
    team_id: int | None
    role: MemberRole
    created_at: datetime


class DeskReset(BaseModel):
    desk_id: int
    deleted: dict[str, int] = Field(description="Rows deleted, per kind of content.")
