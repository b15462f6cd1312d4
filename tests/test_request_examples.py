"""Every request example in the OpenAPI document works: sent as it is to a real row, it is 2xx.

Swagger UI's "Try it out" and client generators send these bodies; before they were written,
the example generated for `POST /v1/tickets` answered 422. Ids in an example (`desk_id: 1`)
stand for rows of the caller's: the test puts the ids of rows it made in their place.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.core.config import Settings
from app.main import create_app

SPEC = create_app(Settings(environment="test", secret_key="x" * 40),
                  manage_resources=False).openapi()

# Public operations need a published form or a survey link made by a solved ticket; their
# bodies are covered in tests/forms. Every authenticated JSON operation is here.
PUBLIC = ("/v1/public/",)


def _json_operations() -> list[tuple[str, str, Any]]:
    found = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is not None and method in {"post", "patch", "put"} \
                    and not path.startswith(PUBLIC):
                found.append((method, path, media["example"]))
    return found


OPERATIONS = _json_operations()


async def _world(client, headers) -> dict[str, int]:
    async def post(path: str, body: dict[str, Any]) -> int:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 201, (path, response.text)
        return response.json()["id"]

    desk = await post("/v1/desks", {"name": "Examples"})
    other = await post("/v1/desks", {"name": "Examples, elsewhere"})
    user = await post("/v1/users", {"email": "world@staff.example", "name": "World"})
    return {
        "desk_id": desk, "other_desk_id": other, "user_id": user,
        "team_id": await post("/v1/teams", {"name": "World team"}),
        "organization_id": await post("/v1/organizations", {"desk_id": desk, "name": "World"}),
        "customer_id": await post("/v1/customers", {"desk_id": desk,
                                                    "email": "world@customer.example"}),
        "ticket_id": await post("/v1/tickets", {"desk_id": desk, "subject": "World",
                                                "requester": {"email": "w@customer.example"}}),
        "form_id": await post("/v1/forms", {"desk_id": desk, "name": "World", "slug": "world"}),
        "rule_id": await post("/v1/routing-rules", {"desk_id": desk, "name": "World"}),
        "webhook_id": await post("/v1/webhooks", {"url": "https://hooks.example.com/world",
                                                  "events": ["ticket.created"]}),
    }


def _with_ids(example: Any, path: str, world: dict[str, int]) -> Any:
    body = copy.deepcopy(example)
    if isinstance(body, dict):
        if "desk_id" in body:
            body["desk_id"] = world["other_desk_id" if path.endswith("/transfer") else "desk_id"]
        if "ticket_id" in body:
            body["ticket_id"] = world["ticket_id"]
        if "desk_ids" in body:
            body["desk_ids"] = [world["desk_id"]]
        if "rule_ids" in body:
            body["rule_ids"] = [world["rule_id"]]
    return body


@pytest.mark.parametrize(("method", "path", "example"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
async def test_request_example_is_accepted(client, admin_headers, method, path, example):
    world = await _world(client, admin_headers)
    url = path.format(**world)
    response = await client.request(method, url, json=_with_ids(example, path, world),
                                    headers=admin_headers)
    assert 200 <= response.status_code < 300, (method, path, response.text)


def test_the_main_resources_are_covered():
    covered = {(m, p) for m, p, _ in OPERATIONS}
    for path in ("/v1/tickets", "/v1/customers", "/v1/organizations", "/v1/desks", "/v1/forms",
                 "/v1/routing-rules", "/v1/webhooks", "/v1/views", "/v1/users"):
        assert ("post", path) in covered, path
