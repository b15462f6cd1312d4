"""`/v1/desks/{id}/organization-fields` and `/customer-fields` (tickets add theirs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Response, status
from pydantic import ConfigDict

from app.core.boundary import api_router
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.fields import KEY_PATTERN, FieldSpec
from app.core.ids import PathId
from app.core.pagination import Page, Pagination
from app.core.principal import DesksRead, DesksWrite
from app.fields import service
from app.models import FieldDefinition, FieldEntity

router = api_router(tags=["custom fields"])


class FieldRead(FieldSpec):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 7, "desk_id": 1, "created_at": "2026-01-15T09:30:00Z", "key": "plan",
         "label": "Plan", "type": "select", "help": "", "required": False,
         "options": [{"value": "free", "label": "Free"}, {"value": "pro", "label": "Pro"}]},
    ]})

    id: int
    desk_id: int
    created_at: datetime


def _read(row: FieldDefinition) -> FieldRead:
    return FieldRead(id=row.id, desk_id=row.desk_id, created_at=row.created_at, **row.spec)


def _register(entity: FieldEntity) -> None:
    path = f"/desks/{{desk_id}}/{entity.value}-fields"
    noun = entity.value

    async def create_field(desk_id: PathId, payload: FieldSpec, session: Session,
                           scope: DesksWrite, response: Response) -> FieldRead:
        row = await service.create(session, scope, desk_id, entity, payload)
        response.headers["Location"] = f"/v1{path.format(desk_id=desk_id)}/{row.key}"
        return _read(row)

    async def list_fields(desk_id: PathId, session: Session, scope: DesksRead,
                          page: Pagination) -> Page[FieldRead]:
        rows, cursor = await service.list_(session, scope, desk_id, entity, page)
        return Page(items=[_read(r) for r in rows], next_cursor=cursor)

    async def delete_field(desk_id: PathId, key: Annotated[str, Path(pattern=KEY_PATTERN)],
                           session: Session, scope: DesksWrite) -> None:
        await service.delete(session, scope, desk_id, entity, key)

    router.add_api_route(path, create_field, methods=["POST"], status_code=status.HTTP_201_CREATED,
                         response_model=FieldRead, responses=problem_responses(409),
                         name=f"create_{noun}_field", summary=f"Define a {noun} custom field")
    router.add_api_route(path, list_fields, methods=["GET"], response_model=Page[FieldRead],
                         name=f"list_{noun}_fields", summary=f"List the desk's {noun} fields")
    router.add_api_route(f"{path}/{{key}}", delete_field, methods=["DELETE"],
                         status_code=status.HTTP_204_NO_CONTENT, name=f"delete_{noun}_field",
                         summary=f"Delete a {noun} field (stored values stay)")


for _entity in FieldEntity:
    _register(_entity)
