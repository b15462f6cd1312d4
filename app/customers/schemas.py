from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    TypeAdapter,
)

from app.core.ids import Id
from app.core.text import Text

# Addresses in their stored form, by what arrived: `normalize_email` answers from here. Bounded
# by clearing (a plain dict is cheaper than an LRU, and a miss only validates once more).
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 4096


def _remember(raw: str, normalized: str) -> None:
    if len(_NORMALIZED) >= _NORMALIZED_MAX:
        _NORMALIZED.clear()
    _NORMALIZED[raw] = normalized


def _stored_form(value: str) -> str:
    """The last step of `Email`: lower-case, and remembered as already normalised, so the
    service normalising what a schema validated (every ticket's requester) does not validate
    the address a second time."""
    value = value.lower()
    _remember(value, value)
    return value


Email = Annotated[EmailStr, Field(max_length=320, examples=["ana@acme.example"]),
                  AfterValidator(_stored_form)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40,
                                         pattern=r"^\+?[0-9 ()./-]{3,40}$"),
                  Field(examples=["+49 30 1234567"])]

_EMAIL = TypeAdapter(Email)


def normalize_email(raw: str) -> str:
    """The stored form of an address, the same however it arrives (API, import, intake):
    lower-cased, Unicode domain (`ana@xn--bcher-kva.example` → `ana@bücher.example`).
    Raises ValueError (a pydantic ValidationError) when it is not an email address."""
    normalized = _NORMALIZED.get(raw)
    if normalized is None:
        normalized = _EMAIL.validate_python(raw.strip())
        _remember(raw, normalized)
    return normalized


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "email": "ana@acme.example",
         "name": "Ana Lima",
         "phone": "+49 30 1234567"},
    ]})

    desk_id: Id
    email: Email = Field(description="Unique per desk, case-insensitively (stored lower-case).")
    name: Text = Field("", max_length=200, examples=["Ana Lima"])
    phone: Phone | None = None
    organization_id: Id | None = Field(
        None, description="Omit to join the desk's organization owning the email domain.")
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class CustomerUpdate(BaseModel):
    """Only the fields sent change; `organization_id: null` removes the organization."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Ana Lima-Souza", "phone": "+49 30 7654321"},
    ]})

    email: Email | None = None
    name: Text | None = Field(None, max_length=200)
    phone: Phone | None = None
    organization_id: Id | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Merged into the current values; null clears a field.")


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    desk_id: int
    email: str
    name: str
    phone: str | None
    organization_id: int | None
    custom_fields: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 2, "move_open_tickets": True},
    ]})

    desk_id: Id = Field(description="The desk to move the customer to.")
    move_open_tickets: bool = Field(
        True, description="Move the customer's unsolved tickets along (false: they stay).")




class ImportResult(BaseModel):
    desk_id: int
    rows: int = Field(description="Data rows read (the header excluded).")
    created: int
    skipped: int = Field(description="Rows whose email the desk already held (on_existing=skip).")
    organizations_created: int
