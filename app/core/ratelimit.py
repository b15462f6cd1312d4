"""Per-credential rate limit: a fixed one-minute window counted in Redis."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.errors import TooManyRequests

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60

# Count a hit and, on a window's first, let the key expire after it: one round trip and one
# command (a MULTI/INCR/EXPIRE/EXEC pipeline costs four commands' worth of client CPU).
_HIT = f"""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], {WINDOW_SECONDS + 5}) end
return count
"""


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


def window(now: float, limit: int, count: int) -> RateLimitState:
    """Pure: the state after `count` hits in the window that holds `now`."""
    reset = max(1, math.ceil(WINDOW_SECONDS - (now % WINDOW_SECONDS)))
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset=reset)


def tightest(*states: RateLimitState | None) -> RateLimitState | None:
    """Of several limits one request counted against, the one nearest to refusing."""
    counted = [s for s in states if s is not None]
    return min(counted, key=lambda s: (s.remaining, -s.reset)) if counted else None


async def hit(redis: Redis | None, namespace: str, identity: str, limit: int,
              now: float | None = None) -> RateLimitState | None:
    """Count one request; raise 429 past the limit. Fails open (None) when Redis is down."""
    if redis is None:
        return None
    now = time.time() if now is None else now
    key = f"{namespace}:ratelimit:{identity}:{int(now // WINDOW_SECONDS)}"
    try:
        # redis-py types eval for its sync and async clients at once (`Awaitable[str] | str`).
        count = int(await redis.eval(_HIT, 1, key))  # type: ignore[misc]
    except (RedisError, OSError):
        log.warning("rate limiter unavailable; request allowed", exc_info=True)
        return None
    state = window(now, limit, int(count))
    if count > limit:
        raise TooManyRequests(
            f"More than {limit} requests this minute; retry in {state.reset} s.",
            headers={"Retry-After": str(state.reset), **state.headers()},
        )
    return state
