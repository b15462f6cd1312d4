"""What a path accepts, for every route of the app: its methods (405 with the whole `Allow`,
even where an `{id}` route would match the path too) and, for JSON bodies, the media type
(415). And a 204 carries no Content-Type."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts

from app.core.config import Settings
from app.main import create_app

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _templates() -> dict[str, set[str]]:
    app = create_app(Settings(environment="test", secret_key="x" * 40), manage_resources=False)
    found: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            found.setdefault(route.path, set()).update(route.methods)
    return found


TEMPLATES = _templates()


def _json_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(environment="test", secret_key="x" * 40), manage_resources=False)
    found = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        content = ((route.openapi_extra or {}).get("requestBody") or {}).get("content")
        body = route.body_field
        takes_json = (set(content) == {"application/json"} if content is not None else
                      body is not None and type(body.field_info).__name__ == "Body")
        if takes_json:
            found += [(method, route.path) for method in sorted(route.methods)]
    return found


def concrete(template: str) -> str:
    """A path of the template: every parameter a small id (keys and slugs accept it too)."""
    return re.sub(r"\{[^}]+\}", "1", template)


def test_the_walk_sees_the_shadowed_paths_it_is_about():
    assert TEMPLATES["/v1/routing-rules/test"] == {"POST"}
    assert "GET" in TEMPLATES["/v1/routing-rules/{rule_id}"]
    assert "PATCH" in TEMPLATES["/v1/tickets/{ticket_id}"]
    assert "PATCH" not in TEMPLATES["/v1/tickets/board"]


async def test_every_method_a_path_does_not_serve_is_405_with_its_whole_allow(client):
    wrong = []
    for template, allowed in sorted(TEMPLATES.items()):
        for method in sorted(set(METHODS) - allowed):
            response = await client.request(method, concrete(template))
            if (response.status_code, response.headers.get("Allow")) != (
                    405, ", ".join(sorted(allowed))) or response.json()["type"] != (
                    "urn:switchboard:problem:method-not-allowed"):
                wrong.append((method, template, response.status_code,
                              response.headers.get("Allow")))
    assert wrong == []


async def test_a_literal_path_is_not_taken_for_an_id(client, admin_headers, problem):
    for method, path in [("PATCH", "/v1/tickets/board"), ("DELETE", "/v1/tickets/board"),
                         ("GET", "/v1/routing-rules/test"), ("PATCH", "/v1/routing-rules/test")]:
        response = await client.request(method, path, json={}, headers=admin_headers)
        problem(response, 405)
        assert response.headers["Allow"] == ", ".join(sorted(TEMPLATES[path]))


async def test_every_json_endpoint_refuses_another_media_type_with_415(client):
    routes = _json_routes()
    assert ("POST", "/v1/tickets") in routes and ("PATCH", "/v1/tickets/{ticket_id}") in routes
    wrong = []
    for method, template in routes:
        response = await client.request(
            method, concrete(template), content=b"name=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        body = response.json()
        if (response.status_code != 415
                or body["type"] != "urn:switchboard:problem:unsupported-media-type"
                or "application/x-www-form-urlencoded" not in body["detail"]):
            wrong.append((method, template, response.status_code))
    assert wrong == []


async def test_json_media_types_and_parameters_are_accepted(client, admin_headers, problem):
    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post("/v1/desks", content=b'{"name": "Json"}',
                                     headers={**admin_headers, "Content-Type": media})
        assert response.status_code == 201, (media, response.text)
    refused = await client.post("/v1/desks", content=b'{"name": "Json"}',
                                headers={**admin_headers, "Content-Type": "text/plain"})
    problem(refused, 415)
    assert refused.headers["Accept-Post"] == "application/json"
    bare = await client.post("/v1/desks", content=b'{"name": "Json"}',
                             headers={k: v for k, v in admin_headers.items()})
    assert bare.request.headers.get("content-type") is None
    assert "no Content-Type" in problem(bare, 415)["detail"]


async def test_a_form_endpoint_still_takes_its_form(client, problem):
    response = await client.post("/v1/auth/token", data={
        "grant_type": "password", "username": "nobody@x.example", "password": "wrong"})
    problem(response, 401)


async def test_a_204_carries_no_content_type(client, admin_headers):
    created = await client.post("/v1/api-tokens", json={"name": "short", "scopes": ["desks:read"]},
                                headers=admin_headers)
    assert created.status_code == 201, created.text
    response = await client.delete(f"/v1/api-tokens/{created.json()['id']}",
                                   headers=admin_headers)
    assert response.status_code == 204
    assert "content-type" not in response.headers
    assert response.content == b""
