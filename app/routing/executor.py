"""Routing a ticket for real: the plan of `engine.evaluate` applied in one transaction.

`route(session, ticket_id)` locks the ticket (`SELECT … FOR UPDATE`) and does nothing unless it
is still `pending`, so a job that runs twice (arq is at-least-once) routes once. Per desk:
the organization's `routing_actions`, then the desk's enabled rules by position. A
`move_to_desk` moves the ticket (through `tickets.service.move`) and the target desk's
organization actions and rules run next, at most `MAX_HOPS` moves; one more is skipped with
the reason recorded. A move is checked again against what whoever saved it may write now
(`checks.move_refused`): one it could no longer save is skipped, with why. Every action's
outcome lands in the `routing_run`: `applied`, or `skipped` with why (an agent who left the
desk, a field value the desk refuses, …); a skipped action never fails the run. The caller
commits.

A job routes its own ticket, then (`batch`) up to `batch - 1` more pending tickets of the desk
that no other transaction holds, in the same transaction: a backlog drains with one commit per
batch, and the jobs of the tickets routed with it are withdrawn from the queue (`tasks`).

The hot path is lean on round trips: one query locks the ticket (or claims the batch) and
brings requester, desk time zone, organization actions and the desk's rules (parsed once per
rule version and kept); a round-robin turn is one statement; the tickets' changes are held
back (`Writes`) and written by one executemany, and runs and events are inserted together at
the commit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Interval, Text, bindparam, cast, func, literal_column, select, true, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.core.db import utcnow
from app.core.errors import AppError, Conflict, Unprocessable
from app.core.fields import FieldSpec
from app.core.outbox import EventType
from app.customers import service as customers
from app.fields import service as fields
from app.models import (
    Customer,
    Desk,
    FieldEntity,
    Organization,
    RoutingRule,
    RoutingRun,
    Ticket,
)
from app.routing import actions as a
from app.routing import assignment, checks
from app.routing.engine import RuleSpec, evaluate
from app.routing.facts import facts_from
from app.routing.service import spec_of
from app.tickets import changes
from app.tickets import service as tickets
from app.tickets.schemas import CommentCreate

MAX_HOPS = 3
APPLIED, SKIPPED = "applied", "skipped"
_SPECS: dict[tuple[Any, ...], RuleSpec] = {}
_MAX_SPECS = 10_000


def reason(exc: Exception) -> str:
    """The message of a domain error, as a run records it."""
    if isinstance(exc, AppError) and exc.errors:
        return "; ".join(str(e.get("msg")) for e in exc.errors)
    return str(exc)


# --- loading ------------------------------------------------------------------------------------

_RULES = (
    select(func.coalesce(func.jsonb_agg(aggregate_order_by(
        func.jsonb_build_array(RoutingRule.id, RoutingRule.name,
                               cast(RoutingRule.conditions, Text),
                               cast(RoutingRule.actions, Text),
                               RoutingRule.stop_processing),
        RoutingRule.position, RoutingRule.id)), literal_column("'[]'::jsonb")))
    .where(RoutingRule.desk_id == Ticket.desk_id, RoutingRule.enabled.is_(True))
    .scalar_subquery())

# `set_config(…, true)` in a CTE the query reads: the transaction's lock_timeout is set before
# the row lock is waited for (rows are locked above the join), in the same round trip.
_LOCK_TIMEOUT = select(func.set_config("lock_timeout", bindparam("lock_timeout"), True)
                       .label("lock_timeout")).cte("settings")


def _loading(*criteria: Any, claim: bool = False) -> Any:
    """A ticket locked with what routing it needs: by id (waiting for its lock), or, `claim`,
    the oldest pending tickets matching `criteria` that no transaction holds."""
    stmt = (
        select(Ticket, Customer.email, Customer.name, Customer.phone,
               Desk.settings["time_zone"].astext, Organization.routing_actions, _RULES,
               func.now(), _LOCK_TIMEOUT.c.lock_timeout)
        .join(Customer, Customer.id == Ticket.requester_id)
        .join(Desk, Desk.id == Ticket.desk_id)
        .join(_LOCK_TIMEOUT, true())
        .outerjoin(Organization, (Organization.id == Ticket.organization_id)
                   & (Organization.desk_id == Ticket.desk_id))
        .where(*criteria)
        .with_for_update(of=Ticket, skip_locked=claim)
        .execution_options(populate_existing=True))  # built once: its cache key is memoized
    if claim:
        stmt = stmt.order_by(Ticket.created_at, Ticket.id).limit(bindparam("limit"))
    return stmt


_LOAD = _loading(Ticket.id == bindparam("ticket_id"))

# Pending tickets of a desk that have waited at least `waited` (the queue is behind: left to
# their own jobs, fresh ones are routed sooner), that no transaction holds and no routing has
# tried yet (one that failed once is left to its own job, so one bad ticket cannot fail the
# batches of others); read from the partial index of pending tickets.
_CLAIM = _loading(
    Ticket.routing_state == "pending", Ticket.desk_id == bindparam("desk_id"),
    Ticket.created_at <= func.now() - bindparam("waited", type_=Interval),
    Ticket.id != bindparam("ticket_id"),  # this transaction's own (locks do not skip it)
    ~select(RoutingRun.id).where(RoutingRun.ticket_id == Ticket.id).exists(),
    claim=True)


# The columns actions change (every `writes` of an action applied in the CHANGE phase:
# tests/routing/test_actions.py). The tickets are locked: every routed ticket writes each one
# (changed or not) and its version and state, so one constant statement, run once for many
# tickets (executemany: one round trip), writes them all.
ROUTED = ("assignee_id", "team_id", "priority", "status", "solved_at", "type", "tags",
          "custom_fields")
_WRITTEN = (*ROUTED, "routing_state", "version", "updated_at")
_TICKETS = Ticket.__table__
_WRITE = (
    update(_TICKETS).where(_TICKETS.c.id == bindparam("ticket_id"))
    .values({c: bindparam(f"new_{c}", type_=_TICKETS.c[c].type) for c in _WRITTEN}))


@dataclass
class Loaded:
    """A locked ticket and what routing it in its current desk needs."""

    ticket: Ticket
    requester: SimpleNamespace
    time_zone: str
    org_actions: list[Any]
    rule_rows: list[list[Any]]
    now: Any  # the transaction's timestamp, which `updated_at` takes

    @property
    def rules(self) -> list[RuleSpec]:
        """Parsed only when needed: a ticket already routed never meets a broken rule."""
        return rule_specs(self.rule_rows)


def rule_specs(rows: list[list[Any]]) -> list[RuleSpec]:
    """`[id, name, conditions json, actions json, stop]` rows parsed, each version once."""
    specs = []
    for row in rows:
        key = tuple(row)
        spec = _SPECS.get(key)
        if spec is None:
            if len(_SPECS) >= _MAX_SPECS:
                _SPECS.clear()
            rule_id, name, conditions, actions, stop = row
            spec = _SPECS[key] = spec_of(SimpleNamespace(  # type: ignore[arg-type]
                id=rule_id, name=name, conditions=json.loads(conditions),
                actions=json.loads(actions), stop_processing=stop))
        specs.append(spec)
    return specs


async def load(session: AsyncSession, ticket_id: int, *,
               lock_timeout: float | None = None) -> Loaded | None:
    """Lock the ticket (waiting at most `lock_timeout` seconds for this and every later row
    lock of the transaction; None: no limit) and load it with its requester, desk zone,
    organization actions and rules."""
    row = (await session.execute(_LOAD, {"ticket_id": ticket_id,
                                         "lock_timeout": _timeout(lock_timeout)})).first()
    return None if row is None else _loaded(row)


async def claim(session: AsyncSession, desk_id: int, limit: int, *, besides: int,
                waited: float = 0.0, lock_timeout: float | None = None) -> list[Loaded]:
    """Lock and load up to `limit` pending tickets of the desk, `besides` the one this
    transaction routes, pending for `waited` seconds or more, that no other transaction holds
    and no routing has tried yet, oldest first."""
    rows = await session.execute(_CLAIM, {"desk_id": desk_id, "limit": limit,
                                          "ticket_id": besides,
                                          "waited": timedelta(seconds=waited),
                                          "lock_timeout": _timeout(lock_timeout)})
    return [_loaded(row) for row in rows]


def _timeout(seconds: float | None) -> str:
    """PostgreSQL's `lock_timeout` value for `seconds` (None or 0: no limit)."""
    return f"{int((seconds or 0) * 1000)}ms"


def _loaded(row: Any) -> Loaded:
    ticket, email, name, phone, zone, org_actions, rules, now, _ = row
    return Loaded(ticket, SimpleNamespace(email=email, name=name, phone=phone), zone or "UTC",
                  list(org_actions or []), rules, now)


@dataclass
class Writes:
    """Routed tickets' new column values, held back to be written together: the ticket objects
    already carry them (as committed state, so the ORM writes nothing more). `flush` runs
    before anything that reads or writes tickets (a least-loaded count, a reply, a move, the
    commit)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ticket: Ticket, values: dict[str, Any]) -> None:
        for column, value in values.items():
            set_committed_value(ticket, column, value)
        self.rows.append({"ticket_id": ticket.id, **{f"new_{c}": v for c, v in values.items()}})

    async def flush(self, session: AsyncSession) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            await session.execute(_WRITE, rows)


# --- applying -----------------------------------------------------------------------------------

@dataclass
class Entry:
    """One action of the run, as `routing_runs.actions` stores it."""

    desk_id: int
    rule_id: int | None
    action: a.RoutingAction
    result: str = APPLIED
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        dumped = self.action.model_dump(mode="json")
        return {"desk_id": self.desk_id, "rule_id": self.rule_id, "type": dumped["type"],
                "value": dumped["value"], "result": self.result, "detail": self.detail}


@dataclass
class Routing:
    """Applies one ticket's plans; collects what happened for the run. Each action applies
    itself (`actions`, the `apply` of its class) through what this offers (`actions.Applying`):
    the ticket's columns as the desk's actions leave them (`columns`), held back and written
    with the batch's (`Writes`), and the desk's agents, teams, fields and turns."""

    session: AsyncSession
    loaded: Loaded
    writes: Writes
    matched: list[int] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    lock_timeout: float | None = None
    hops: int = 0
    columns: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    applying: Entry | None = None
    _specs: dict[int, list[FieldSpec]] = field(default_factory=dict)

    @property
    def ticket(self) -> Ticket:
        return self.loaded.ticket

    async def run(self) -> None:
        while True:
            loaded, ticket = self.loaded, self.loaded.ticket
            facts = facts_from(ticket, requester_email=loaded.requester.email,
                               time_zone=loaded.time_zone)
            plan = evaluate(loaded.rules, facts, org_actions=loaded.org_actions)
            self.matched += plan.matched
            self.columns = {c: getattr(ticket, c) for c in ROUTED}
            entries = [Entry(ticket.desk_id, step.rule_id, step.action) for step in plan.steps]
            self.entries += entries
            # What actions read (members, teams, fields, cursors, open tickets) is never what
            # the session holds pending (runs, events): no flush per ticket; they go at once at
            # commit.
            with self.session.no_autoflush:
                for entry in entries:
                    if entry.action.phase is a.Phase.CHANGE:
                        await self._apply(entry)
            if self.changed or self.ticket.routing_state == "pending":
                self._write()
            replies = [e for e in entries if e.action.phase is a.Phase.REPLY]
            move = next((e for e in entries if e.action.phase is a.Phase.MOVE), None)
            if replies or move:
                await self.writes.flush(self.session)
            for entry in replies:
                await self._apply(entry)
            if replies:  # a comment touches the ticket's updated_at
                await self.session.refresh(ticket)
            if move is None:
                return
            await self._apply(move, refusals=())  # the move's own failures fail the run
            if move.result == SKIPPED:
                return

    def _write(self) -> None:
        """The desk's changes (and `routing_state='done'`), written with the batch's. Only a
        real change (a column that ends up other than it was) moves `version` and
        `updated_at`: routing that changes nothing leaves the ETag the client holds valid."""
        ticket = self.ticket
        moved = any(self.columns[c] != getattr(ticket, c) for c in ROUTED)
        self.writes.add(ticket, {
            **{c: self.columns[c] for c in ROUTED}, "routing_state": "done",
            "version": ticket.version + 1 if moved else ticket.version,
            "updated_at": self.loaded.now if moved else ticket.updated_at})
        self.changed = False

    async def _apply(self, entry: Entry, refusals: tuple[type[Exception], ...] = (
            Unprocessable, Conflict, ValueError)) -> None:
        """Apply the entry's action; skipped, with why, when it refuses (`Skipped`) or a check
        does (`refusals`: a 422, a closed ticket, a bad value or template)."""
        self.applying = entry
        try:
            entry.detail = await entry.action.apply(self)
        except a.Skipped as exc:
            entry.result, entry.detail = SKIPPED, str(exc)
        except refusals as exc:
            entry.result, entry.detail = SKIPPED, reason(exc)

    # --- what actions use (`actions.Applying`) ---------------------------------------------

    def current(self, column: str) -> Any:
        return self.columns[column]

    def change(self, requested: Mapping[str, Any]) -> None:
        values = {c: v for c, v in changes.apply_changes(self.columns, requested, utcnow()).items()
                  if self.columns.get(c) != v}  # setting what a column holds changes nothing
        self.columns.update(values)
        self.changed = self.changed or bool(values)

    async def check_agent(self, user_id: int) -> None:
        await tickets.check_assignee(self.session, self.ticket.desk_id, user_id, ["value"])

    async def check_team(self, team_id: int) -> None:
        await tickets.check_team(self.session, self.ticket.desk_id, team_id, ["value"])

    async def take_turn(self, team_id: int) -> int | None:
        return await assignment.take_turn(self.session, self.ticket.desk_id, team_id)

    async def least_loaded(self, team_id: int) -> int | None:
        await self.writes.flush(self.session)  # counts the batch's assignments
        return await assignment.least_loaded(self.session, self.ticket.desk_id, team_id,
                                             self.ticket.id)

    async def field_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        desk_id = self.ticket.desk_id
        if desk_id not in self._specs:
            self._specs[desk_id] = await fields.specs(self.session, desk_id, FieldEntity.ticket)
        return fields.check(self._specs[desk_id], dict(values), ["value"], partial=True)

    def template_context(self) -> dict[str, Any]:
        """The ticket as this desk's actions left it (replies go out after the desk's other
        actions, so they tell the outcome) and its requester."""
        requester = self.loaded.requester
        return {"ticket": tickets.read(self.ticket).model_dump(mode="json"),
                "requester": {"name": requester.name, "email": requester.email}}

    async def comment(self, body: str) -> int:
        comment = await tickets.add_comment(self.session, None, self.ticket,
                                            CommentCreate(body=body, public=True))
        return comment.id

    async def move(self, desk_id: int) -> None:
        """Move to the target desk and load what routing there needs (`run` goes on there)."""
        if self.hops >= MAX_HOPS:
            raise a.Skipped(f"stopped: at most {MAX_HOPS} moves between desks per routing")
        if desk_id == self.ticket.desk_id:
            raise a.Skipped("the ticket is already in this desk")
        target = await self.session.get(Desk, desk_id)
        if target is None or target.archived_at is not None:
            raise a.Skipped(f"desk {desk_id} does not exist or is archived")
        # Checked again as when it was saved, against what its saver may write now.
        desk = await self.session.get_one(Desk, self.ticket.desk_id)
        kind, principal_id = await self._saved_by()
        refused = await checks.move_refused(self.session, kind, principal_id, desk, target)
        if refused is not None:
            raise a.Skipped(refused)
        requester = self.loaded.requester
        moved_requester, _ = await customers.find_or_create(
            self.session, None, target, requester.email, name=requester.name,
            phone=requester.phone)
        await tickets.move(self.session, None, self.ticket, target, moved_requester)
        self.hops += 1
        loaded = await load(self.session, self.ticket.id, lock_timeout=self.lock_timeout)
        assert loaded is not None
        self.loaded = loaded


    async def _saved_by(self) -> tuple[str | None, int | None]:
        """Who saved the action being applied: its rule's, or (no rule) the organization's."""
        assert self.applying is not None
        if self.applying.rule_id is not None:
            stmt = select(RoutingRule.actions_saved_by_kind, RoutingRule.actions_saved_by_id
                          ).where(RoutingRule.id == self.applying.rule_id)
        else:
            stmt = select(Organization.actions_saved_by_kind, Organization.actions_saved_by_id
                          ).where(Organization.id == self.ticket.organization_id)
        row = (await self.session.execute(stmt)).first()
        return (None, None) if row is None else (row[0], row[1])


async def lock_pending(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, locked to the end of the transaction, if it still waits for routing."""
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update(of=Ticket)
        .execution_options(populate_existing=True))
    if ticket is None or ticket.routing_state != "pending":
        return None
    return ticket


async def set_lock_timeout(session: AsyncSession, seconds: float | None) -> None:
    """Give up on a row lock after `seconds` (the transaction's own setting)."""
    if seconds:
        await session.execute(select(func.set_config("lock_timeout", _timeout(seconds), True)))


async def route(session: AsyncSession, ticket_id: int, *, attempt: int = 1,
                lock_timeout: float | None = None, batch: int = 1, waited: float = 0.0,
                ) -> tuple[RoutingRun | None, list[int]]:
    """Route a pending ticket (see the module docstring), then up to `batch - 1` more pending
    tickets of its desk that have waited `waited` seconds or more (see `claim`) in the same
    transaction: a backlog drains with one commit, one flush of runs and events and one job
    round trip for many tickets. The ticket's run (None when there was nothing to do) and the
    ids of the others routed."""
    started = time.perf_counter()
    loaded = await load(session, ticket_id, lock_timeout=lock_timeout)
    if loaded is None or loaded.ticket.routing_state != "pending":
        return None, []
    desk_id, writes = loaded.ticket.desk_id, Writes()
    run = await _route(session, loaded, writes, attempt=attempt, lock_timeout=lock_timeout,
                       started=started)
    more = []
    if batch > 1:
        for other in await claim(session, desk_id, batch - 1, besides=ticket_id,
                                 waited=waited, lock_timeout=lock_timeout):
            await _route(session, other, writes, attempt=1, lock_timeout=lock_timeout,
                         started=time.perf_counter())
            more.append(other.ticket.id)
    await writes.flush(session)
    return run, more


async def _route(session: AsyncSession, loaded: Loaded, writes: Writes, *, attempt: int,
                 lock_timeout: float | None, started: float) -> RoutingRun:
    ticket = loaded.ticket
    before = changes.snapshot(ticket)
    routing = Routing(session, loaded, writes, lock_timeout=lock_timeout)
    await routing.run()
    ticket = routing.ticket
    # `ticket.routed` always; `ticket.status_changed` and `ticket.assigned` as a PATCH would.
    changes.record(session, None, ticket, before, changes.snapshot(ticket),
                   type_=EventType.ticket_routed)
    run = RoutingRun(ticket_id=ticket.id, desk_id=ticket.desk_id, attempt=attempt,
                     outcome="done", matched_rule_ids=routing.matched,
                     actions=[e.as_dict() for e in routing.entries], hops=routing.hops,
                     duration_ms=round((time.perf_counter() - started) * 1000, 3))
    session.add(run)
    return run
