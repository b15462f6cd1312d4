"""Tickets: create, read, change, transfer; comments. Lists and search live in `query.py`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import REGCLASS, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core import jobs, outbox
from app.core.concurrency import check_if_match
from app.core.db import REUSE_PLANS, utcnow
from app.core.domains import email_domain
from app.core.enums import TicketStatus
from app.core.errors import Conflict, Unprocessable, invalid
from app.core.lookup import get_in_scope
from app.core.outbox import EventType
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.customers import service as customers
from app.desks import service as desks
from app.desks.members import check_assignee, check_team
from app.desks.schemas import DeskSettings
from app.fields import service as fields
from app.models import (
    PRIORITY_RANK,
    Attachment,
    Comment,
    Customer,
    Desk,
    DeskMember,
    FieldEntity,
    SurveyResponse,
    Ticket,
)
from app.tickets import changes
from app.tickets.schemas import Author, CommentCreate, CommentRead, TicketCreate, TicketRead, TicketUpdate

OPEN_STATUSES = ("new", "open", "pending", "on_hold")

# The desk's ticket field specs, selected beside the desk on the create path (built once).
TICKET_FIELD_SPECS = fields.specs_column(FieldEntity.ticket)


def read(ticket: Ticket) -> TicketRead:
    return TicketRead.model_validate(ticket)


def language(desk: Desk) -> str:
    return DeskSettings.model_validate(desk.settings).language.value


WEIGHT = {w: literal_column(f"'{w}'::\"char\"") for w in "ABC"}


def search_vector(config: str, subject: Any, description: Any, comments: Any = "") -> Any:
    """Subject weighs most, then the description, then the comments."""
    cfg = literal_column(f"'{config}'::regconfig")
    return (func.setweight(func.to_tsvector(cfg, subject), WEIGHT["A"])
            .op("||")(func.setweight(func.to_tsvector(cfg, description), WEIGHT["B"]))
            .op("||")(func.setweight(func.to_tsvector(cfg, comments), WEIGHT["C"])))


NUMBERS = "desk_ticket_numbers_"
"""Each desk numbers its tickets from a sequence of its own, `desk_ticket_numbers_<desk id>`,
created and dropped with the desk by a trigger on `desks` (migration 0013)."""


def _numbers(desk_id: Any) -> Any:
    """The desk's ticket number sequence (a regclass), found by name at run time."""
    return cast(func.concat(literal_column(f"'{NUMBERS}'"), desk_id), REGCLASS)


def _take_number(desk_id: Any) -> Any:
    """The desk's next ticket number: `nextval` takes no lock that lasts, so creates in one
    desk never wait for each other's commit (a counter row's lock, held from the INSERT to
    the commit, serialised a busy desk: tests/tickets/test_concurrency.py, the single-desk run
    of scripts/bench/tickets.py). Numbers are unique and increase in the order they are
    taken; a create that rolls back leaves a gap."""
    return func.nextval(_numbers(desk_id))


def last_number(desk_id: Any) -> Any:
    """The desk's last number taken (NULL before its first ticket)."""
    return func.pg_sequence_last_value(_numbers(desk_id))


async def next_number(session: AsyncSession, desk_id: int) -> int:
    """The desk's next ticket number, in one round trip."""
    return int(await session.scalar(select(_take_number(desk_id))))  # type: ignore[arg-type]


async def _requester(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                     payload: TicketCreate) -> Customer:
    if payload.requester_id is not None:
        customer = await session.scalar(select(Customer).where(
            Customer.id == payload.requester_id, Customer.desk_id == desk.id))
        if customer is None:
            raise invalid(["body", "requester_id"],
                          f"customer {payload.requester_id} is not in desk {desk.id}")
        return customer
    assert payload.requester is not None
    customer, _ = await customers.find_or_create(
        session, scope, desk, payload.requester.email, name=payload.requester.name,
        loc=("body", "requester", "email"))
    return customer


_TICKET_VALUES = ("desk_id", "subject", "description", "status", "priority", "type",
                  "assignee_id", "team_id", "tags", "custom_fields", "due_at", "source",
                  "form_id", "solved_at")


def _numbered_values(language: str, requester: Any = None) -> dict[str, Any]:
    """A new ticket's column values: bound parameters, the desk's next number, and the
    requester's columns (bound too, unless from `requester`). With `requester`, the number is
    taken only for the row the requester gives: none when there is no requester (and so no
    ticket)."""
    table = Ticket.__table__
    values = {c: bindparam(c, type_=table.c[c].type) for c in _TICKET_VALUES}
    if requester is None:
        values |= {c: bindparam(c, type_=table.c[c].type)
                   for c in ("requester_id", "organization_id")}
    else:
        values |= {"requester_id": requester.c.id,
                   "organization_id": requester.c.organization_id}
    values |= {"number": _take_number(values["desk_id"]),
               "version": literal(1), "routing_state": literal("pending"),
               "search": search_vector(language, values["subject"], values["description"])}
    return values


_RETURNED = [c for c in Ticket.__table__.c if c.key != "search"]


@lru_cache(maxsize=32)
def _insert_statement(language: str) -> Any:
    """INSERT of a ticket numbered from the desk's sequence, built once per search language:
    only the values change from one ticket to the next."""
    values = _numbered_values(language)
    core = insert(Ticket.__table__).values(**values).returning(*_RETURNED)
    return select(Ticket).from_statement(core)


@lru_cache(maxsize=32)
def _insert_with_requester_statement(language: str) -> Any:
    """`_insert_statement` with its requester found or inserted by email in the same statement
    (`customers.found_or_inserted`): (ticket, customer, customer created) in one round trip, or
    no row when a concurrent request inserted that customer meanwhile."""
    requester = customers.found_or_inserted()
    values = _numbered_values(language, requester)
    ticket = (insert(Ticket.__table__).from_select(list(values), select(*values.values()))
              .returning(*_RETURNED).cte("ticket"))
    return (select(aliased(Ticket, ticket), aliased(Customer, requester), requester.c.created)
            .join_from(ticket, requester, ticket.c.requester_id == requester.c.id))


async def create(session: AsyncSession, scope: DeskScope | None, payload: TicketCreate, *,
                 desk: Desk | None = None, form_id: int | None = None) -> Ticket:
    """Create a ticket from any source; `scope` None is the system (forms, email).

    The hot path of the API: the desk and its ticket fields come in one query; the requester,
    found or inserted, and the ticket with its number in one INSERT; both events in one
    multi-row INSERT at the commit; all but the first on plans PostgreSQL made once.
    """
    if desk is None:
        assert scope is not None
        # The API's path: the rest of the transaction (requester, ticket, events) reuses plans.
        desk, field_specs, _ = await desks.get_active_with(
            session, scope, payload.desk_id, TICKET_FIELD_SPECS, REUSE_PLANS)
    else:
        field_specs = await fields.specs(session, desk.id, FieldEntity.ticket)
    custom = fields.check(field_specs, payload.custom_fields, ["body", "custom_fields"])
    # A requester by email, in a desk that does not create organizations, is found or inserted
    # by the ticket's own INSERT; any other is found (or made) first.
    by_email = None
    if payload.requester is not None:
        email = customers.normalized(payload.requester.email, ("body", "requester", "email"))
        domain = email_domain(email)
        if not customers.may_create_organization(desk, domain):
            by_email = email, domain
    requester = None if by_email else await _requester(session, scope, desk, payload)
    if payload.assignee_id is not None:
        await check_assignee(session, desk.id, payload.assignee_id, ["body", "assignee_id"])
    if payload.team_id is not None:
        await check_team(session, desk.id, payload.team_id, ["body", "team_id"])
    settings = DeskSettings.model_validate(desk.settings)
    priority = payload.priority or settings.default_priority
    values = {
        "desk_id": desk.id, "subject": payload.subject, "description": payload.description,
        "status": payload.status.value, "priority": PRIORITY_RANK[priority],
        "type": payload.type, "assignee_id": payload.assignee_id,
        "team_id": payload.team_id, "tags": payload.tags,
        "custom_fields": {k: v for k, v in custom.items() if v is not None},
        "due_at": payload.due_at, "source": payload.source.value, "form_id": form_id,
        "solved_at": changes.solved_at(payload.status, None, utcnow()),
    }
    ticket = await _insert(session, scope, desk, payload, values, settings.language.value,
                           requester, by_email)
    outbox.record(session, type=EventType.ticket_created, desk_id=desk.id, subject_type="ticket",
                  subject_id=ticket.id, data=read(ticket), scope=scope)
    jobs.defer(session, "route_ticket", job_id=route_job_id(ticket.id), ticket_id=ticket.id)
    return ticket


async def _insert(session: AsyncSession, scope: DeskScope | None, desk: Desk,
                  payload: TicketCreate, values: dict[str, Any], language: str,
                  requester: Customer | None, by_email: tuple[str, str] | None) -> Ticket:
    """The ticket with `requester`, or with the customer of `by_email` (address, domain) found
    or inserted in the same statement; after losing the race for a new customer to a
    concurrent request (no row, no number taken), with the customer that request committed."""
    if requester is None:
        assert by_email is not None and payload.requester is not None
        email, domain = by_email
        row = (await session.execute(_insert_with_requester_statement(language), {
            **values, "email": email, "email_domain": domain,
            "name": payload.requester.name, "phone": None})).first()
        if row is not None:
            ticket, customer, created = row
            if created:
                customers.record_created(session, customer, scope)
            return ticket
        requester = await _requester(session, scope, desk, payload)  # type: ignore[arg-type]
    ticket = await session.scalar(_insert_statement(language), {
        **values, "requester_id": requester.id, "organization_id": requester.organization_id})
    assert ticket is not None
    return ticket


def route_job_id(ticket_id: int) -> str:
    """One routing job per ticket: enqueueing it twice runs it once."""
    return f"route:{ticket_id}"


async def get(session: AsyncSession, scope: DeskScope, ticket_id: int, *,
              for_update: bool = False) -> Ticket:
    return await get_in_scope(session, scope, Ticket, ticket_id, "Ticket", for_update=for_update)


def _comments_text(ticket_id: Any) -> ColumnElement[Any]:
    return func.coalesce(select(func.string_agg(Comment.body, " "))
                         .where(Comment.ticket_id == ticket_id).scalar_subquery(), "")


async def update(session: AsyncSession, scope: DeskScope, ticket_id: int, payload: TicketUpdate,
                 if_match: str | None) -> Ticket:
    ticket = await get(session, scope, ticket_id, for_update=True)
    check_if_match(if_match, ticket.version)
    changes.check_changeable(ticket)
    before = changes.snapshot(ticket)
    sent = payload.model_fields_set
    requested: dict[str, Any] = {}
    if payload.subject is not None:
        requested["subject"] = payload.subject
    if payload.description is not None:
        requested["description"] = payload.description
    if payload.priority is not None:
        requested["priority"] = payload.priority
    if "type" in sent:
        requested["type"] = payload.type
    if payload.tags is not None:
        requested["tags"] = payload.tags
    if "due_at" in sent:
        requested["due_at"] = payload.due_at
    if "assignee_id" in sent:
        if payload.assignee_id is not None:
            await check_assignee(session, ticket.desk_id, payload.assignee_id,
                                 ["body", "assignee_id"])
        requested["assignee_id"] = payload.assignee_id
    if "team_id" in sent:
        if payload.team_id is not None:
            await check_team(session, ticket.desk_id, payload.team_id, ["body", "team_id"])
        requested["team_id"] = payload.team_id
    if payload.custom_fields is not None:
        requested["custom_fields"] = await fields.clean(
            session, ticket.desk_id, FieldEntity.ticket, payload.custom_fields,
            ["body", "custom_fields"], partial=True)
    if payload.status is not None:
        requested["status"] = payload.status
    for column, value in changes.apply_changes(changes.current(ticket), requested,
                                               utcnow()).items():
        setattr(ticket, column, value)
    if payload.subject is not None or payload.description is not None:
        desk = await session.get_one(Desk, ticket.desk_id)
        ticket.search = search_vector(language(desk), ticket.subject, ticket.description,
                                      _comments_text(ticket.id))
    ticket.updated_at = func.now()
    await session.flush()
    await session.refresh(ticket)
    changes.record(session, scope, ticket, before, changes.snapshot(ticket))
    return ticket


async def _assignee_in(session: AsyncSession, desk_id: int, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    try:
        await check_assignee(session, desk_id, user_id, ["body", "assignee_id"])
    except Unprocessable:
        return None
    return user_id


async def _team_in(session: AsyncSession, desk_id: int, team_id: int | None) -> int | None:
    if team_id is None:
        return None
    has = await session.scalar(select(DeskMember.id).where(
        DeskMember.desk_id == desk_id, DeskMember.team_id == team_id))
    return team_id if has is not None else None


# Desk-owned rows that belong to a ticket and go where it goes. (Inbound messages stay with the
# desk that received them: their Message-IDs are deduplicated per receiving desk.)
TICKET_CHILDREN: tuple[Any, ...] = (Comment, Attachment, SurveyResponse)


async def move(session: AsyncSession, scope: DeskScope | None, ticket: Ticket, target: Desk,
               requester: Customer) -> Ticket:
    """Move a ticket into `target` (checked by the caller): new number there, the requester
    given, the assignee and team kept only where they have access."""
    source = ticket.desk_id
    before = changes.snapshot(ticket)
    ticket.desk_id = target.id
    ticket.number = await next_number(session, target.id)
    ticket.requester_id = requester.id
    ticket.organization_id = requester.organization_id
    ticket.assignee_id = await _assignee_in(session, target.id, ticket.assignee_id)
    ticket.team_id = await _team_in(session, target.id, ticket.team_id)
    # Searched in the target desk's language from now on: stem the text again in it.
    ticket.search = search_vector(language(target), ticket.subject, ticket.description,
                                  _comments_text(ticket.id))
    ticket.updated_at = func.now()
    await session.flush()
    for child in TICKET_CHILDREN:
        await session.execute(sa_update(child).where(child.ticket_id == ticket.id)
                              .values(desk_id=target.id))
    await session.refresh(ticket)
    after = changes.snapshot(ticket)
    diff = changes.diff(before, after)
    diff["desk_id"] = [source, target.id]
    outbox.record(session, type=EventType.ticket_transferred, desk_id=ticket.desk_id,
                  subject_type="ticket", subject_id=ticket.id, data=after, scope=scope,
                  changes=diff)
    return ticket


async def transfer(session: AsyncSession, scope: DeskScope, ticket_id: int,
                   target_desk_id: int) -> Ticket:
    ticket = await get(session, scope, ticket_id, for_update=True)
    target = await desks.get_active(session, scope, target_desk_id)
    if target.id == ticket.desk_id:
        raise invalid(["body", "desk_id"], "the ticket is already in this desk")
    if ticket.status == TicketStatus.closed:
        raise Conflict(f"Ticket {ticket_id} is closed; closed tickets cannot move.")
    current = await session.get_one(Customer, ticket.requester_id)
    requester, _ = await customers.find_or_create(session, scope, target, current.email,
                                                  name=current.name, phone=current.phone)
    return await move(session, scope, ticket, target, requester)


async def move_open_tickets(session: AsyncSession, scope: DeskScope | None, customer: Customer,
                            source_desk_id: int, move_open: bool) -> None:
    """A customer moved (`transfers`): its unsolved tickets follow it into its new desk."""
    if not move_open:
        return
    target = await session.get_one(Desk, customer.desk_id)
    tickets = (await session.scalars(
        select(Ticket).where(Ticket.requester_id == customer.id, Ticket.desk_id == source_desk_id,
                             Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id).with_for_update().execution_options(populate_existing=True))).all()
    for ticket in tickets:
        await move(session, scope, ticket, target, customer)



# --- comments -------------------------------------------------------------------------------

def read_comment(comment: Comment) -> CommentRead:
    return CommentRead(id=comment.id, ticket_id=comment.ticket_id, desk_id=comment.desk_id,
                       author=Author(kind=comment.author_kind, id=comment.author_id),  # type: ignore[arg-type]
                       body=comment.body, public=comment.public, created_at=comment.created_at)


async def add_comment(session: AsyncSession, scope: DeskScope | None, ticket: Ticket,
                      payload: CommentCreate, *, author_kind: str | None = None,
                      author_id: int | None = None) -> Comment:
    """A reply or note by the caller (or, for intake, by `author_kind`/`author_id`)."""
    if ticket.status == TicketStatus.closed:
        raise Conflict(f"Ticket {ticket.id} is closed; open a follow-up ticket instead.")
    if author_kind is None:
        author_kind = scope.principal.kind if scope is not None else "system"
        author_id = scope.principal.id if scope is not None else None
    comment = Comment(ticket_id=ticket.id, desk_id=ticket.desk_id, author_kind=author_kind,
                      author_id=author_id, body=payload.body, public=payload.public)
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    desk = await session.get_one(Desk, ticket.desk_id)
    cfg = literal_column(f"'{language(desk)}'::regconfig")
    values: dict[str, Any] = {
        "updated_at": func.now(),
        "search": Ticket.search.op("||")(func.setweight(func.to_tsvector(cfg, payload.body), WEIGHT["C"])),
    }
    staff_reply = payload.public and author_kind in {"user", "api_token"}
    if staff_reply and ticket.first_responded_at is None:
        values["first_responded_at"] = func.coalesce(Ticket.first_responded_at, func.now())
    # Core UPDATE: a comment does not bump the ticket's version (no spurious 412s for editors).
    await session.execute(sa_update(Ticket).where(Ticket.id == ticket.id).values(**values)
                          .execution_options(synchronize_session=False))
    outbox.record(session, type=EventType.comment_created, desk_id=ticket.desk_id,
                  subject_type="ticket", subject_id=ticket.id, data=read_comment(comment),
                  scope=scope)
    return comment


async def list_comments(session: AsyncSession, scope: DeskScope, ticket_id: int,
                        params: PageParams, *, public: bool | None = None
                        ) -> tuple[list[Comment], str | None]:
    await get(session, scope, ticket_id)
    stmt = select(Comment).where(Comment.ticket_id == ticket_id)
    if public is not None:
        stmt = stmt.where(Comment.public.is_(public))
    return await paginate(session, stmt, params, [SortKey(Comment.id)])


