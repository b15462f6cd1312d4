"""The headers the OpenAPI document promises are the ones the API sends."""

from __future__ import annotations

import uuid

from tests.conftest import bearer

OPTIONAL = {"idempotent-replayed"}  # only on a replay


def _documented(app, method: str, path: str, status: int) -> set[str]:
    response = app.openapi()["paths"][path][method]["responses"][str(status)]
    return {name.lower() for name in response.get("headers", {})}


def _parameters(app, method: str, path: str) -> set[str]:
    spec = app.openapi()
    names = set()
    for parameter in spec["paths"][path][method].get("parameters", []):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rpartition("/")[2]]
        names.add(parameter["name"])
    return names


async def test_create_read_update_answer_the_documented_headers(app, client, factory):
    desk = await factory.desk()
    headers = bearer(await factory.token(["tickets:write"], desk_ids=[desk.id]))
    assert "Idempotency-Key" in _parameters(app, "post", "/v1/tickets")
    assert "If-Match" in _parameters(app, "patch", "/v1/tickets/{ticket_id}")
    body = {"desk_id": desk.id, "subject": "Printer", "description": "It jams.",
            "requester": {"email": "ann@example.com"}}
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}

    created = await client.post("/v1/tickets", json=body, headers=keyed)
    assert created.status_code == 201, created.text
    documented = _documented(app, "post", "/v1/tickets", 201)
    assert {"location", "etag", "x-request-id", "ratelimit-limit"} <= documented
    assert documented - OPTIONAL <= set(created.headers), documented - set(created.headers)

    replayed = await client.post("/v1/tickets", json=body, headers=keyed)
    assert replayed.headers["Idempotent-Replayed"] == "true"

    path = created.headers["Location"]
    read = await client.get(path, headers=headers)
    documented = _documented(app, "get", "/v1/tickets/{ticket_id}", 200)
    assert "etag" in documented and documented <= set(read.headers)

    updated = await client.patch(path, json={"priority": "high"},
                                 headers={**headers, "If-Match": read.headers["ETag"]})
    assert updated.status_code == 200, updated.text
    assert _documented(app, "patch", "/v1/tickets/{ticket_id}", 200) <= set(updated.headers)

    limited = _documented(app, "get", "/v1/tickets", 429)
    assert {"retry-after", "ratelimit-reset"} <= limited


async def test_creating_a_user_answers_its_etag(app, client, admin_headers):
    created = await client.post("/v1/users", headers=admin_headers,
                                json={"email": f"{uuid.uuid4().hex[:8]}@staff.example",
                                      "name": "New"})
    assert created.status_code == 201, created.text
    documented = _documented(app, "post", "/v1/users", 201) - OPTIONAL
    assert documented <= set(created.headers), documented - set(created.headers)
    read = await client.get(created.headers["Location"], headers=admin_headers)
    assert read.headers["ETag"] == created.headers["ETag"]


async def test_every_answer_documents_x_request_id(app):
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                assert "X-Request-ID" in response["headers"]
