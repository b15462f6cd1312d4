"""Desks: the isolation boundary. Every function takes the caller's `DeskScope`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import check_if_match
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from app.core.lookup import get_in_scope
from app.core.merge import merge_patch
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope, SubjectKind
from app.desks.schemas import DeskCreate, DeskSettings, DeskUpdate
from app.models import (
    Customer,
    Desk,
    DeskKind,
    DeskMember,
    FormSubmission,
    InboundMessage,
    MemberRole,
    Organization,
    Team,
    Ticket,
    User,
)

RESETTABLE_KINDS = {DeskKind.staging, DeskKind.sandbox}
# Desk-owned content that a reset deletes (configuration such as members stays). Each domain
# adds its tables here as it lands: tickets, customers, organizations.
# Tickets first: their comments, attachments, submissions and survey answers go with them.
RESET_MODELS: tuple[Any, ...] = (Ticket, Customer, Organization, FormSubmission, InboundMessage)


async def get(session: AsyncSession, scope: DeskScope, desk_id: int, *,
              for_update: bool = False, manage: bool = False) -> Desk:
    """A desk the caller sees (404 otherwise); `manage`: one it may reconfigure (403)."""
    if manage:
        scope.check_manages(desk_id)
    return await get_in_scope(session, scope, Desk, desk_id, "Desk", desk_column=Desk.id,
                              for_update=for_update)


async def get_active(session: AsyncSession, scope: DeskScope, desk_id: int, *,
                     manage: bool = False) -> Desk:
    """A desk the caller sees and may add work to (409 once archived)."""
    return _active(await get(session, scope, desk_id, manage=manage))


async def get_active_with(session: AsyncSession, scope: DeskScope, desk_id: int,
                          *columns: Any) -> tuple[Any, ...]:
    """`get_active` plus more values computed in the same query (a hot path's round trip):
    `(desk, *values)`.

    The caller's desks are checked before the query, so the statement is the same for every
    caller and built once per set of columns: building and keying it cost more than running
    it."""
    scope.check_desk(desk_id)
    row = (await session.execute(_desk_with(columns), {"desk_id": desk_id})).first()
    if row is None:
        raise NotFound(f"Desk {desk_id} does not exist.")
    return (_active(row[0]), *row[1:])


@lru_cache(maxsize=8)
def _desk_with(columns: tuple[Any, ...]) -> Any:
    return select(Desk, *columns).where(Desk.id == bindparam("desk_id", type_=Integer))


def _active(desk: Desk) -> Desk:
    if desk.archived_at is not None:
        raise Conflict(f"Desk {desk.id} is archived; unarchive it first.", desk_id=desk.id)
    return desk


async def create(session: AsyncSession, scope: DeskScope, payload: DeskCreate) -> Desk:
    if not scope.all_desks and scope.principal.kind != SubjectKind.user:
        raise Forbidden("A token limited to some desks cannot create desks.")
    desk = Desk(name=payload.name, kind=payload.kind, description=payload.description,
                settings=payload.settings.model_dump(mode="json"))
    await check_inbound_addresses(session, None, desk.settings)
    session.add(desk)
    await session.flush()
    if not scope.all_desks:
        # An agent who creates a desk manages it; otherwise it would vanish from their view.
        session.add(DeskMember(desk_id=desk.id, user_id=scope.principal.id,
                               role=MemberRole.manager))
        await session.flush()
    await session.refresh(desk)
    return desk


async def list_(session: AsyncSession, scope: DeskScope, params: PageParams, *,
                kind: DeskKind | None = None, archived: bool | None = None
                ) -> tuple[list[Desk], str | None]:
    stmt = scope.filter(select(Desk), Desk.id)
    if kind is not None:
        stmt = stmt.where(Desk.kind == kind)
    if archived is not None:
        stmt = stmt.where(Desk.archived_at.is_not(None) if archived else Desk.archived_at.is_(None))
    return await paginate(session, stmt, params, [SortKey(Desk.id)])


def merged_settings(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Pure: apply a merge patch to settings and validate the result (422 per key)."""
    try:
        return DeskSettings.model_validate(merge_patch(current, patch)).model_dump(mode="json")
    except ValidationError as exc:
        errors = [field_error(["body", "settings", *e["loc"]], e["msg"], e["type"])
                  for e in exc.errors()]
        raise Unprocessable("Invalid desk settings.", errors=errors) from exc


def taking_mail_for(addresses: list[str]) -> Any:
    """The condition: the desk's `inbound_addresses` hold one of `addresses`."""
    return Desk.settings["inbound_addresses"].has_any(array(addresses))


# One key for every change of inbound addresses: two desks cannot claim an address at once.
_INBOUND_LOCK = 0x5357_6962  # "SWib"


async def check_inbound_addresses(session: AsyncSession, desk_id: int | None,
                                  settings: dict[str, Any]) -> None:
    """409 when another desk (archived ones too: they may come back) already takes mail for
    one of the addresses: an email must become a ticket in exactly one desk. Serialized by a
    transaction lock, so two desks claiming one address at once cannot both succeed."""
    addresses = settings.get("inbound_addresses") or []
    if not addresses:
        return
    await session.execute(select(func.pg_advisory_xact_lock(_INBOUND_LOCK)))
    stmt = select(Desk.settings["inbound_addresses"]).where(taking_mail_for(addresses))
    if desk_id is not None:
        stmt = stmt.where(Desk.id != desk_id)
    taken = {a for owned in await session.scalars(stmt) for a in owned} & set(addresses)
    if taken:
        shown = ", ".join(sorted(taken))
        raise Conflict(f"Another desk already takes email for {shown}.", errors=[field_error(
            ["body", "settings", "inbound_addresses"], f"already taken: {shown}",
            "address_taken")])


async def update(session: AsyncSession, scope: DeskScope, desk_id: int, payload: DeskUpdate,
                 if_match: str | None) -> Desk:
    desk = await get(session, scope, desk_id, for_update=True, manage=True)
    check_if_match(if_match, desk.version)
    if desk.archived_at is not None:
        raise Conflict(f"Desk {desk_id} is archived; unarchive it first.", desk_id=desk_id)
    if payload.name is not None:
        desk.name = payload.name
    if payload.description is not None:
        desk.description = payload.description
    if payload.settings is not None:
        desk.settings = merged_settings(desk.settings, payload.settings)
        await check_inbound_addresses(session, desk.id, desk.settings)
    await session.flush()
    await session.refresh(desk)
    return desk


async def set_archived(session: AsyncSession, scope: DeskScope, desk_id: int,
                       archived: bool) -> Desk:
    desk = await get(session, scope, desk_id, for_update=True, manage=True)
    if (desk.archived_at is not None) != archived:
        desk.archived_at = utcnow() if archived else None
        await session.flush()
        await session.refresh(desk)
    return desk


async def delete(session: AsyncSession, scope: DeskScope, desk_id: int) -> None:
    desk = await get(session, scope, desk_id, for_update=True, manage=True)
    if desk.archived_at is None:
        raise Conflict(f"Desk {desk_id} is active; archive it before deleting it.")
    await session.delete(desk)
    await session.flush()


async def list_members(session: AsyncSession, scope: DeskScope, desk_id: int,
                       params: PageParams) -> tuple[list[DeskMember], str | None]:
    await get(session, scope, desk_id)
    stmt = select(DeskMember).where(DeskMember.desk_id == desk_id)
    return await paginate(session, stmt, params, [SortKey(DeskMember.id)])


async def put_member(session: AsyncSession, scope: DeskScope, desk_id: int, role: MemberRole,
                     *, user_id: int | None = None, team_id: int | None = None
                     ) -> tuple[DeskMember, bool]:
    """Grant or change a role; returns the membership and whether it is new."""
    await get_active(session, scope, desk_id, manage=True)
    scope.check_manages_members(desk_id)
    if user_id is not None and await session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    if team_id is not None and await session.get(Team, team_id) is None:
        raise NotFound(f"Team {team_id} does not exist.")
    column = DeskMember.user_id if user_id is not None else DeskMember.team_id
    member = await session.scalar(
        select(DeskMember).where(DeskMember.desk_id == desk_id,
                                 column == (user_id if user_id is not None else team_id))
        .with_for_update()
    )
    created = member is None
    if member is None:
        member = DeskMember(desk_id=desk_id, user_id=user_id, team_id=team_id, role=role)
        session.add(member)
    else:
        member.role = role
    await session.flush()
    await session.refresh(member)
    return member, created


async def remove_member(session: AsyncSession, scope: DeskScope, desk_id: int, *,
                        user_id: int | None = None, team_id: int | None = None) -> None:
    await get(session, scope, desk_id, manage=True)
    scope.check_manages_members(desk_id)
    column = DeskMember.user_id if user_id is not None else DeskMember.team_id
    member = await session.scalar(
        select(DeskMember).where(DeskMember.desk_id == desk_id,
                                 column == (user_id if user_id is not None else team_id))
    )
    if member is None:
        what = f"User {user_id}" if user_id is not None else f"Team {team_id}"
        raise NotFound(f"{what} is not a member of desk {desk_id}.")
    await session.delete(member)
    await session.flush()


async def reset(session: AsyncSession, scope: DeskScope, desk_id: int) -> dict[str, int]:
    """Delete a staging or sandbox desk's content; returns the rows deleted per table."""
    desk = await get(session, scope, desk_id, for_update=True, manage=True)
    if desk.kind not in RESETTABLE_KINDS:
        raise Conflict(f"Desk {desk_id} is a {desk.kind} desk; only staging and sandbox desks "
                       "can be reset.")
    if desk.archived_at is not None:
        raise Conflict(f"Desk {desk_id} is archived; unarchive it first.", desk_id=desk_id)
    deleted: dict[str, int] = {}
    for model in RESET_MODELS:
        result = await session.execute(sa_delete(model).where(model.desk_id == desk_id))
        deleted[model.__tablename__] = result.rowcount or 0
    return deleted
