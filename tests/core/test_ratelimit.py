"""Per-token rate limit: a fixed one-minute window in Redis, 429 with Retry-After past it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from app.core.errors import TooManyRequests
from app.core.ratelimit import WINDOW_SECONDS, RateLimitState, hit, tightest, window
from app.core.resources import redis_client
from tests.conftest import bearer

LIMIT = 3


@pytest.fixture
def limited_client(make_app, client_for) -> httpx.AsyncClient:
    return client_for(make_app(rate_limit_per_minute=LIMIT))


async def burst(client: httpx.AsyncClient, new_headers, count: int) -> list[httpx.Response]:
    """`count` requests by one fresh token, all inside one rate-limit window.

    A burst that straddles a minute boundary is repeated with another token, so the outcome
    never depends on the wall clock.
    """
    for _ in range(3):
        headers = await new_headers()
        started = int(time.time() // WINDOW_SECONDS)
        responses = [await client.get("/v1/desks", headers=headers) for _ in range(count)]
        if int(time.time() // WINDOW_SECONDS) == started:
            return responses
    raise AssertionError("could not fit the burst into one window")


@pytest.fixture
def new_headers(factory):
    async def make() -> dict[str, str]:
        return bearer(await factory.token(["desks:read"]))

    return make


async def test_request_past_the_limit_is_a_429_problem_with_retry_after(limited_client,
                                                                       new_headers, problem):
    *allowed, refused = await burst(limited_client, new_headers, LIMIT + 1)
    assert [r.status_code for r in allowed] == [200] * LIMIT
    body = problem(refused, 429)
    assert body["type"] == "urn:switchboard:problem:rate-limited"
    assert body["title"] == "Too Many Requests"
    assert f"More than {LIMIT} requests this minute" in body["detail"]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    assert refused.headers["RateLimit-Limit"] == str(LIMIT)
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Reset"] == str(retry_after)


async def test_successful_responses_carry_ratelimit_headers(limited_client, new_headers):
    responses = await burst(limited_client, new_headers, LIMIT)
    assert [r.headers["RateLimit-Limit"] for r in responses] == [str(LIMIT)] * LIMIT
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    for response in responses:
        assert 1 <= int(response.headers["RateLimit-Reset"]) <= WINDOW_SECONDS
        assert "Retry-After" not in response.headers


async def test_problem_responses_within_the_limit_carry_ratelimit_headers(limited_client,
                                                                          factory, problem):
    headers = bearer(await factory.token(["desks:read"]))
    response = await limited_client.get("/v1/desks/2147483000", headers=headers)
    problem(response, 404)
    assert response.headers["RateLimit-Limit"] == str(LIMIT)


async def test_tokens_have_separate_budgets(limited_client, new_headers, problem):
    for _ in range(3):
        one, two = await new_headers(), await new_headers()
        started = int(time.time() // WINDOW_SECONDS)
        exhausted = [await limited_client.get("/v1/desks", headers=one) for _ in range(LIMIT + 1)]
        other = await limited_client.get("/v1/desks", headers=two)
        if int(time.time() // WINDOW_SECONDS) == started:
            break
    problem(exhausted[-1], 429)
    assert other.status_code == 200
    assert other.headers["RateLimit-Remaining"] == str(LIMIT - 1)


async def test_unauthenticated_health_checks_are_not_limited(limited_client):
    responses = [await limited_client.get("/healthz") for _ in range(LIMIT + 2)]
    assert [r.status_code for r in responses] == [200] * (LIMIT + 2)


@pytest.mark.parametrize(
    ("now", "count", "remaining", "reset"),
    [
        (120.0, 1, 9, 60),
        (120.0, 10, 0, 60),
        (120.0, 11, 0, 60),
        (150.0, 4, 6, 30),
        (179.2, 4, 6, 1),
        (179.999, 4, 6, 1),
        (1_700_000_000.5, 3, 7, 40),
    ],
)
def test_window_counts_down_to_the_end_of_the_minute(now, count, remaining, reset):
    state = window(now, 10, count)
    assert (state.limit, state.remaining, state.reset) == (10, remaining, reset)
    assert state.headers() == {"RateLimit-Limit": "10", "RateLimit-Remaining": str(remaining),
                               "RateLimit-Reset": str(reset)}


async def test_hit_counts_per_window_and_raises_past_the_limit(redis, settings):
    identity = f"test:{uuid.uuid4().hex}"
    start = 600 * WINDOW_SECONDS + 10.0
    first = await hit(redis, settings.redis_namespace, identity, 2, now=start)
    second = await hit(redis, settings.redis_namespace, identity, 2, now=start + 1)
    assert (first.remaining, second.remaining) == (1, 0)
    with pytest.raises(TooManyRequests) as caught:
        await hit(redis, settings.redis_namespace, identity, 2, now=start + 2)
    assert caught.value.headers["Retry-After"] == "48"
    assert caught.value.headers["RateLimit-Remaining"] == "0"
    next_window = await hit(redis, settings.redis_namespace, identity, 2,
                            now=start + WINDOW_SECONDS)
    assert next_window.remaining == 1


async def test_hit_fails_open_when_redis_is_unreachable(settings):
    unreachable = redis_client("redis://127.0.0.1:1/0")
    try:
        assert await hit(unreachable, settings.redis_namespace, "test:x", 1) is None
        assert await hit(unreachable, settings.redis_namespace, "test:x", 1) is None
    finally:
        await unreachable.aclose()


async def test_hit_without_redis_allows_the_request(settings):
    assert await hit(None, settings.redis_namespace, "test:x", 1) is None


def test_of_several_limits_the_one_nearest_to_refusing_is_reported():
    loose, tight = RateLimitState(20, 15, 30), RateLimitState(10, 2, 30)
    assert tightest(loose, None, tight) == tight
    assert tightest(None, None) is None
