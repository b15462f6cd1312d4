"""The one way to change a ticket, pure: status rules and `solved_at`, the columns a change
writes, the history diff and the events a change derives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.enums import Priority, TicketStatus
from app.core.outbox import EventType
from app.tickets import changes

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
THEN = NOW - timedelta(days=1)


def state(**columns: Any) -> dict[str, Any]:
    return {"status": "open", "solved_at": None, "custom_fields": {"plan": "gold"}, **columns}


@pytest.mark.parametrize(("status", "before", "after"), [
    ("solved", None, NOW), ("solved", THEN, NOW),  # solving (again) is now
    ("closed", THEN, THEN), ("closed", None, None),  # closing keeps when it was solved
    ("open", THEN, None), ("new", THEN, None), ("pending", THEN, None), ("on_hold", THEN, None),
])
def test_solved_at_is_now_on_solving_kept_on_closing_and_cleared_otherwise(status, before, after):
    assert changes.solved_at(status, before, NOW) == after
    assert changes.solved_at(TicketStatus(status), before, NOW) == after


def test_a_status_change_writes_the_status_and_its_solved_at():
    assert changes.apply_changes(state(), {"status": TicketStatus.solved}, NOW) == {
        "status": "solved", "solved_at": NOW}
    assert changes.apply_changes(state(status="solved", solved_at=THEN),
                                 {"status": "closed"}, NOW) == {"status": "closed",
                                                                "solved_at": THEN}
    assert changes.apply_changes(state(status="solved", solved_at=THEN),
                                 {"status": "open"}, NOW) == {"status": "open", "solved_at": None}


def test_the_same_status_writes_nothing_and_keeps_solved_at():
    assert changes.apply_changes(state(status="solved", solved_at=THEN),
                                 {"status": TicketStatus.solved}, NOW) == {}


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        changes.apply_changes(state(), {"status": "archived"}, NOW)


def test_priority_names_are_written_as_ranks():
    written = [changes.apply_changes(state(), {"priority": p}, NOW)["priority"] for p in Priority]
    assert written == [0, 1, 2, 3]
    assert changes.apply_changes(state(), {"priority": "high"}, NOW) == {"priority": 2}


def test_custom_fields_are_merged_and_null_clears_one():
    assert changes.apply_changes(state(), {"custom_fields": {"seats": 10}}, NOW) == {
        "custom_fields": {"plan": "gold", "seats": 10}}
    assert changes.apply_changes(state(), {"custom_fields": {"plan": None}}, NOW) == {
        "custom_fields": {}}
    assert changes.apply_changes(state(custom_fields=None), {"custom_fields": {"a": 1}},
                                 NOW) == {"custom_fields": {"a": 1}}


def test_other_fields_are_written_as_given_and_the_current_state_is_left_alone():
    current = state()
    requested = {"subject": "New", "tags": ["vip"], "assignee_id": None, "type": None,
                 "due_at": NOW, "team_id": 3}
    assert changes.apply_changes(current, requested, NOW) == requested
    assert current == state()


def test_only_the_columns_it_reads_are_needed():
    current = {column: None for column in changes.READS}
    changes.apply_changes(current, {"status": "solved", "custom_fields": {"a": 1},
                                    "priority": "low", "tags": []}, NOW)


def test_the_diff_names_changed_fields_but_not_version_or_updated_at():
    before = {"id": 1, "status": "new", "tags": [], "version": 1, "updated_at": "a"}
    after = {"id": 1, "status": "open", "tags": ["vip"], "version": 2, "updated_at": "b"}
    assert changes.diff(before, after) == {"status": ["new", "open"], "tags": [[], ["vip"]]}
    assert changes.diff(before, before) == {}


def test_a_change_records_itself_then_status_changed_and_assigned():
    diff = {"status": ["new", "open"], "assignee_id": [None, 4], "tags": [[], ["vip"]]}
    assert changes.derived(EventType.ticket_updated, diff) == [
        ("ticket.updated", diff),
        ("ticket.status_changed", {"status": ["new", "open"]}),
        ("ticket.assigned", {"assignee_id": [None, 4]}),
    ]
    assert changes.derived(EventType.ticket_routed, {"tags": [[], ["a"]]}) == [
        ("ticket.routed", {"tags": [[], ["a"]]})]
    assert changes.derived(EventType.ticket_routed, {}) == [("ticket.routed", {})]
