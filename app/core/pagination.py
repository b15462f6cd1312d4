"""Keyset pagination: `{items, next_cursor}` for every list, stable under concurrent inserts.

The cursor is the sort key of the last item returned (plus the sort it belongs to), so rows
inserted meanwhile never shift a page: each page starts strictly after the previous one ended.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import BadRequest

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1–200).")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Pagination = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class SortKey:
    column: InstrumentedAttribute[Any]
    descending: bool = False

    @property
    def name(self) -> str:
        return self.column.key


def encode_cursor(sort_name: str, values: Sequence[Any]) -> str:
    payload = [sort_name, [_encode_value(v) for v in values]]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unreadable_cursor() -> BadRequest:
    return BadRequest("The cursor is not valid for this listing; start again without it.",
                      errors=[{"loc": ["query", "cursor"], "msg": "unreadable cursor",
                               "type": "cursor_invalid"}])


def decode_cursor(cursor: str, sort_name: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, values = json.loads(raw)
        if name != sort_name or not isinstance(values, list) or len(values) != size:
            raise ValueError("cursor belongs to another listing")
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, KeyError, OverflowError, binascii.Error,
            UnicodeDecodeError) as exc:
        raise unreadable_cursor() from exc


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, int | str | float | bool) or value is None:
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        # Cursors only ever hold aware times; UTC keeps a forged far-off offset (year 1 at
        # +05:00) from overflowing later, in the driver.
        moment = datetime.fromisoformat(value["t"])
        if moment.tzinfo is None:
            raise ValueError("a cursor time needs its offset")
        return moment.astimezone(UTC)
    if isinstance(value, int | str | float | bool) or value is None:
        return value
    raise ValueError("bad cursor value")


def _fits(key: SortKey, value: Any) -> bool:
    """Whether a decoded value can be compared with the key's column (a forged cursor cannot)."""
    expected = key.column.type.python_type
    if value is None or (isinstance(value, bool) and expected is not bool):
        return False
    if expected is int and isinstance(value, int):
        bound = 1 << (63 if isinstance(key.column.type, BigInteger) else 31)
        return -bound <= value < bound
    return isinstance(value, expected)


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """The keyset condition `row > values` for keys with mixed directions."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [k.column == v for k, v in zip(keys[:i], values[:i], strict=True)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


async def paginate(session: AsyncSession, stmt: Select[Any], params: PageParams,
                   keys: Sequence[SortKey], *, sort_name: str | None = None
                   ) -> tuple[list[Any], str | None]:
    """Run `stmt` (selecting one entity) for one page; the last key must be unique (the id)."""
    sort_name = sort_name or ",".join(("-" if k.descending else "") + k.name for k in keys)
    if params.cursor is not None:
        values = decode_cursor(params.cursor, sort_name, len(keys))
        if not all(_fits(k, v) for k, v in zip(keys, values, strict=True)):
            raise unreadable_cursor()
        stmt = stmt.where(after(keys, values))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    rows = list((await session.scalars(stmt.order_by(*order).limit(params.limit + 1))).all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor(sort_name, [getattr(last, k.name) for k in keys])
