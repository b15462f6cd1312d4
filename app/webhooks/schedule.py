"""When a delivery is tried again, and when a webhook has failed long enough: pure functions.

The clock and the random source are arguments, so tests drive a whole schedule without sleeping.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

# The waits after attempt 1, 2, … 7; an eighth failure ends the delivery (about 31.6 h in all).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=14),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Each wait is stretched or shrunk by up to this fraction, so retries of many deliveries that
# failed together (a subscriber outage) do not arrive together.
JITTER = 0.1
# A webhook whose deliveries have failed without a single success for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
# A subscriber's Retry-After is honoured within these bounds.
RETRY_AFTER_MIN = timedelta(seconds=1)
RETRY_AFTER_MAX = timedelta(hours=14)

Outcome = Literal["succeeded", "gone", "failed"]


class Random(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def outcome(status: int | None) -> Outcome:
    """What a response means: 2xx succeeded, 410 unsubscribes, anything else (3xx included, a
    redirect is never followed) or no response at all is a failure to retry."""
    if status is not None and 200 <= status < 300:
        return "succeeded"
    if status == 410:
        return "gone"
    return "failed"


def next_attempt(attempts: int, now: datetime, rng: Random = random) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once the schedule is used up."""
    if attempts < 1:
        return now
    if attempts > len(RETRY_DELAYS):
        return None
    delay = RETRY_DELAYS[attempts - 1]
    return now + delay * (1 + rng.uniform(-JITTER, JITTER))


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """The time a `Retry-After` header (delay in seconds, or an HTTP date) names, bounded; None
    when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return now + min(max(wait, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def honours_retry_after(status: int | None) -> bool:
    return status in {429, 503}


def failing_too_long(failing_since: datetime | None, now: datetime) -> bool:
    """Whether consecutive failures since `failing_since` have lasted long enough to disable."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
