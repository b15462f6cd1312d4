"""Every route authenticates unless its router was declared public; staff routes refuse customers.

`api_router()` attaches `authenticate` itself, so a router cannot become public by where
`main.py` mounts it. These tests fail if a route of the app is reachable without a credential
and is not on the short list of public endpoints below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from app.core import principal
from app.core.boundary import api_router
from app.core.config import Settings
from app.core.principal import authenticate
from app.core.scope import CustomerSubject, desk_scope
from app.main import create_app
from tests.conftest import TEST_SECRET, bearer

# The endpoints anyone may call (API.md): sign-in, published forms, survey links, health.
PUBLIC = {
    ("POST", "/v1/auth/token"),
    ("GET", "/v1/public/forms/{slug}"),
    ("GET", "/v1/public/forms/{slug}/schema"),
    ("POST", "/v1/public/forms/{slug}/submissions"),
    ("GET", "/v1/public/surveys/{token}"),
    ("POST", "/v1/public/surveys/{token}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}
# FastAPI's own documentation routes (plain Starlette routes, not API routes).
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _operations(app: Any) -> Iterator[tuple[str, str, Dependant | None]]:
    """(method, path, dependant) of every route as the app serves it (included routers too)."""
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, route.path_format, getattr(route, "dependant", None)


@pytest.fixture(scope="module")
def served() -> list[tuple[str, str, Dependant | None]]:
    application = create_app(Settings(environment="test", secret_key=TEST_SECRET),
                             manage_resources=False)
    return list(_operations(application))


def test_every_route_but_the_public_ones_authenticates(served):
    anonymous = set()
    for method, path, dependant in served:
        if path in DOCS:
            assert dependant is None, path
            continue
        assert dependant is not None, (method, path)
        if authenticate not in set(_calls(dependant)):
            anonymous.add((method, path))
    assert anonymous == PUBLIC
    assert {path for _, path, _ in served} >= DOCS


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_authenticated_route_answers_401_without_a_credential(client, problem,
                                                                          served):
    checked = 0
    for method, path, _ in served:
        if path in DOCS or (method, path) in PUBLIC:
            continue
        response = await client.request(method, _concrete(path))
        body = problem(response, 401)
        assert body["detail"] == "Send `Authorization: Bearer <token>`.", (method, path)
        checked += 1
    assert checked > 90  # the whole staff API, not an empty loop


async def test_a_router_authenticates_wherever_it_is_mounted(app, client, problem):
    guarded, public = api_router(), api_router(authenticated=False)

    @guarded.get("/v1/test-guarded")
    async def guarded_endpoint() -> dict[str, str]:
        return {"seen": "yes"}

    @public.get("/v1/test-public")
    async def public_endpoint() -> dict[str, str]:
        return {"seen": "yes"}

    app.include_router(guarded)  # no dependencies here: the router brings its own
    app.include_router(public)
    problem(await client.get("/v1/test-guarded"), 401)
    assert (await client.get("/v1/test-public")).json() == {"seen": "yes"}


async def test_staff_endpoints_refuse_a_customer_with_403(client, problem, monkeypatch):
    # No credential yields a customer yet (the portal issue adds them): stand one in for a JWT.
    async def customer_scope(*_: Any) -> Any:
        return desk_scope(CustomerSubject(4, "Carla Customer"))

    monkeypatch.setattr(principal, "_scope_of_jwt", customer_scope)
    for method, path in [("GET", "/v1/me"), ("GET", "/v1/tickets"), ("GET", "/v1/desks")]:
        body = problem(await client.request(method, path, headers=bearer("a.customer.jwt")), 403)
        assert body["detail"] == "Staff endpoints do not accept customer credentials.", path

