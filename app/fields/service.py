"""Custom field definitions per desk and kind of record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.fields import FieldSpec, validate_values
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.desks import service as desks
from app.models import Desk, FieldDefinition


async def specs(session: AsyncSession, desk_id: int, entity: str) -> list[FieldSpec]:
    rows = await session.scalars(
        select(FieldDefinition.spec)
        .where(FieldDefinition.desk_id == desk_id, FieldDefinition.entity == entity,
               FieldDefinition.active.is_(True))
        .order_by(FieldDefinition.id)
    )
    return [FieldSpec.model_validate(s) for s in rows]


def specs_column(entity: str) -> Any:
    """The desk's field specs of `entity` as one JSON array, to select beside the desk."""
    return (select(func.coalesce(
        func.jsonb_agg(aggregate_order_by(FieldDefinition.spec, FieldDefinition.id)),
        literal_column("'[]'::jsonb")))
        .where(FieldDefinition.desk_id == Desk.id, FieldDefinition.entity == entity,
               FieldDefinition.active.is_(True))
        .scalar_subquery())


async def clean(session: AsyncSession, desk_id: int, entity: str, values: dict[str, Any],
                loc: Sequence[str | int], *, partial: bool = False) -> dict[str, Any]:
    """Validate custom field values for a record of `entity` in a desk, or raise 422."""
    return check(await specs(session, desk_id, entity), values, loc, partial=partial)


def check(field_specs: list[FieldSpec] | list[dict[str, Any]], values: dict[str, Any],
          loc: Sequence[str | int], *, partial: bool = False) -> dict[str, Any]:
    """Pure: `values` cleaned against the specs, or 422 naming every bad field."""
    parsed = [s if isinstance(s, FieldSpec) else FieldSpec.model_validate(s) for s in field_specs]
    cleaned, errors = validate_values(parsed, values, loc, partial=partial)
    if errors:
        raise Unprocessable("Invalid custom fields.", errors=errors)
    return cleaned


async def create(session: AsyncSession, scope: DeskScope, desk_id: int, entity: str,
                 spec: FieldSpec) -> FieldDefinition:
    await desks.get_active(session, scope, desk_id, manage=True)
    exists = await session.scalar(select(FieldDefinition.id).where(
        FieldDefinition.desk_id == desk_id, FieldDefinition.entity == entity,
        FieldDefinition.key == spec.key))
    if exists is not None:
        raise Conflict(f"Desk {desk_id} already defines a {entity} field {spec.key!r}.")
    row = FieldDefinition(desk_id=desk_id, entity=entity, key=spec.key,
                          spec=spec.model_dump(mode="json", exclude_none=True))
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def list_(session: AsyncSession, scope: DeskScope, desk_id: int, entity: str,
                params: PageParams) -> tuple[list[FieldDefinition], str | None]:
    await desks.get(session, scope, desk_id)
    stmt = select(FieldDefinition).where(
        FieldDefinition.desk_id == desk_id, FieldDefinition.entity == entity,
        FieldDefinition.active.is_(True))
    return await paginate(session, stmt, params, [SortKey(FieldDefinition.id)])


async def delete(session: AsyncSession, scope: DeskScope, desk_id: int, entity: str,
                 key: str) -> None:
    await desks.get(session, scope, desk_id, manage=True)
    row = await session.scalar(select(FieldDefinition).where(
        FieldDefinition.desk_id == desk_id, FieldDefinition.entity == entity,
        FieldDefinition.key == key))
    if row is None:
        raise NotFound(f"Desk {desk_id} has no {entity} field {key!r}.")
    await session.delete(row)
    await session.flush()
