"""Fixtures for the HTTP foundations: apps built with other settings, and their clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.main import create_app

MakeApp = Callable[..., FastAPI]


@pytest.fixture
def make_app(settings, sessionmaker, redis) -> MakeApp:
    """An app like the `app` fixture's, with some settings changed: `make_app(max_body_bytes=2048)`."""

    def build(**overrides: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=overrides), manage_resources=False)
        application.state.sessionmaker = sessionmaker
        application.state.redis = application.state.arq = redis
        return application

    return build


@pytest_asyncio.fixture(loop_scope="session")
async def client_for() -> AsyncIterator[Callable[[FastAPI], httpx.AsyncClient]]:
    """Open a client on another app; it is closed when the test ends."""
    async with AsyncExitStack() as stack:

        def open_client(application: FastAPI) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            stack.push_async_callback(c.aclose)
            return c

        yield open_client


def error_locs(body: dict[str, Any]) -> list[list[str | int]]:
    """The `loc` of every validation error in a problem body (checking each item's shape)."""
    assert isinstance(body["errors"], list) and body["errors"]
    for item in body["errors"]:
        assert set(item) == {"loc", "msg", "type"}, item
        assert isinstance(item["loc"], list)
        assert isinstance(item["msg"], str) and item["msg"]
        assert isinstance(item["type"], str) and item["type"]
    return [item["loc"] for item in body["errors"]]


def error_at(body: dict[str, Any], loc: list[str | int]) -> dict[str, Any]:
    """The one validation error whose `loc` is `loc`."""
    found = [item for item in body["errors"] if item["loc"] == loc]
    assert len(found) == 1, (loc, error_locs(body))
    return found[0]


def unique_name(prefix: str = "desk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
