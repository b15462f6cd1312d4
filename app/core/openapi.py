"""The OpenAPI document, completed from the routes themselves.

FastAPI writes each operation from its signature; this module adds what it cannot see, derived
mechanically from the route in one place so a new route is documented like its neighbours:
a stable `operationId` (`<tag>.<function>`, what generated clients name their methods), the
access a route needs (its scope) in its description, the problem responses it can answer
(only those), and the `Problem` schema every error refers to. tests/test_openapi.py checks
the result for every operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.errors import PROBLEM_CONTENT, problem_schemas
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


WRITE_METHODS = {"post", "put", "patch", "delete"}


def error_statuses(route: Any, method: str, operation: dict[str, Any],
                   schemas: dict[str, Any]) -> set[int]:
    """The 4xx a route can answer, from what it takes and who may call it.

    - a body: 413 (over the size limit) and 422; a JSON body also 400 (malformed JSON)
    - any parameter or body: 422 (validation)
    - a path parameter, or a `desk_id` in the query or body: 404 (missing or another desk's)
    - a credential: 401, 429 (per-credential rate limit); a scope: 403
    - an authenticated write: 409 (a concurrent request with its Idempotency-Key, or a lost
      race on a unique constraint); an authenticated POST: 422 (a malformed Idempotency-Key, or
      one reused with another body); an `If-Match` header: 412
    Statuses a route declares itself (`responses=problem_responses(...)`) are added to these.
    """
    statuses: set[int] = set()
    params = operation.get("parameters", [])
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        statuses |= {413, 422}
        if "application/json" in content:
            statuses.add(400)
    if params:
        statuses.add(422)
    body_fields: set[str] = set()
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        body_fields |= set(schemas.get(ref.rpartition("/")[2], {}).get("properties", {}))
    if (any(p["in"] == "path" for p in params) or "desk_id" in body_fields
            or any(p["in"] == "query" and p["name"] == "desk_id" for p in params)):
        statuses.add(404)
    calls = list(_calls(route.dependant))
    if authenticate in calls:
        statuses |= {401, 429}
        if any(c in REQUIRED_SCOPES for c in calls):
            statuses.add(403)
        if method in WRITE_METHODS:
            statuses.add(409)
        if method == "post":
            statuses.add(422)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
        statuses.add(412)
    return statuses


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
                        _complete(route, method.lower(), operation, schema)
            _drop_unused_validation_schemas(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(route: Any, method: str, operation: dict[str, Any], schema: dict[str, Any]) -> None:
    description = operation.get("description", "").strip()
    operation["description"] = f"{description}\n\n{access_note(route)}".strip()
    responses = operation["responses"]
    declared = {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}
    # FastAPI adds its own 422 (HTTPValidationError) to routes with parameters; ours is a Problem.
    responses.pop("422", None)
    for status in error_statuses(route, method, operation, schema["components"]["schemas"]) \
            | declared:
        responses.setdefault(str(status), {"description": HTTPStatus(status).phrase,
                                           "content": PROBLEM_CONTENT})
    operation["responses"] = dict(sorted(responses.items()))


def _drop_unused_validation_schemas(schema: dict[str, Any]) -> None:
    """FastAPI's validation error schemas, which no response refers to any more."""
    text = json.dumps(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}\"" not in text:
            schema["components"]["schemas"].pop(name, None)
