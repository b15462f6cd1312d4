"""Row ids: PostgreSQL `integer`s. Declaring their range makes an impossible id a 422, not a 500.

Use `Id` for ids in request bodies (`desk_ids: list[Id]`) and `PathId` for ids in the path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

INT4_MAX = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
PathId = Annotated[int, Path(ge=1, le=INT4_MAX)]
QueryId = Annotated[int, Query(ge=1, le=INT4_MAX)]
