"""Text the database can store. PostgreSQL refuses the NUL character in `text` and `jsonb`, so
a NUL that reached a query would be a 500; these validators make it a 422 at its field.

`Text` is `str` without NUL; `reject_nul_deep` checks any JSON value (for `Any` fields).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters"


def reject_nul(value: str | None) -> str | None:
    if value is not None and NUL in value:
        raise ValueError(NUL_MESSAGE)
    return value


def has_nul(value: Any) -> bool:
    """Whether a JSON value holds a NUL in any string or object key."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def reject_nul_deep(value: Any) -> Any:
    if has_nul(value):
        raise ValueError(NUL_MESSAGE)
    return value


Text = Annotated[str, AfterValidator(reject_nul)]
