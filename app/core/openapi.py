"""The OpenAPI document, completed from the routes themselves.

FastAPI writes each operation from its signature; this module adds what it cannot see, derived
mechanically from the route in one place so a new route is documented like its neighbours:
a stable `operationId` (`<tag>.<function>`, what generated clients name their methods), the
access a route needs (its scope) in its description, the problem responses it can answer
(only those), the headers requests may send and responses carry, an example for every schema, and the
`Problem` schema every error refers to. tests/test_openapi.py checks
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

from app.core import idempotency
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

    - a body: 413 (over the size limit) and 422; a JSON body also 400 (malformed JSON) and
      415 (another media type: core/methods.py)
    - any parameter or body: 422 (validation); a `cursor`: 400 (unreadable)
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
            statuses |= {400, 415}
    if params:
        statuses.add(422)
    if any(p["in"] == "query" and p["name"] == "cursor" for p in params):
        statuses.add(400)
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
            _document_headers(schema)
            _add_examples(schema)
            _distinct_titles(schema)
            _request_defaults_in_words(schema)
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


def _header(description: str, type_: str = "string", example: Any = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": type_}
    return {"description": description, "schema": schema,
            **({"example": example} if example is not None else {})}


HEADERS = {
    "X-Request-ID": _header("The request's id (yours if you sent a valid `X-Request-ID`); "
                            "problem documents carry it as `request_id`.",
                            example="7d0b8a3c2f3e4f6a9b1c0d2e3f4a5b6c"),
    "RateLimit-Limit": _header("Requests allowed per window for this credential.", "integer",
                               120),
    "RateLimit-Remaining": _header("Requests left in the current window.", "integer", 119),
    "RateLimit-Reset": _header("Seconds until the window resets.", "integer", 42),
    "Retry-After": _header("Seconds to wait before trying again.", "integer", 42),
    "ETag": _header("The version of the resource; send it back as `If-Match` to update it "
                    "only if nobody changed it since.", example='"3"'),
    "Location": _header("Where the created resource lives.", example="/v1/tickets/42"),
    "Idempotent-Replayed": _header("`true` when this is the stored answer to an earlier "
                                   "request with the same `Idempotency-Key`.", example="true"),
}

IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER, "in": "header", "required": False,
    "description": "Makes a retry safe: the same key and body within 24 h answer the first "
                   "response again (with `Idempotent-Replayed: true`); the same key with another "
                   "body is 422; while the first request runs, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    "example": "3f1c5e0a-8d44-4d55-9a3b-6a1f0f2b7c11",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _document_headers(schema: dict[str, Any]) -> None:
    """Request headers (`Idempotency-Key`) and response headers, from each operation's facts:
    every answer has `X-Request-ID`; a rate-limited one (it documents 429) `RateLimit-*`, and
    its 429 `Retry-After`; an authenticated POST honours `Idempotency-Key` and its answers may
    be `Idempotent-Replayed`; its 201 has `Location`; a resource whose PATCH takes `If-Match`
    answers its GET, PATCH and creating POST with an `ETag`."""
    schema["components"]["headers"] = HEADERS
    schema["components"].setdefault("parameters", {})["IdempotencyKey"] = IDEMPOTENCY_KEY
    paths = schema["paths"]
    versioned = {path for path, ops in paths.items()
                 if any(p.get("name") == "If-Match" for p in ops.get("patch", {}).get("parameters", []))}
    for path, operations in paths.items():
        for method, operation in operations.items():
            authenticated = bool(operation.get("security"))
            keyed = authenticated and method == "post"
            if keyed:
                operation.setdefault("parameters", []).append(
                    {"$ref": "#/components/parameters/IdempotencyKey"})
            created_versioned = any(p.startswith(path + "/{") and p.count("/") == path.count("/") + 1
                                    for p in versioned)
            for status, response in operation["responses"].items():
                headers: dict[str, Any] = {"X-Request-ID": _ref("X-Request-ID")}
                # 401, and the 400/413/415 FastAPI and the middleware answer before any
                # dependency runs, come before the rate limit and the key are read.
                early = status in {"400", "401", "413", "415"}
                if "429" in operation["responses"] and not early:
                    headers |= {n: _ref(n) for n in
                                ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}
                if status == "429":
                    headers["Retry-After"] = _ref("Retry-After")
                if keyed and not early and status not in {"409", "429"}:
                    headers["Idempotent-Replayed"] = _ref("Idempotent-Replayed")
                if keyed and status == "201":
                    headers["Location"] = _ref("Location")
                if status in {"200", "201"} and (
                        (path in versioned and method in {"get", "patch"})
                        or (method == "post" and status == "201" and created_versioned)):
                    headers["ETag"] = _ref("ETag")
                response["headers"] = {**response.get("headers", {}), **headers}


# What a generated example shows for a string of a given format (tests/test_openapi.py checks
# every example against its schema).
STRING_FORMATS = {"date-time": "2026-01-15T09:30:00Z", "date": "2026-01-15",
                  "email": "ana@acme.example", "uri": "https://hooks.example.com/switchboard",
                  "uuid": "3f1c5e0a-8d44-4d55-9a3b-6a1f0f2b7c11", "duration": "PT1H"}


def example_of(node: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """An instance of a JSON Schema node: its own example, else one built from its parts.

    Request bodies carry hand-written examples on their models (a test posts each one); the
    schemas clients only receive get one generated here, so every schema shows an instance."""
    if "$ref" in node:
        target = schemas[node["$ref"].rpartition("/")[2]]
        return example_of(target, schemas, depth + 1) if depth < 8 else None
    for key in ("examples", "example"):
        if node.get(key) not in (None, []):
            value = node[key]
            return value[0] if key == "examples" and isinstance(value, list) else value
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    if node.get("default") is not None:
        return node["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = [b for b in node.get(key, []) if b.get("type") != "null"]
        if branches:
            return example_of(branches[0], schemas, depth)
        if key in node:
            return None
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in node:
        return {name: example_of(prop, schemas, depth + 1)
                for name, prop in node.get("properties", {}).items()}
    if kind == "array":
        items = node.get("items")
        return [example_of(items, schemas, depth + 1)] if items and depth < 8 else []
    if kind == "string":
        return STRING_FORMATS.get(node.get("format", ""), "string")
    if kind == "integer":
        return max(1, node.get("minimum", 1))
    if kind == "number":
        return max(1.5, node.get("minimum", 1.5))
    if kind == "boolean":
        return True
    return None


def _add_examples(schema: dict[str, Any]) -> None:
    """An example on every component schema (its model's own, else a generated one), and each
    request body's first example on its media type, which is what Swagger UI's "Try it out"
    sends."""
    schemas = schema["components"]["schemas"]
    for component in schemas.values():
        if not component.get("examples"):
            component["examples"] = [example_of({**component, "examples": None}, schemas)]
    for operations in schema["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "example" not in media and "$ref" in media.get("schema", {}):
                    media["example"] = example_of(media["schema"], schemas)


def _distinct_titles(schema: dict[str, Any]) -> None:
    """A model read and written differently is two components, `X-Input` and `X-Output`, both
    titled `X`; client generators name classes by title, so openapi-python-client kept one and
    dropped what referred to the other (ViewRead). Each gets the title of its own name."""
    for name, component in schema["components"]["schemas"].items():
        if name.endswith(("-Input", "-Output")):
            component["title"] = name.replace("-", "")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rpartition("/")[2]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _request_defaults_in_words(schema: dict[str, Any]) -> None:
    """Fields a client may leave out must not look required to client generators.

    openapi-typescript (default options) types a property with a `default` as required unless
    it is written inside the request body itself, so every create call had to send
    `sandbox`, `description`, `role`… The schemas a request body reaches keep their defaults
    in words ("Default: `false`.") instead of as `default` (an annotation only in JSON
    Schema: the server applies them either way). scripts/clients/run checks this."""
    schemas = schema["components"]["schemas"]
    pending = [name for operations in schema["paths"].values()
               for operation in operations.values()
               for name in _refs(operation.get("requestBody", {}))]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(_refs(schemas[name]))
    for name in reached:
        for prop in schemas[name].get("properties", {}).values():
            if "default" in prop:
                value = json.dumps(prop.pop("default"), ensure_ascii=False)
                words = f"Default: `{value}`."
                prop["description"] = f"{prop['description']} {words}" if prop.get(
                    "description") else words
