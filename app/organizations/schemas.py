from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.core.domains import normalize_domain
from app.core.ids import Id
from app.core.text import Text
from app.routing.actions import RoutingAction

Domain = Annotated[str, Field(max_length=300, examples=["acme.example"]),
                   AfterValidator(normalize_domain)]


def _unique(domains: list[str]) -> list[str]:
    return sorted(set(domains))


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "name": "Acme Inc.",
         "domains": ["acme.example"],
         "notes": "Key account."},
    ]})

    desk_id: Id
    name: Text = Field(min_length=1, max_length=200, examples=["Acme Inc."])
    domains: list[Domain] = Field(
        default_factory=list, max_length=100,
        description="Email domains (normalised: lower-case, IDNA, no `@`). New customers with "
                    "these domains join the organization.")
    shared_tickets: bool = Field(False, description="Members may see each other's tickets.")
    custom_fields: dict[str, Any] = Field(default_factory=dict,
                                          description="Values of the desk's organization fields.")
    routing_actions: list[RoutingAction] = Field(
        default_factory=list,
        description="Run on this organization's new tickets, before rules. Checked like a "
                    "routing rule's actions against the organization's desk (its agents, "
                    "teams and ticket fields; a `move_to_desk` target the caller may write): "
                    "422 at the action's value.")
    notes: Text = Field("", max_length=10_000)

    _dedupe = field_validator("domains")(_unique)


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"notes": "Key account since 2024.", "shared_tickets": True},
    ]})

    name: Text | None = Field(None, min_length=1, max_length=200)
    domains: list[Domain] | None = Field(None, max_length=100, description="Replaces the list.")
    shared_tickets: bool | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Merged into the current values; null clears a field.")
    routing_actions: list[RoutingAction] | None = Field(
        None, description="Replaces the list; checked as on create, against the caller.")
    notes: Text | None = Field(None, max_length=10_000)

    @field_validator("domains")
    @classmethod
    def _dedupe(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique(value)


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    desk_id: int
    name: str
    domains: list[str]
    shared_tickets: bool
    custom_fields: dict[str, Any]
    routing_actions: list[RoutingAction]
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 2},
    ]})

    desk_id: Id = Field(description="The desk to move the organization, its customers and their "
                                     "open tickets to.")


class ClaimResult(BaseModel):
    organization_id: int
    claimed: int = Field(description="Customers without an organization that joined it.")
    customer_ids: list[int]
