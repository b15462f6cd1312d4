"""Sign-in limits: per client address (forwarding headers believed from TRUSTED_PROXIES only)
and per account, whatever the address. The served command's own check is in test_cli.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest_asyncio

from app.core.ratelimit import WINDOW_SECONDS
from app.main import create_app

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture(loop_scope="session")
async def client_with(settings, sessionmaker, redis):
    """A client of an app built with some settings changed, counting in a namespace of its own."""
    clients: list[httpx.AsyncClient] = []

    def build(**overrides) -> httpx.AsyncClient:
        overrides.setdefault("redis_namespace", f"sbtest:{uuid.uuid4().hex[:12]}")
        application = create_app(settings.model_copy(update=overrides), manage_resources=False)
        application.state.sessionmaker = sessionmaker
        application.state.redis = application.state.arq = redis
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield build
    for client in clients:
        await client.aclose()


def sign_in(client: httpx.AsyncClient, username: str, address: str,
            password: str = "wrong password") -> Awaitable[httpx.Response]:
    return client.post("/v1/auth/token", headers={"X-Forwarded-For": address},
                       data={"grant_type": "password", "username": username,
                             "password": password})


async def in_one_window(attempts: Callable[[], Awaitable[list[httpx.Response]]]
                        ) -> list[httpx.Response]:
    """Run `attempts` inside one rate-limit window (again, on a fresh app, if it straddled a
    minute boundary), so the outcome never depends on the wall clock."""
    for _ in range(3):
        started = int(time.time() // WINDOW_SECONDS)
        responses = await attempts()
        if int(time.time() // WINDOW_SECONDS) == started:
            return responses
    raise AssertionError("could not fit the attempts into one window")


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(client_with):
    async def attempts() -> list[httpx.Response]:
        client = client_with()  # TRUSTED_PROXIES unset: the peer (127.0.0.1) is the client
        run = uuid.uuid4().hex[:8]
        return [await sign_in(client, f"{run}-{i}@x.example", f"203.0.113.{i}")
                for i in range(22)]

    responses = await in_one_window(attempts)
    assert statuses(responses) == [401] * 20 + [429] * 2
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= WINDOW_SECONDS


async def test_a_trusted_proxy_names_the_client_address(client_with):
    async def attempts() -> list[httpx.Response]:
        client = client_with(trusted_proxies="10.9.0.0/16, 127.0.0.1")
        run = uuid.uuid4().hex[:8]
        return [await sign_in(client, f"{run}-{i}@x.example", f"198.51.100.{i}")
                for i in range(22)]

    assert statuses(await in_one_window(attempts)) == [401] * 22


async def test_the_account_limit_holds_across_addresses_and_spellings(client_with, factory):
    user = await factory.user(email=f"{uuid.uuid4().hex[:8]}@staff.example", password=PASSWORD)
    spellings = [user.email, user.email.upper(), f"  {user.email} "]

    async def attempts() -> list[httpx.Response]:
        client = client_with(trusted_proxies="127.0.0.1")
        wrong = [await sign_in(client, spellings[i % 3], f"192.0.2.{i}") for i in range(11)]
        right = await sign_in(client, user.email, "192.0.2.99", password=PASSWORD)
        return [*wrong, right]

    responses = await in_one_window(attempts)
    assert statuses(responses) == [401] * 10 + [429] * 2  # the right password waits too
    refused = responses[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    assert refused.headers["RateLimit-Limit"] == "10"
    assert refused.headers["content-type"] == "application/problem+json"
