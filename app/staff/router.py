from __future__ import annotations

from fastapi import Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import AdminScope
from app.models import Team
from app.staff import service
from app.staff.schemas import TeamCreate, TeamRead, UserCreate, UserRead, UserUpdate

router = api_router(tags=["staff"])


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserRead,
             responses=problem_responses(409))
async def create_user(payload: UserCreate, session: Session, _: AdminScope,
                      response: Response) -> UserRead:
    user = await service.create_user(session, payload)
    set_created(response, f"/v1/users/{user.id}", user.version)
    return UserRead.model_validate(user)


@router.get("/users", response_model=Page[UserRead])
async def list_users(session: Session, _: AdminScope, page: Pagination) -> Page[UserRead]:
    users, cursor = await service.list_users(session, page)
    return Page(items=[UserRead.model_validate(u) for u in users], next_cursor=cursor)


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: PathId, session: Session, _: AdminScope, response: Response) -> UserRead:
    user = await service.get_user(session, user_id)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead, responses=problem_responses(412))
async def update_user(user_id: PathId, payload: UserUpdate, session: Session, _: AdminScope,
                      response: Response, if_match: IfMatch = None) -> UserRead:
    user = await service.update_user(session, user_id, payload, if_match)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


async def _read_teams(session: Session, teams: list[Team]) -> list[TeamRead]:
    members = await service.member_ids(session, [t.id for t in teams])
    return [TeamRead(id=t.id, name=t.name, description=t.description, member_ids=members[t.id],
                     created_at=t.created_at) for t in teams]


@router.post("/teams", status_code=status.HTTP_201_CREATED, response_model=TeamRead,
             responses=problem_responses(409))
async def create_team(payload: TeamCreate, session: Session, _: AdminScope,
                      response: Response) -> TeamRead:
    team = await service.create_team(session, payload)
    response.headers["Location"] = f"/v1/teams/{team.id}"
    return (await _read_teams(session, [team]))[0]


@router.get("/teams", response_model=Page[TeamRead])
async def list_teams(session: Session, _: AdminScope, page: Pagination) -> Page[TeamRead]:
    teams, cursor = await service.list_teams(session, page)
    return Page(items=await _read_teams(session, teams), next_cursor=cursor)


@router.get("/teams/{team_id}", response_model=TeamRead)
async def get_team(team_id: PathId, session: Session, _: AdminScope) -> TeamRead:
    return (await _read_teams(session, [await service.get_team(session, team_id)]))[0]


@router.put("/teams/{team_id}/members/{user_id}", response_model=TeamRead)
async def add_team_member(team_id: PathId, user_id: PathId, session: Session,
                          _: AdminScope) -> TeamRead:
    await service.add_team_member(session, team_id, user_id)
    return (await _read_teams(session, [await service.get_team(session, team_id)]))[0]


@router.delete("/teams/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_team_member(team_id: PathId, user_id: PathId, session: Session,
                             _: AdminScope) -> None:
    await service.remove_team_member(session, team_id, user_id)
