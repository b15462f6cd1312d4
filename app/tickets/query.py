"""Finding tickets: filters, sorts, keyset pages, ranked full-text search, board, CSV export.

Every query is scoped (`scope.filter`) and leads with `desk_id` where the caller names a desk,
so the `(desk_id, …)` indexes serve it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.enums import Priority, TicketStatus
from app.core.ids import INT4_MAX, Id
from app.core.pagination import (
    PageParams,
    SortKey,
    decode_cursor,
    encode_cursor,
    paginate,
    unreadable_cursor,
)
from app.core.scope import DeskScope
from app.core.text import Text
from app.core.timestamps import UtcDatetime
from app.desks import service as desks
from app.desks.schemas import DeskSettings
from app.models import PRIORITY_NAME, PRIORITY_RANK, Customer, Desk, Ticket
from app.tickets.schemas import Board, BoardColumn, Tag, TicketRead, TicketSort

# Ranked search orders the most recent matches by relevance: ranking every match of a word
# found in a fifth of a million tickets would read them all, for a page of 50.
SEARCH_WINDOW = 500


class TicketFilters(BaseModel):
    """The list filters; also what a saved view stores."""

    model_config = ConfigDict(extra="forbid")

    desk_id: Id | None = None
    status: list[TicketStatus] = Field(default_factory=list)
    priority: list[Priority] = Field(default_factory=list)
    assignee_id: Id | None = None
    team_id: Id | None = None
    organization_id: Id | None = None
    requester_id: Id | None = None
    tag: list[Tag] = Field(default_factory=list, description="Tickets carrying every tag.")
    q: Text | None = Field(None, max_length=500, description="Full text: subject, description, "
                                                             "comments.")
    created_after: UtcDatetime | None = None
    updated_after: UtcDatetime | None = None
    custom_fields: dict[Text, Text] = Field(
        default_factory=dict, description="`custom_fields.KEY=value` query parameters.")


SORTS: dict[str, list[SortKey]] = {
    "created_at": [SortKey(Ticket.created_at), SortKey(Ticket.id)],
    "-created_at": [SortKey(Ticket.created_at, True), SortKey(Ticket.id, True)],
    "updated_at": [SortKey(Ticket.updated_at), SortKey(Ticket.id)],
    "-updated_at": [SortKey(Ticket.updated_at, True), SortKey(Ticket.id, True)],
    "priority": [SortKey(Ticket.priority), SortKey(Ticket.id)],
    "-priority": [SortKey(Ticket.priority, True), SortKey(Ticket.id, True)],
}
DEFAULT_SORT = TicketSort.created_at_desc


# A JSON number as a query parameter spells it; not Python's float() ("nan", "1_000", "inf").
NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(raw: str) -> int | float | None:
    text = raw.strip()
    if not NUMBER.fullmatch(text):
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    number = float(text)
    if not math.isfinite(number):  # 1e400: no stored value is that large
        return None
    return int(number) if number.is_integer() else number


def _custom_field_clause(key: str, raw: str) -> ColumnElement[bool]:
    """`custom_fields.KEY=value`: the stored value equals it as text, number or boolean, or a
    multiselect holds it (all `@>`, which the GIN index answers)."""
    candidates: list[Any] = [raw, [raw]]
    number = _number(raw)
    if number is not None:
        candidates.append(number)
    if raw.lower() in {"true", "false"}:
        candidates.append(raw.lower() == "true")
    return or_(*(Ticket.custom_fields.contains({key: c}) for c in candidates))


def clauses(f: TicketFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.desk_id is not None:
        where.append(Ticket.desk_id == f.desk_id)
    if f.status:
        where.append(Ticket.status.in_([s.value for s in f.status]))
    if f.priority:
        where.append(Ticket.priority.in_([PRIORITY_RANK[p] for p in f.priority]))
    for column, value in ((Ticket.assignee_id, f.assignee_id), (Ticket.team_id, f.team_id),
                          (Ticket.organization_id, f.organization_id),
                          (Ticket.requester_id, f.requester_id)):
        if value is not None:
            where.append(column == value)
    if f.tag:
        where.append(Ticket.tags.contains(list(f.tag)))
    if f.created_after is not None:
        where.append(Ticket.created_at > f.created_after)
    if f.updated_after is not None:
        where.append(Ticket.updated_at > f.updated_after)
    for key, value in f.custom_fields.items():
        where.append(_custom_field_clause(key, value))
    return where


async def _tsquery(session: AsyncSession, scope: DeskScope, f: TicketFilters) -> Any:
    """The query in each text-search language of the desks searched, OR-ed together."""
    stmt = scope.filter(select(Desk.settings), Desk.id)
    if f.desk_id is not None:
        stmt = stmt.where(Desk.id == f.desk_id)
    languages = sorted({DeskSettings.model_validate(s).language.value
                        for s in (await session.scalars(stmt)).all()}) or ["simple"]
    queries = [func.websearch_to_tsquery(literal_column(f"'{lang}'::regconfig"), f.q)
               for lang in languages]
    combined = queries[0]
    for query in queries[1:]:
        combined = combined.op("||")(query)
    return combined


def _base(scope: DeskScope, f: TicketFilters) -> Any:
    return scope.filter(select(Ticket), Ticket).where(*clauses(f))


async def list_tickets(session: AsyncSession, scope: DeskScope, f: TicketFilters,
                       sort: TicketSort | None, params: PageParams
                       ) -> tuple[list[Ticket], str | None]:
    if f.desk_id is not None:
        scope.check_desk(f.desk_id)
    if f.q and sort is None:
        return await _ranked(session, scope, f, params)
    stmt = _base(scope, f)
    if f.q:
        stmt = stmt.where(Ticket.search.op("@@")(await _tsquery(session, scope, f)))
    sort = sort or DEFAULT_SORT
    return await paginate(session, stmt, params, SORTS[sort.value], sort_name=sort.value)


async def _ranked(session: AsyncSession, scope: DeskScope, f: TicketFilters,
                  params: PageParams) -> tuple[list[Ticket], str | None]:
    """Most relevant first among the SEARCH_WINDOW most recent matches; cursor (rank, id)."""
    tsq = await _tsquery(session, scope, f)
    # Newest first: for a common word the (desk_id, created_at, id) index walks back and stops
    # after SEARCH_WINDOW matches; for a rare one the GIN index finds the few there are.
    window = (scope.filter(select(Ticket.id, Ticket.search), Ticket)
              .where(*clauses(f), Ticket.search.op("@@")(tsq))
              .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(SEARCH_WINDOW)
              .subquery("matches"))
    rank = func.ts_rank(window.c.search, tsq)
    ranked = (select(window.c.id, rank.label("rank")).subquery("ranked"))
    stmt = select(Ticket, ranked.c.rank).join(ranked, ranked.c.id == Ticket.id)
    if params.cursor is not None:
        last_rank, last_id = decode_cursor(params.cursor, "rank", 2)
        if (isinstance(last_rank, bool) or not isinstance(last_rank, int | float)
                or isinstance(last_id, bool) or not isinstance(last_id, int)
                or not 0 < last_id <= INT4_MAX):
            raise unreadable_cursor()
        stmt = stmt.where(or_(ranked.c.rank < last_rank,
                              and_(ranked.c.rank == last_rank, Ticket.id < last_id)))
    rows = (await session.execute(stmt.order_by(ranked.c.rank.desc(), Ticket.id.desc())
                                  .limit(params.limit + 1))).all()
    tickets = [r[0] for r in rows[: params.limit]]
    if len(rows) <= params.limit:
        return tickets, None
    last = rows[params.limit - 1]
    return tickets, encode_cursor("rank", [float(last[1]), last[0].id])


async def board(session: AsyncSession, scope: DeskScope, desk_id: int, cards: int) -> Board:
    """Per status, in lifecycle order: the count and the newest cards (one round trip each)."""
    await desks.get(session, scope, desk_id)
    counts = dict((await session.execute(
        select(Ticket.status, func.count()).where(Ticket.desk_id == desk_id)
        .group_by(Ticket.status))).all())
    newest = union_all(*(
        select(Ticket.id).where(Ticket.desk_id == desk_id, Ticket.status == status.value)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(cards)
        for status in TicketStatus
    )).subquery()
    rows = (await session.scalars(select(Ticket).where(Ticket.id.in_(select(newest.c.id)))
                                  .order_by(Ticket.created_at.desc(), Ticket.id.desc()))).all()
    by_status: dict[str, list[TicketRead]] = {s.value: [] for s in TicketStatus}
    for ticket in rows:
        by_status[ticket.status].append(TicketRead.model_validate(ticket))
    return Board(desk_id=desk_id, columns=[
        BoardColumn(status=s, count=counts.get(s.value, 0), cards=by_status[s.value])
        for s in TicketStatus
    ])


# --- CSV export -----------------------------------------------------------------------------

EXPORT_COLUMNS: dict[str, Any] = {
    "id": Ticket.id, "desk_id": Ticket.desk_id, "number": Ticket.number,
    "subject": Ticket.subject, "status": Ticket.status, "priority": Ticket.priority,
    "type": Ticket.type, "requester_id": Ticket.requester_id,
    "requester_email": Customer.email, "organization_id": Ticket.organization_id,
    "assignee_id": Ticket.assignee_id, "team_id": Ticket.team_id, "tags": Ticket.tags,
    "due_at": Ticket.due_at, "source": Ticket.source, "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at, "solved_at": Ticket.solved_at,
    "first_responded_at": Ticket.first_responded_at, "description": Ticket.description,
    "custom_fields": Ticket.custom_fields,
}
DEFAULT_EXPORT_COLUMNS = ["id", "desk_id", "number", "subject", "status", "priority",
                          "requester_email", "assignee_id", "tags", "created_at", "updated_at"]
EXPORT_BATCH = 2000


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "priority":
        return PRIORITY_NAME.get(value, value)
    if name == "tags":
        return " ".join(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


async def export_csv(sessionmaker: async_sessionmaker[AsyncSession], scope: DeskScope,
                     f: TicketFilters, sort: TicketSort | None,
                     columns: list[str]) -> AsyncIterator[bytes]:
    """Stream the matching tickets as CSV from a server-side cursor: memory stays flat."""
    sort = sort or DEFAULT_SORT
    keys = SORTS[sort.value]
    stmt = (scope.filter(select(*(EXPORT_COLUMNS[c] for c in columns)), Ticket)
            .select_from(Ticket).where(*clauses(f))
            .order_by(*(k.column.desc() if k.descending else k.column for k in keys)))
    if "requester_email" in columns:
        stmt = stmt.join(Customer, Customer.id == Ticket.requester_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    async with sessionmaker() as session:
        if f.q:
            stmt = stmt.where(Ticket.search.op("@@")(await _tsquery(session, scope, f)))
        result = await session.stream(stmt.execution_options(yield_per=EXPORT_BATCH))
        async for partition in result.partitions():
            for row in partition:
                writer.writerow([_cell(c, v) for c, v in zip(columns, row, strict=True)])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
