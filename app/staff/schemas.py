from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.ids import Id
from app.core.text import Text
from app.models import UserRole


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "ana@staff.example", "name": "Ana Lima", "role": "agent"},
    ]})

    email: EmailStr = Field(examples=["ana@acme.example"])
    name: Text = Field(min_length=1, max_length=200, examples=["Ana Lima"])
    role: UserRole = UserRole.agent
    password: str | None = Field(
        None, min_length=10, max_length=256,
        description="Needed to sign in with `POST /v1/auth/token`; never returned.",
    )


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Ana Lima-Souza"},
    ]})

    name: Text | None = Field(None, min_length=1, max_length=200)
    role: UserRole | None = None
    password: str | None = Field(
        None, min_length=10, max_length=256,
        description="A new password; the user's staff JWTs issued before the change are "
        "refused from then on (401), so every session signs in again.")
    is_active: bool | None = Field(None, description="Inactive users cannot sign in.")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: UserRole
    is_active: bool
    version: int
    created_at: datetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Tier 2", "description": "Escalations."},
    ]})

    name: Text = Field(min_length=1, max_length=200, examples=["Tier 2"])
    description: Text = Field("", max_length=2000)
    member_ids: list[Id] = Field(default_factory=list, description="User ids.")


class TeamRead(BaseModel):
    id: int
    name: str
    description: str
    member_ids: list[int]
    created_at: datetime
