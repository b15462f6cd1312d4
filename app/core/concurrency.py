"""ETag / If-Match over a row's `version` column."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from app.core.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """Pure: raise 412 when an If-Match header names none of the current version's tags."""
    if if_match is None:
        return
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if "*" in tags or etag(version) in tags:
        return
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the current version {etag(version)}; "
        "fetch the resource again.", current_etag=etag(version),
    )


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag of the version you edited; stale → 412."),
]


def set_created(response: Response, location: str, version: int) -> None:
    """The headers of a 201: where the new resource lives and its first ETag."""
    response.headers["Location"] = location
    set_etag(response, version)
