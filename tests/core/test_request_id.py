"""`X-Request-ID`: generated or echoed on every response, and repeated in problem bodies."""

from __future__ import annotations

import re
import uuid

from tests.conftest import bearer

HEX32 = re.compile(r"^[0-9a-f]{32}$")


async def test_response_carries_a_generated_request_id(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert HEX32.match(first.headers["X-Request-ID"])
    assert HEX32.match(second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_valid_client_request_id_is_echoed(client):
    sent = str(uuid.uuid4())
    response = await client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent


async def test_invalid_client_request_id_is_replaced(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert HEX32.match(response.headers["X-Request-ID"])


async def test_problem_body_carries_the_response_request_id(client, admin_headers, problem):
    response = await client.get("/v1/desks/2147483000", headers=admin_headers)
    body = problem(response, 404)
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_problem_body_echoes_the_client_request_id(client, problem):
    sent = uuid.uuid4().hex
    response = await client.get("/v1/desks", headers={**bearer("swb_nope"), "X-Request-ID": sent})
    body = problem(response, 401)
    assert response.headers["X-Request-ID"] == sent
    assert body["request_id"] == sent


async def test_unmatched_route_problem_carries_the_request_id(client, problem):
    response = await client.get("/no/such/path")
    body = problem(response, 404)
    assert body["request_id"] == response.headers["X-Request-ID"]
