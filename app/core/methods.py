"""What a path accepts, decided before any route runs: its methods (405 with the full `Allow`)
and, for a JSON body, its media type (415).

A path belongs to its most specific template: `/v1/tickets/board` is the board's, not a
ticket's whose id failed to parse (a literal segment beats a parameter, leftmost first), so
`PATCH /v1/tickets/board` is a 405 naming the board's methods rather than a 422 from
`PATCH /v1/tickets/{ticket_id}`. Starlette alone answers such a request from the first
template that matches, and a 405 with the methods of one route of the path.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem_response

_PARAM = re.compile(r"^\{[^}]*\}$")


@dataclass
class Resource:
    """The routes of one path template."""

    template: str
    regex: re.Pattern[str]
    rank: tuple[int, ...]  # per segment, 0 literal and 1 parameter: smaller is more specific
    methods: set[str] = field(default_factory=set)
    json_methods: set[str] = field(default_factory=set)  # methods whose body is JSON

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


def _segments(path: str) -> list[str]:
    return path.split("/")


def _takes_json(route: RouteContext) -> bool:
    if not isinstance(route.original_route, APIRoute):
        return False
    extra: dict[str, Any] = route.openapi_extra or {}
    declared = extra.get("requestBody", {}).get("content")
    if declared is not None:  # an endpoint reading its own body says what it reads
        return all(_is_json(media) for media in declared)
    body = route.body_field
    # A form or file body (OAuth's token endpoint, uploads) is not JSON.
    return body is not None and not isinstance(body.field_info, params.Form | params.File)


def _is_json(media_type: str) -> bool:
    message = Message()
    message["content-type"] = media_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


class PathTemplates:
    """The app's path templates, indexed by their segment count and first two segments."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        by_template: dict[str, Resource] = {}
        for route in iter_route_contexts(routes):  # through included routers
            if route.path is None or route.methods is None:
                continue
            resource = by_template.get(route.path)
            if resource is None:
                parts = _segments(route.path)
                resource = by_template[route.path] = Resource(
                    route.path, route.path_regex,
                    tuple(1 if _PARAM.match(p) else 0 for p in parts))
            resource.methods |= route.methods
            if _takes_json(route):
                resource.json_methods |= route.methods
        self._index: dict[tuple[int, str, str], list[Resource]] = defaultdict(list)
        self._anywhere: list[Resource] = []
        for resource in by_template.values():
            parts = _segments(resource.template)
            if len(parts) >= 3 and not any(resource.rank[:3]):
                self._index[(len(parts), parts[1], parts[2])].append(resource)
            else:
                self._anywhere.append(resource)

    def find(self, path: str) -> Resource | None:
        """The most specific template matching `path`, if any does."""
        parts = _segments(path)
        key = (len(parts), parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")
        matching = [r for r in (*self._index.get(key, ()), *self._anywhere)
                    if r.regex.match(path)]
        return min(matching, key=lambda r: r.rank) if matching else None


class MethodGuardMiddleware:
    """405 (with the path's whole `Allow`) for a method its template does not serve, 415 for a
    body that is not JSON sent to a JSON endpoint. Unknown paths go on, to be 404."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates: PathTemplates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.templates is None:  # the routes are all in place by the first request
            self.templates = PathTemplates(scope["app"].routes)
        resource = self.templates.find(scope["path"])
        method = scope["method"]
        if resource is not None and method not in resource.methods:
            await self._reject(scope, receive, send, 405, "method-not-allowed",
                               f"{method} is not served here; it serves {resource.allow}.",
                               {"Allow": resource.allow})
            return
        if resource is not None and method in resource.json_methods and _has_body(scope):
            media = _media_type(scope)
            if media is None or not _is_json(media):
                sent = "no Content-Type" if media is None else f"`{media}`"
                # RFC 9110 §15.5.16: say which media types the method takes.
                accepts = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}.get(method)
                await self._reject(scope, receive, send, 415, "unsupported-media-type",
                                   f"The body must be `application/json`, not {sent}.",
                                   {accepts: "application/json"} if accepts else {})
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, status: int, slug: str,
                      detail: str, headers: dict[str, str]) -> None:
        response = problem_response(Request(scope, receive), status, slug=slug, detail=detail,
                                    headers=headers)
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _media_type(scope: Scope) -> str | None:
    """The request's media type, without parameters; None when it sent none."""
    value = _header(scope, b"content-type")
    return value.split(";", 1)[0].strip().lower() or None if value is not None else None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return _header(scope, b"transfer-encoding") is not None or (
        length is not None and length.strip() not in {"", "0"})

