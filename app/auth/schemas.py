from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.ids import Id
from app.core.scope import Scope
from app.core.timestamps import UtcDatetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.", examples=[3600])


class MeRead(BaseModel):
    kind: Literal["user", "api_token"]
    id: int
    name: str
    scopes: list[Scope] = Field(examples=[["tickets:write", "desks:read"]])
    desk_ids: list[int] | None = Field(description="Null: every desk.")
    sandbox: bool = False


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Zapier", "scopes": ["tickets:read", "events:read"], "desk_ids": [1]},
    ]})

    name: str = Field(min_length=1, max_length=200, examples=["Zapier"])
    scopes: list[Scope] = Field(min_length=1, examples=[["tickets:read", "events:read"]])
    desk_ids: list[Id] | None = Field(
        None, description="Desks the token may touch; null for every desk. Sandbox tokens name "
        "their sandbox desks; admin tokens cover every desk (null).",
        examples=[[1, 2]],
    )
    sandbox: bool = Field(False, description="A partner token confined to sandbox desks.")
    expires_at: UtcDatetime | None = Field(None, description="RFC 3339 with offset.")


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it.")
    scopes: list[Scope]
    desk_ids: list[int] | None
    sandbox: bool
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="The secret. Shown only in this response: store it now.")
