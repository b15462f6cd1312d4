"""The OpenAPI document, completed from the routes themselves.

FastAPI writes each operation from its signature; this module adds what it cannot see, derived
mechanically from the route in one place so a new route is documented like its neighbours:
a stable `operationId` (`<tag>.<function>`, what generated clients name their methods), the
access a route needs (its scope) in its description, and the `Problem` schema every error
refers to. tests/test_openapi.py checks the result for every operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.errors import problem_schemas
from app.core.principal import REQUIRED_SCOPES, authenticate


def operation_id(route: APIRoute) -> str:
    """`tickets.create_ticket`: the route's first tag and its function's name.

    Stable (renaming a path keeps it) and unique (tests/test_openapi.py); used by FastAPI as
    `generate_unique_id_function`, so body schemas it names after the route follow it too."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{re.sub(r'[^a-z0-9]+', '_', tag.lower()).strip('_')}.{route.name}"


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def access_note(route: Any) -> str:
    """What credential the route needs, as a sentence for its description."""
    calls = list(_calls(route.dependant))
    scopes = sorted({REQUIRED_SCOPES[c].value for c in calls if c in REQUIRED_SCOPES})
    if scopes:
        return "Needs the " + " and ".join(f"`{s}`" for s in scopes) + " scope."
    if authenticate in calls:
        return "Needs any valid bearer credential."
    return "Needs no credential."


def install_openapi(app: FastAPI) -> None:
    """Complete `app.openapi()` once, from the app's routes."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
            # A route as included (prefix, tags and dependencies of its routers applied).
            for route in iter_route_contexts(app.routes):
                if isinstance(route.original_route, APIRoute) and route.include_in_schema:
                    for method in route.methods or ():
                        operation = schema["paths"][route.path_format][method.lower()]
                        _complete(route, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(route: Any, operation: dict[str, Any]) -> None:
    description = operation.get("description", "").strip()
    operation["description"] = f"{description}\n\n{access_note(route)}".strip()
