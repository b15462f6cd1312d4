"""ASGI middleware: request body limit, Prometheus request metrics, security headers."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodySizeLimitMiddleware:
    """413 for a body over `max_bytes`: by Content-Length up front, else while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(scope, receive, send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._reject(scope, receive, send, limit)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(Request(scope, receive), 413, slug="payload-too-large",
                                    detail=f"The request body exceeds {limit} bytes.")
        await response(scope, receive, send)


REQUESTS = Counter("switchboard_http_requests_total", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("switchboard_http_request_duration_seconds", "Time to answer",
                    ["method", "route"])


access_log = logging.getLogger("switchboard.access")


class MetricsMiddleware:
    """Counts, times and logs requests (metrics by route template: raw ids would explode).

    Runs inside the request-id middleware, so each access line carries the request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            access_log.info("%s %s %d %.1fms", scope["method"], scope["path"], status,
                            elapsed * 1000)


def _route_template(scope: Scope) -> str:
    """`/v1/desks/{desk_id}` for `/v1/desks/7`: the matched path with its parameters named."""
    if "route" not in scope:  # set by the router on a match
        return "unmatched"
    # Parameters in path order, each naming the one segment it matched (two may share a value).
    params = iter(scope.get("path_params", {}).items())
    pending = next(params, None)
    parts = []
    for segment in scope["path"].split("/"):
        if pending is not None and segment == str(pending[1]):
            parts.append(f"{{{pending[0]}}}")
            pending = next(params, None)
        else:
            parts.append(segment)
    return "/".join(parts)


NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
# Answers that hold a credential although the request sent none (RFC 6749 §5.1).
_SECRET_PATHS = frozenset({"/v1/auth/token"})


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every answer, and `Cache-Control: no-store` on every
    answer to a request that carried credentials (it may hold private data or a secret shown
    once) and on the token endpoint's. Headers a route set itself are kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"] in _SECRET_PATHS or any(
            name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                if NOSNIFF[0] not in present:
                    headers.append(NOSNIFF)
                if private and NO_STORE[0] not in present:
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
