from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import DesksRead, DesksWrite
from app.desks import service
from app.desks.schemas import (
    DeskCreate,
    DeskRead,
    DeskReset,
    DeskUpdate,
    MemberPut,
    MemberRead,
)
from app.models import DeskKind

router = api_router(prefix="/desks", tags=["desks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeskRead,
             responses=problem_responses(409))
async def create_desk(payload: DeskCreate, session: Session, scope: DesksWrite,
                      response: Response) -> DeskRead:
    desk = await service.create(session, scope, payload)
    set_created(response, f"/v1/desks/{desk.id}", desk.version)
    return DeskRead.model_validate(desk)


@router.get("", response_model=Page[DeskRead])
async def list_desks(
    session: Session, scope: DesksRead, page: Pagination,
    kind: DeskKind | None = None,
    archived: Annotated[bool | None, Query(description="Only archived (true) or active (false).")]
    = None,
) -> Page[DeskRead]:
    desks, cursor = await service.list_(session, scope, page, kind=kind, archived=archived)
    return Page(items=[DeskRead.model_validate(d) for d in desks], next_cursor=cursor)


@router.get("/{desk_id}", response_model=DeskRead)
async def get_desk(desk_id: PathId, session: Session, scope: DesksRead,
                   response: Response) -> DeskRead:
    desk = await service.get(session, scope, desk_id)
    set_etag(response, desk.version)
    return DeskRead.model_validate(desk)


@router.patch("/{desk_id}", response_model=DeskRead, responses=problem_responses(409, 412))
async def update_desk(desk_id: PathId, payload: DeskUpdate, session: Session, scope: DesksWrite,
                      response: Response, if_match: IfMatch = None) -> DeskRead:
    desk = await service.update(session, scope, desk_id, payload, if_match)
    set_etag(response, desk.version)
    return DeskRead.model_validate(desk)


@router.delete("/{desk_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(409))
async def delete_desk(desk_id: PathId, session: Session, scope: DesksWrite) -> None:
    await service.delete(session, scope, desk_id)


@router.post("/{desk_id}/archive", response_model=DeskRead)
async def archive_desk(desk_id: PathId, session: Session, scope: DesksWrite) -> DeskRead:
    return DeskRead.model_validate(await service.set_archived(session, scope, desk_id, True))


@router.post("/{desk_id}/unarchive", response_model=DeskRead)
async def unarchive_desk(desk_id: PathId, session: Session, scope: DesksWrite) -> DeskRead:
    return DeskRead.model_validate(await service.set_archived(session, scope, desk_id, False))


@router.post("/{desk_id}/reset", response_model=DeskReset, responses=problem_responses(409))
async def reset_desk(desk_id: PathId, session: Session, scope: DesksWrite) -> DeskReset:
    """Staging and sandbox desks only: delete their tickets, customers and organizations."""
    return DeskReset(desk_id=desk_id, deleted=await service.reset(session, scope, desk_id))


@router.get("/{desk_id}/members", response_model=Page[MemberRead])
async def list_members(desk_id: PathId, session: Session, scope: DesksRead,
                       page: Pagination) -> Page[MemberRead]:
    """The desk's users and teams with their roles, oldest membership first."""
    members, cursor = await service.list_members(session, scope, desk_id, page)
    return Page(items=[MemberRead.model_validate(m) for m in members], next_cursor=cursor)


PUT_MEMBER_RESPONSES: dict[int | str, dict] = {
    201: {"model": MemberRead, "description": "Membership created"}, **problem_responses(409),
}


def _membership(response: Response, result: tuple[Any, bool]) -> MemberRead:
    member, created = result
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return MemberRead.model_validate(member)


@router.put("/{desk_id}/members/{user_id}", response_model=MemberRead,
            responses=PUT_MEMBER_RESPONSES)
async def put_member(desk_id: PathId, user_id: PathId, payload: MemberPut, session: Session,
                     scope: DesksWrite, response: Response) -> MemberRead:
    """Grant a user a role on the desk (201), or change it (200).

    Members are an admin's or a desk manager's (a staff user) to change: an API token that is
    not an admin token, sandbox and desk-limited ones included, gets 403."""
    return _membership(response, await service.put_member(session, scope, desk_id, payload.role,
                                                          user_id=user_id))


@router.delete("/{desk_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(desk_id: PathId, user_id: PathId, session: Session, scope: DesksWrite) -> None:
    """Withdraw a user's role: an admin or a manager of the desk (staff) only, as to grant it."""
    await service.remove_member(session, scope, desk_id, user_id=user_id)


@router.put("/{desk_id}/teams/{team_id}", response_model=MemberRead,
            responses=PUT_MEMBER_RESPONSES)
async def put_team(desk_id: PathId, team_id: PathId, payload: MemberPut, session: Session,
                   scope: DesksWrite, response: Response) -> MemberRead:
    """Grant every member of a team a role on the desk (201), or change it (200); like user
    members, only an admin or a manager of the desk (staff) may."""
    return _membership(response, await service.put_member(session, scope, desk_id, payload.role,
                                                          team_id=team_id))


@router.delete("/{desk_id}/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_team(desk_id: PathId, team_id: PathId, session: Session, scope: DesksWrite) -> None:
    await service.remove_member(session, scope, desk_id, team_id=team_id)
