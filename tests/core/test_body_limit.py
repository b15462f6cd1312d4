"""`MAX_BODY_BYTES`: a body over the limit is a 413 problem, declared or streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.core.conftest import unique_name

LIMIT = 2048
TOO_LARGE = "urn:switchboard:problem:payload-too-large"


@pytest.fixture
def small_client(make_app, client_for):
    return client_for(make_app(max_body_bytes=LIMIT))


def desk_body(size: int) -> bytes:
    """A valid desk payload of exactly `size` bytes (padded with JSON whitespace)."""
    payload = json.dumps({"name": unique_name(), "description": "x" * 100}).encode()
    assert size >= len(payload)
    return payload + b" " * (size - len(payload))


class Chunks:
    """A request body streamed without Content-Length; records how much the app pulled."""

    def __init__(self, body: bytes, chunk: int = 512) -> None:
        self.body, self.chunk, self.sent = body, chunk, 0

    async def __call__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.chunk):
            piece = self.body[start:start + self.chunk]
            self.sent += len(piece)
            yield piece


async def test_declared_content_length_over_limit_is_a_413_before_the_body_is_read(
        small_client, admin_headers, problem):
    stream = Chunks(desk_body(LIMIT + 1))
    headers = {**admin_headers, "Content-Type": "application/json",
               "Content-Length": str(LIMIT + 1)}
    response = await small_client.post("/v1/desks", content=stream(), headers=headers)
    body = problem(response, 413)
    assert body["type"] == TOO_LARGE
    assert body["detail"] == f"The request body exceeds {LIMIT} bytes."
    assert stream.sent == 0


async def test_declared_content_length_over_limit_is_a_413_without_credentials(small_client,
                                                                             problem):
    response = await small_client.post("/v1/desks", content=b"{" * (LIMIT + 1))
    assert problem(response, 413)["type"] == TOO_LARGE


async def test_chunked_body_over_limit_is_a_413(small_client, admin_headers, problem, session):
    stream = Chunks(desk_body(LIMIT * 4))
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await small_client.post("/v1/desks", content=stream(), headers=headers)
    assert "content-length" not in response.request.headers
    body = problem(response, 413)
    assert body["type"] == TOO_LARGE
    assert body["detail"] == f"The request body exceeds {LIMIT} bytes."
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert stream.sent < LIMIT * 4  # reading stopped once over the limit


async def test_body_at_the_limit_passes(small_client, admin_headers):
    payload = desk_body(LIMIT)
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await small_client.post("/v1/desks", content=payload, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == json.loads(payload)["name"]


async def test_chunked_body_under_limit_passes(small_client, admin_headers):
    payload = desk_body(LIMIT - 10)
    stream = Chunks(payload, chunk=300)
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await small_client.post("/v1/desks", content=stream(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == json.loads(payload)["name"]
    assert stream.sent == len(payload)


async def test_default_limit_lets_an_ordinary_body_through(client, admin_headers):
    response = await client.post("/v1/desks", json={"name": "Big", "description": "x" * 1999},
                                 headers=admin_headers)
    assert response.status_code == 201, response.text
