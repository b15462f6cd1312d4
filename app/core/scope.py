"""What a caller may touch: its desks and its scopes. Nothing else decides visibility.

Every principal has a subject kind, and each kind has one visibility rule, in `desk_scope`
at the bottom: a plain function of what the database says about the subject (loaded by
`core/principal.py`), so the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeVar, assert_never

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


class SubjectKind(StrEnum):
    """Who stands behind a credential. The values are stored (event actors, comment authors,
    view and webhook owners) and answered by `GET /v1/me`, so they never change."""

    user = "user"  # a staff member signed in with a JWT
    api_token = "api_token"  # a token an admin issued (`swb_…`)
    oauth_client = "oauth_client"  # a partner app's OAuth access token (not issued yet)
    customer = "customer"  # a portal or messenger customer (not issued yet)
    system = "system"  # Switchboard itself: intake, imports


# The kinds the staff API (everything but the portal) answers; customers use the portal.
STAFF_API_KINDS = frozenset(
    {SubjectKind.user, SubjectKind.api_token, SubjectKind.oauth_client, SubjectKind.system}
)


@dataclass(frozen=True)
class Principal:
    kind: SubjectKind
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

    def check_staff_api(self) -> None:
        """403 for a subject the staff API does not serve (a customer: the portal is theirs)."""
        if self.principal.kind not in STAFF_API_KINDS:
            raise Forbidden(f"Staff endpoints do not accept {self.principal.kind} credentials.")

    def allows(self, scope: str) -> bool:
        return grants(self.scopes, scope)

    def require(self, scope: str) -> None:
        """403 unless the caller holds `scope`; every scope named here is a staff API scope."""
        self.check_staff_api()
        if not self.allows(scope):
            raise Forbidden(f"This credential lacks the `{scope}` scope.", required_scope=scope)

    def sees(self, desk_id: int) -> bool:
        return self.desk_ids is None or desk_id in self.desk_ids

    def check_manages(self, desk_id: int) -> None:
        """403 unless the caller may change the configuration of a desk it sees."""
        self.check_desk(desk_id)
        if self.managed_desk_ids is not None and desk_id not in self.managed_desk_ids:
            raise Forbidden(f"Changing desk {desk_id} needs the manager role on it.")

    def check_manages_members(self, desk_id: int) -> None:
        """403 unless the caller may grant or withdraw roles on a desk it sees: an admin, or
        a staff user managing it. Tokens (sandbox and desk-limited ones included) never do:
        membership opens desks to people, which no token may decide."""
        self.check_desk(desk_id)
        if Scope.admin in self.scopes:
            return
        if self.principal.kind is not SubjectKind.user:
            raise Forbidden(f"Changing the members of desk {desk_id} needs an admin or a "
                            "manager of the desk signed in as staff, not an API token.")
        self.check_manages(desk_id)

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


# What the database says about each kind of subject; `desk_scope` applies the kind's rule.


@dataclass(frozen=True)
class StaffSubject:
    """A staff user: an admin sees every desk; an agent the desks it belongs to (directly or
    through a team) and manages those where it holds the manager role."""

    id: int
    name: str
    admin: bool
    member_of: frozenset[int] = frozenset()
    manages: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TokenSubject:
    """An API token, or (later) an OAuth client's access token: the scopes and desks it was
    issued with. `sandbox_desk_ids` are the desks that are sandboxes now, among `desk_ids`
    (or all of them when `desk_ids` is None); only a sandbox token needs them loaded."""

    id: int
    name: str
    scopes: frozenset[str]
    desk_ids: frozenset[int] | None  # None: every desk
    sandbox: bool = False
    sandbox_desk_ids: frozenset[int] = frozenset()
    kind: Literal[SubjectKind.api_token, SubjectKind.oauth_client] = SubjectKind.api_token


@dataclass(frozen=True)
class CustomerSubject:
    """A customer: the portal shows their own tickets; the staff API shows them nothing."""

    id: int
    name: str


@dataclass(frozen=True)
class SystemSubject:
    """Switchboard itself, acting for no caller (intake, imports): every desk, every scope."""

    name: str
    id: int = 0


Subject = StaffSubject | TokenSubject | CustomerSubject | SystemSubject

ADMIN_SCOPES = frozenset({Scope.admin.value})


def desk_scope(subject: Subject) -> DeskScope:
    """The one visibility rule per subject kind: which desks and scopes the caller holds."""
    match subject:
        case StaffSubject():
            return _staff(subject)
        case TokenSubject():
            return _token(subject)
        case CustomerSubject():
            # Never desks: a customer's visibility is their own tickets, decided by the portal.
            principal = Principal(SubjectKind.customer, subject.id, subject.name)
            return DeskScope(principal, frozenset(), frozenset(), frozenset())
        case SystemSubject():
            return DeskScope(Principal(SubjectKind.system, subject.id, subject.name),
                             ADMIN_SCOPES, None)
        case _:
            assert_never(subject)


def _staff(subject: StaffSubject) -> DeskScope:
    principal = Principal(SubjectKind.user, subject.id, subject.name)
    if subject.admin:
        return DeskScope(principal, ADMIN_SCOPES, None)
    return DeskScope(principal, AGENT_SCOPES, subject.member_of, subject.manages)


def _token(subject: TokenSubject) -> DeskScope:
    principal = Principal(subject.kind, subject.id, subject.name, sandbox=subject.sandbox)
    desk_ids = subject.desk_ids
    if subject.sandbox:
        # Confined to desks that are sandboxes now, whatever the token row says; never "all".
        desk_ids = (subject.sandbox_desk_ids if desk_ids is None
                    else desk_ids & subject.sandbox_desk_ids)
    return DeskScope(principal, subject.scopes, desk_ids)
