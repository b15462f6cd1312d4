"""One way to change a ticket: what a change writes, and the events it records.

Every path that changes a ticket's fields goes through here (today the PATCH of
`tickets.service.update` and routing's `executor`; bulk edits, merges, macros, triggers, SLA
pauses and the portal later), so the status rules, `solved_at`, the history diff and the events
a change derives are the same whoever makes the change:

- `apply_changes(current, requested, now)` is pure: the column values a set of requested field
  changes writes (a status's consequences included). The caller checks what needs the database
  (an agent of the desk, a field's type) before, and writes the values its own way (PATCH sets
  them on the ORM object; routing holds them back for one executemany).
- `snapshot` before and after, then `record(...)`: the change's event with the diff, and the
  events derived from it (`ticket.status_changed`, `ticket.assigned`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.core.enums import TicketStatus
from app.core.errors import Conflict
from app.core.fields import merged
from app.core.outbox import EventType
from app.core.scope import DeskScope
from app.models import PRIORITY_RANK, Ticket
from app.tickets.schemas import TicketRead

READS = ("status", "solved_at", "custom_fields")
"""The columns of the current ticket `apply_changes` reads (the others it writes as given)."""


def check_changeable(ticket: Ticket) -> None:
    """409 for a closed ticket: closed is final (a follow-up ticket continues the thread)."""
    if ticket.status == TicketStatus.closed:
        raise Conflict(f"Ticket {ticket.id} is closed; closed tickets cannot change.")


def solved_at(status: str, before: datetime | None, now: datetime) -> datetime | None:
    """Pure: `solved_at` of a ticket that takes `status` (a new ticket's, or a change's): now
    on solving, kept on closing (it stays the time the ticket was solved), cleared otherwise."""
    if status == TicketStatus.solved:
        return now
    return before if status == TicketStatus.closed else None


def apply_changes(current: Mapping[str, Any], requested: Mapping[str, Any],
                  now: datetime) -> dict[str, Any]:
    """Pure: the column values that `requested` (field → new value, in the API's terms, already
    checked) writes on a ticket whose columns are `current` (at least `READS`):

    - `status`: its name, with `solved_at` (see `solved_at`); nothing when the status stays;
    - `priority`: a name, written as its rank;
    - `custom_fields`: the changed keys, merged into the current values (null clears one);
    - any other field as given (`tags` replaces the list).
    """
    values: dict[str, Any] = {}
    for column, value in requested.items():
        if column == "status":
            status = TicketStatus(value).value
            if status != current["status"]:
                values["status"] = status
                values["solved_at"] = solved_at(status, current["solved_at"], now)
        elif column == "priority":
            values["priority"] = PRIORITY_RANK[value]
        elif column == "custom_fields":
            values["custom_fields"] = merged(current["custom_fields"] or {}, value)
        else:
            values[column] = value
    return values


def current(ticket: Ticket) -> dict[str, Any]:
    """What `apply_changes` reads of a loaded ticket."""
    return {column: getattr(ticket, column) for column in READS}


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """The ticket as the API returns it (JSON): what events carry and histories diff."""
    return TicketRead.model_validate(ticket).model_dump(mode="json")


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Pure: the history diff of two snapshots, `{field: [old, new]}` (not `version` nor
    `updated_at`, which every change moves)."""
    return outbox.diff(dict(before), dict(after))


def derived(type_: EventType, changes: Mapping[str, list[Any]]
            ) -> list[tuple[EventType, dict[str, Any]]]:
    """Pure: the events a change of type `type_` with the diff `changes` records, in order:
    itself with the whole diff, then `ticket.status_changed` and `ticket.assigned` when those
    fields changed (with theirs only)."""
    found = [(type_, dict(changes))]
    if "status" in changes:
        found.append((EventType.ticket_status_changed, {"status": changes["status"]}))
    if "assignee_id" in changes:
        found.append((EventType.ticket_assigned, {"assignee_id": changes["assignee_id"]}))
    return found


def record(session: AsyncSession, scope: DeskScope | None, ticket: Ticket,
           before: Mapping[str, Any], after: dict[str, Any], *,
           type_: EventType = EventType.ticket_updated) -> dict[str, list[Any]]:
    """Record the change of `ticket` from the snapshot `before` to `after` in the session's
    transaction (see `derived`), by `scope` (None: the system); the diff."""
    changes = diff(before, after)
    for event_type, what in derived(type_, changes):
        outbox.record(session, type=event_type, desk_id=ticket.desk_id, subject_type="ticket",
                      subject_id=ticket.id, data=after, scope=scope, changes=what)
    return changes
