"""Plain text out of whatever a browser sent: markup is removed, never stored or echoed.

`plain_text()` strips every HTML tag (with the content of `<script>`/`<style>`), then decodes
entities so `a < b & c` stays readable; it repeats until nothing changes, so an entity-encoded
tag (`&lt;script&gt;`) cannot come back out as a live one. A pure function.
"""

from __future__ import annotations

import html

import nh3

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
