"""CORS for the public endpoints only: portals on the PORTAL_ORIGINS may call `/v1/public/*`
from a browser; every other path answers as if CORS did not exist."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PREFIX = "/v1/public/"


def parse_origins(raw: str) -> list[str]:
    return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]


class PublicCORSMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST"],
                                   allow_headers=["Content-Type"], allow_credentials=False,
                                   max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
