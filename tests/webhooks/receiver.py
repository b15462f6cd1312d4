"""A real HTTP subscriber on 127.0.0.1 for the webhook tests (and the benchmark).

A tiny HTTP/1.1 server on `asyncio.start_server` with keep-alive: every request is recorded
(headers, body, arrival time) and answered by `respond`, which a test swaps to stall, fail,
redirect or answer 410.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from arq.constants import job_key_prefix

from app.models import Webhook
from app.webhooks import signing

REASONS = {200: "OK", 204: "No Content", 302: "Found", 410: "Gone", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


Responder = Callable[[Received], Reply | Awaitable[Reply]]


class Receiver:
    def __init__(self, respond: Responder | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.respond: Responder = respond or (lambda _: Reply())
        self.received: list[Received] = []
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def start(self, port: int = 0) -> Receiver:
        self._server = await asyncio.start_server(self._serve, self.host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for(self, count: int, within: float = 20.0,
                       where: Callable[[Received], bool] = lambda _: True) -> list[Received]:
        """The first `count` received requests that satisfy `where`, once they arrived."""
        def found() -> list[Received]:
            return [r for r in self.received if where(r)]

        async with asyncio.timeout(within):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(found()) >= count)
        return found()[:count]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.received.append(request)
                async with self._arrived:
                    self._arrived.notify_all()
                reply = self.respond(request)
                if not isinstance(reply, Reply):
                    reply = await reply
                head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}",
                        f"content-length: {len(reply.body)}"]
                head += [f"{k}: {v}" for k, v in reply.headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._clients.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method, path, headers, body)


# --- what the webhook tests share -------------------------------------------------------------

def hook(url: str = "https://hooks.example.com/x", **kw: Any) -> Any:
    """An active webhook row (all desks, every type unless told)."""
    kw.setdefault("events", ["*"])
    return Webhook(url=url, owner_kind="api_token", owner_id=1, secret=signing.new_secret(), **kw)


async def clear_queue(redis: Any, queue_name: str) -> None:
    ids = [j.job_id for j in await redis.queued_jobs(queue_name=queue_name)]
    await redis.delete(queue_name, *[job_key_prefix + i for i in ids])
