"""What a caller may touch: its desks and its scopes. Nothing else decides visibility."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import Forbidden, NotFound


class Scope(StrEnum):
    desks_read = "desks:read"
    desks_write = "desks:write"
    tickets_read = "tickets:read"
    tickets_write = "tickets:write"
    customers_read = "customers:read"
    customers_write = "customers:write"
    organizations_read = "organizations:read"
    organizations_write = "organizations:write"
    forms_read = "forms:read"
    forms_write = "forms:write"
    rules_read = "rules:read"
    rules_write = "rules:write"
    webhooks_read = "webhooks:read"
    webhooks_write = "webhooks:write"
    events_read = "events:read"
    inbound = "inbound"
    admin = "admin"


AGENT_SCOPES = frozenset(s.value for s in Scope if s is not Scope.admin)


def grants(held: Iterable[str], wanted: str) -> bool:
    """`admin` implies everything; a `:write` scope implies its `:read`."""
    held = set(held)
    if Scope.admin in held or wanted in held:
        return True
    return wanted.endswith(":read") and wanted.removesuffix(":read") + ":write" in held


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_token", "system"]
    id: int
    name: str
    sandbox: bool = False

    @property
    def key(self) -> str:
        """Stable identity for idempotency keys and rate limits."""
        return f"{self.kind}:{self.id}"


S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class DeskScope:
    principal: Principal
    scopes: frozenset[str]
    desk_ids: frozenset[int] | None  # None: every desk
    # Desks whose configuration (settings, members, archive, fields) the caller may change.
    # Staff agents manage only desks where they hold the `manager` role; tokens and admins
    # manage every desk they see. None: every desk.
    managed_desk_ids: frozenset[int] | None = None

    @property
    def all_desks(self) -> bool:
        return self.desk_ids is None

    def allows(self, scope: str) -> bool:
        return grants(self.scopes, scope)

    def require(self, scope: str) -> None:
        if not self.allows(scope):
            raise Forbidden(f"This credential lacks the `{scope}` scope.", required_scope=scope)

    def sees(self, desk_id: int) -> bool:
        return self.desk_ids is None or desk_id in self.desk_ids

    def check_manages(self, desk_id: int) -> None:
        """403 unless the caller may change the configuration of a desk it sees."""
        self.check_desk(desk_id)
        if self.managed_desk_ids is not None and desk_id not in self.managed_desk_ids:
            raise Forbidden(f"Changing desk {desk_id} needs the manager role on it.")

    def check_desk(self, desk_id: int, what: str = "Desk") -> None:
        """Raise 404 for a desk the caller may not see, the same as for a missing one."""
        if not self.sees(desk_id):
            raise NotFound(f"{what} {desk_id} does not exist.")

    def filter(self, stmt: S, column: InstrumentedAttribute[int] | Any) -> S:
        """Restrict `stmt` to the caller's desks; `column` is a desk id column or a model."""
        if self.desk_ids is None:
            return stmt
        col = column if isinstance(column, InstrumentedAttribute) else column.desk_id
        return stmt.where(col.in_(self.desk_ids))
