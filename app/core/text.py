"""Text the database can store, and text that carries no markup.

PostgreSQL refuses the NUL character in `text` and `jsonb`, so a NUL that reached a query would
be a 500; these validators make it a 422 at its field. `Text` is `str` without NUL;
`reject_nul_deep` checks any JSON value (for `Any` fields).

`plain_text()` is the one normalisation for text that comes from outside as markup or may
carry it (form answers, email): it strips every HTML tag (with the content of
`<script>`/`<style>`), then decodes entities so `a < b & c` stays readable; it repeats until
nothing changes, so an entity-encoded tag (`&lt;script&gt;`) cannot come back out as a live
one. Pure functions.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

import nh3
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


MAX_ROUNDS = 5


def plain_text(value: str) -> str:
    current = value
    for _ in range(MAX_ROUNDS):
        cleaned = html.unescape(nh3.clean(current, tags=set()))
        if cleaned == current:
            return cleaned
        current = cleaned
    # Still changing (a pathological nesting): keep the escaped form, which is inert.
    return nh3.clean(current, tags=set())
