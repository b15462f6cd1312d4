"""The retry schedule, Retry-After and the disable rule: pure, with a fixed clock and random."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.webhooks import schedule
from app.webhooks.dispatch import Dispatchable, fan_out, matches

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Fixed:
    """A random source that always answers the same point of the range (0 = low, 1 = high)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


MIDDLE = Fixed(0.5)


def test_schedule_waits_5s_5m_30m_2h_5h_10h_14h_then_gives_up():
    waits = [schedule.next_attempt(n, NOW, MIDDLE) - NOW for n in range(1, 8)]
    assert waits == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
                     timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
                     timedelta(hours=14)]
    assert schedule.next_attempt(8, NOW, MIDDLE) is None
    assert schedule.MAX_ATTEMPTS == 8


def test_schedule_jitters_each_wait_by_at_most_a_tenth():
    low = schedule.next_attempt(2, NOW, Fixed(0.0)) - NOW
    high = schedule.next_attempt(2, NOW, Fixed(1.0)) - NOW
    assert (low, high) == (timedelta(minutes=4, seconds=30), timedelta(minutes=5, seconds=30))


def test_schedule_before_any_attempt_is_now():
    assert schedule.next_attempt(0, NOW, MIDDLE) == NOW


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "succeeded"), (204, "succeeded"), (299, "succeeded"), (410, "gone"),
    (301, "failed"), (302, "failed"), (404, "failed"), (429, "failed"), (500, "failed"),
    (None, "failed"),
])
def test_outcome_of_a_response(status, outcome):
    assert schedule.outcome(status) == outcome


def test_retry_after_in_seconds():
    assert schedule.retry_after("120", NOW) == NOW + timedelta(seconds=120)


def test_retry_after_as_an_http_date():
    assert schedule.retry_after("Tue, 01 Dec 2026 12:30:00 GMT", NOW) == NOW + timedelta(minutes=30)


def test_retry_after_is_bounded_both_ways():
    assert schedule.retry_after("0", NOW) == NOW + schedule.RETRY_AFTER_MIN
    assert schedule.retry_after("Tue, 01 Dec 2026 11:00:00 GMT", NOW) == NOW + schedule.RETRY_AFTER_MIN
    assert schedule.retry_after("99999999999", NOW) == NOW + schedule.RETRY_AFTER_MAX


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Tue, 99 Foo"])
def test_unreadable_retry_after_is_ignored(value):
    assert schedule.retry_after(value, NOW) is None


def test_retry_after_is_honoured_only_on_429_and_503():
    assert [s for s in (200, 410, 429, 500, 502, 503) if schedule.honours_retry_after(s)] == [429, 503]


def test_failing_for_three_days_disables():
    assert not schedule.failing_too_long(None, NOW)
    assert not schedule.failing_too_long(NOW - timedelta(days=3, seconds=-1), NOW)
    assert schedule.failing_too_long(NOW - timedelta(days=3), NOW)


# --- which webhooks hear an event (pure) ------------------------------------------------------

class Hook:
    def __init__(self, id: int = 1, events=("*",), desk_ids=None, include_internal=False,
                 sandbox=False) -> None:
        self.id, self.events, self.desk_ids = id, list(events), desk_ids
        self.include_internal, self.sandbox = include_internal, sandbox


def event(type: str = "ticket.created", desk_id: int | None = 1, **kw) -> Dispatchable:
    return Dispatchable(id=10, type=type, desk_id=desk_id, **kw)


def test_a_webhook_hears_its_types_or_every_type_with_star():
    assert matches(Hook(events=["ticket.created"]), event("ticket.created"))
    assert not matches(Hook(events=["ticket.created"]), event("ticket.updated"))
    assert matches(Hook(events=["*"]), event("ticket.updated"))


def test_a_webhook_hears_its_desks_or_every_desk_when_none_named():
    assert matches(Hook(desk_ids=[1, 2]), event(desk_id=2))
    assert not matches(Hook(desk_ids=[1, 2]), event(desk_id=3))
    assert not matches(Hook(desk_ids=[1]), event(desk_id=None))
    assert matches(Hook(desk_ids=None), event(desk_id=3))


def test_internal_notes_go_only_to_webhooks_that_include_internal():
    note = event("comment.created", internal=True)
    assert not matches(Hook(), note)
    assert matches(Hook(include_internal=True), note)
    assert matches(Hook(), event("comment.created", internal=False))


def test_sandbox_webhooks_hear_only_sandbox_desks():
    assert not matches(Hook(sandbox=True), event(sandbox_desk=False))
    assert matches(Hook(sandbox=True), event(sandbox_desk=True))
    assert matches(Hook(sandbox=False), event(sandbox_desk=True))


def test_a_disabled_event_never_goes_to_the_webhook_it_is_about():
    disabled = event("webhook.disabled", desk_id=None, subject_type="webhook", subject_id=7)
    assert not matches(Hook(id=7), disabled)
    assert matches(Hook(id=8), disabled)


def test_fan_out_pairs_every_matching_webhook_with_every_event():
    hooks = [Hook(1, events=["ticket.created"]), Hook(2, desk_ids=[2]), Hook(3)]
    events = [Dispatchable(10, "ticket.created", 1), Dispatchable(11, "ticket.updated", 2)]
    assert fan_out(hooks, events) == [(1, 10), (3, 10), (2, 11), (3, 11)]
