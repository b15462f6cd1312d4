"""Timestamps in request bodies: RFC 3339 with an offset, kept (and answered) in UTC.

`UtcDatetime` refuses a naive time (422) and converts the rest to UTC, so what a client reads
back is UTC whatever offset it sent, and an instant beyond Python's range once in UTC
(`9999-12-31T23:59:59-14:00`) is a 422 at its field rather than a crash later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once in UTC") from exc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(in_utc)]
