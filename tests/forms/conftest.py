"""Shared by the form tests: a desk, form definitions made through the API, public clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET

FormMaker = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def settings(services, database_url) -> Settings:
    """As the suite's, with public limits out of the way (the abuse tests set their own)."""
    return Settings(environment="test", secret_key=TEST_SECRET, database_url=database_url,
                    redis_url=services.redis_url,
                    redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}",
                    form_rate_limit_per_ip=10_000, form_rate_limit_per_form=10_000)


def slug() -> str:
    return f"form-{uuid.uuid4().hex[:10]}"


def contact_fields(**extra: dict[str, Any]) -> list[dict[str, Any]]:
    """A contact form: email → requester, name, subject, message → description."""
    fields = [
        {"key": "email", "label": "Your email", "type": "email", "required": True,
         "maps_to": "requester.email"},
        {"key": "name", "label": "Your name", "type": "text", "maps_to": "requester.name"},
        {"key": "subject", "label": "Subject", "type": "text", "required": True,
         "max_length": 200, "maps_to": "subject"},
        {"key": "message", "label": "Message", "type": "textarea", "maps_to": "description"},
    ]
    return fields + list(extra.values())


def form_body(desk_id: int, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"desk_id": desk_id, "name": "Contact us", "slug": slug(),
                               "published": True, "fields": contact_fields()}
    payload.update(body)
    return payload


def answers(**extra: Any) -> dict[str, Any]:
    return {"email": "ana@acme.example", "name": "Ana", "subject": "Printer on fire",
            "message": "Smoke everywhere", **extra}


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory) -> Any:
    return await factory.desk("Support")


@pytest.fixture
def new_form(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> FormMaker:
    """`await new_form(desk_id, **body)`: a form created through the API (201), as returned."""

    async def make(desk_id: int, **body: Any) -> dict[str, Any]:
        response = await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk_id, **body))
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture
def submit(client: httpx.AsyncClient):
    """`await submit(slug, body)`: POST a public submission (no credential)."""

    async def post(form_slug: str, body: Any, **kw: Any) -> httpx.Response:
        return await client.post(f"/v1/public/forms/{form_slug}/submissions", json=body, **kw)

    return post


@pytest.fixture
def make_app(settings, sessionmaker, redis) -> Callable[..., FastAPI]:
    """An app like the `app` fixture's with some settings changed."""

    def build(**overrides: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=overrides), manage_resources=False)
        application.state.sessionmaker = sessionmaker
        application.state.redis = application.state.arq = redis
        return application

    return build


@pytest_asyncio.fixture(loop_scope="session")
async def client_for() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """`client_for(app, ip="10.0.0.1")`: a client of another app, as a peer at `ip`."""
    async with AsyncExitStack() as stack:

        def open_client(application: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False,
                                            client=(ip, 40000))
            c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            stack.push_async_callback(c.aclose)
            return c

        yield open_client
