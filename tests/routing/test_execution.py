"""Routing executed by the worker's job (`route_ticket` with a real ctx), each action and the
order of evaluation, inside the test's rolled-back transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.core import outbox
from app.core.db import utcnow
from app.models import (
    Comment,
    DeskMember,
    Event,
    FieldDefinition,
    Organization,
    RoundRobinCursor,
    RoutingRule,
    RoutingRun,
    Team,
    TeamMember,
    Ticket,
)
from app.routing.tasks import route_ticket
from app.tickets import service as tickets
from app.tickets.schemas import TicketCreate


@pytest.fixture
def ctx(sessionmaker, settings) -> dict[str, Any]:
    """What arq hands a job, with the test's sessions; no queue (the jobs a routing commit
    sends, such as the webhook dispatcher's kick, have nothing to find once rolled back)."""
    return {"sessionmaker": sessionmaker, "settings": settings, "redis": None, "job_try": 1}


def when(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"all": [{"field": field, "op": op, "value": value}]}


async def add_rule(session, desk_id: int, actions: list[dict[str, Any]], *,
                   conditions: dict[str, Any] | None = None, position: int = 0,
                   stop_processing: bool = False, enabled: bool = True,
                   name: str = "rule",
                   saved_by: tuple[str | None, int | None] = ("system", None)) -> int:
    """A rule row, saved by `saved_by` (kind, id: the system unless told)."""
    rule = RoutingRule(desk_id=desk_id, name=name, position=position, enabled=enabled,
                       conditions=conditions or {}, actions=actions,
                       stop_processing=stop_processing, actions_saved_by_kind=saved_by[0],
                       actions_saved_by_id=saved_by[1])
    session.add(rule)
    await session.flush()
    return rule.id


async def add_team(session, desk_ids: tuple[int, ...], members: list[int],
                   name: str | None = None) -> int:
    team = Team(name=name or f"Team {uuid.uuid4().hex[:8]}")
    session.add(team)
    await session.flush()
    session.add_all([TeamMember(team_id=team.id, user_id=u) for u in members])
    session.add_all([DeskMember(desk_id=d, team_id=team.id, role="agent") for d in desk_ids])
    await session.flush()
    return team.id


async def new_ticket(session, desk, email: str = "ana@acme.example", **fields: Any) -> Ticket:
    payload = TicketCreate(desk_id=desk.id, subject=fields.pop("subject", "Printer on fire"),
                           requester={"email": email, "name": "Ana"}, **fields)
    ticket = await tickets.create(session, None, payload, desk=desk)
    await outbox.write_pending(session)  # as its commit would
    return ticket


async def reload(session, ticket_id: int) -> Ticket:
    return await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                .execution_options(populate_existing=True))


async def runs_of(session, ticket_id: int) -> list[RoutingRun]:
    return list(await session.scalars(select(RoutingRun).where(RoutingRun.ticket_id == ticket_id)
                                      .order_by(RoutingRun.id)
                                      .execution_options(populate_existing=True)))


async def events_of(session, ticket_id: int, *types: str) -> list[Event]:
    stmt = select(Event).where(Event.subject_type == "ticket", Event.subject_id == ticket_id)
    if types:
        stmt = stmt.where(Event.type.in_(types))
    return list(await session.scalars(stmt.order_by(Event.id)))


async def route(ctx, session, ticket: Ticket) -> tuple[Ticket, RoutingRun]:
    """Run the job; the ticket as stored afterwards and its one run."""
    assert await route_ticket(ctx, ticket.id) == "done"
    [run] = await runs_of(session, ticket.id)
    return await reload(session, ticket.id), run


def results(run: RoutingRun) -> list[tuple[str, str]]:
    return [(a["type"], a["result"]) for a in run.actions]


# --- the run itself ---------------------------------------------------------------------------

async def test_ticket_without_rules_is_routed_with_an_empty_run_and_a_routed_event(
        ctx, session, factory):
    desk = await factory.desk()
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.routing_state == "done"
    assert routed.version == 1  # routing changed nothing: the create's ETag holds
    assert (run.outcome, run.matched_rule_ids, run.actions, run.hops, run.error) == (
        "done", [], [], 0, None)
    assert run.duration_ms > 0
    [event] = await events_of(session, ticket.id, "ticket.routed")
    assert event.actor["kind"] == "system"
    assert event.data["routing_state"] == "done"
    assert event.changes == {"routing_state": ["pending", "done"]}


async def test_routing_again_changes_nothing(ctx, session, factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["again"]}])
    ticket = await new_ticket(session, desk)
    await route(ctx, session, ticket)
    assert await route_ticket(ctx, ticket.id) == "skipped"
    assert len(await runs_of(session, ticket.id)) == 1
    assert len(await events_of(session, ticket.id, "ticket.routed")) == 1
    assert (await reload(session, ticket.id)).tags == ["again"]


async def test_routing_a_deleted_ticket_does_nothing(ctx, session):
    assert await route_ticket(ctx, 2_000_000_000) == "skipped"


async def test_several_actions_bump_the_version_once_and_diff_every_change(ctx, session,
                                                                           factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "set_priority", "value": "high"},
                                      {"type": "set_type", "value": "incident"}])
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["Hot Stuff"]}], position=1)
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert (routed.priority, routed.type, routed.tags, routed.version) == (
        2, "incident", ["hot-stuff"], 2)
    [event] = await events_of(session, ticket.id, "ticket.routed")
    assert event.changes == {"priority": ["normal", "high"], "type": [None, "incident"],
                             "tags": [[], ["hot-stuff"]], "routing_state": ["pending", "done"]}
    assert event.data["version"] == 2
    assert len(run.matched_rule_ids) == 2


# --- assignment ---------------------------------------------------------------------------------

async def test_assign_agent_assigns_an_agent_of_the_desk_and_emits_ticket_assigned(
        ctx, session, factory):
    desk = await factory.desk()
    agent = await factory.user(desks=(desk.id,))
    rule_id = await add_rule(session, desk.id, [{"type": "assign_agent", "value": agent.id}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.assignee_id == agent.id
    assert run.actions == [{"desk_id": desk.id, "rule_id": rule_id, "type": "assign_agent",
                            "value": agent.id, "result": "applied", "detail": None}]
    [assigned] = await events_of(session, ticket.id, "ticket.assigned")
    assert assigned.changes == {"assignee_id": [None, agent.id]}
    assert assigned.data["assignee_id"] == agent.id


async def test_assign_agent_who_left_the_desk_is_skipped_with_the_reason(ctx, session, factory):
    desk, other = await factory.desk(), await factory.desk("Other")
    gone = await factory.user(desks=(other.id,))
    await add_rule(session, desk.id, [{"type": "assign_agent", "value": gone.id},
                                      {"type": "set_priority", "value": "urgent"}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert (routed.assignee_id, routed.priority) == (None, 3)
    assert results(run) == [("assign_agent", "skipped"), ("set_priority", "applied")]
    assert f"not an agent of desk {desk.id}" in run.actions[0]["detail"]
    assert await events_of(session, ticket.id, "ticket.assigned") == []


async def test_assign_team_sets_a_team_of_the_desk_and_skips_a_foreign_one(ctx, session,
                                                                          factory):
    desk, other = await factory.desk(), await factory.desk("Other")
    ours = await add_team(session, (desk.id,), [], name="Ours")
    theirs = await add_team(session, (other.id,), [], name="Theirs")
    await add_rule(session, desk.id, [{"type": "assign_team", "value": theirs},
                                      {"type": "assign_team", "value": ours}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.team_id == ours
    assert results(run) == [("assign_team", "skipped"), ("assign_team", "applied")]


async def test_round_robin_hands_out_turns_by_user_id_and_wraps_around(ctx, session, factory):
    desk = await factory.desk()
    users = sorted([(await factory.user(desks=(desk.id,))).id for _ in range(3)])
    team = await add_team(session, (desk.id,), list(reversed(users)))
    await add_rule(session, desk.id, [{"type": "assign_round_robin", "value": team}])
    assignees = []
    for i in range(4):
        ticket = await new_ticket(session, desk, subject=f"Ticket {i}")
        routed, run = await route(ctx, session, ticket)
        assert routed.team_id == team
        assert run.actions[0]["detail"] == f"assigned user {routed.assignee_id}"
        assignees.append(routed.assignee_id)
    assert assignees == [*users, users[0]]
    cursor = await session.get(RoundRobinCursor, (desk.id, team))
    await session.refresh(cursor)
    assert cursor.last_user_id == users[0]


async def test_round_robin_skips_inactive_members_an_empty_team_and_a_team_of_another_desk(
        ctx, session, factory):
    desk, other = await factory.desk(), await factory.desk("Other")
    active = await factory.user(desks=(desk.id,))
    inactive = await factory.user(desks=(desk.id,))
    inactive.is_active = False
    team = await add_team(session, (desk.id,), [inactive.id, active.id], name="Half")
    empty = await add_team(session, (desk.id,), [], name="Empty")
    foreign = await add_team(session, (other.id,), [active.id], name="Foreign")
    await add_rule(session, desk.id, [{"type": "assign_round_robin", "value": empty},
                                      {"type": "assign_round_robin", "value": foreign},
                                      {"type": "assign_round_robin", "value": team}])
    first = await new_ticket(session, desk)
    routed, run = await route(ctx, session, first)
    assert (routed.assignee_id, routed.team_id) == (active.id, team)
    assert results(run) == [("assign_round_robin", "skipped")] * 2 + [
        ("assign_round_robin", "applied")]
    assert run.actions[0]["detail"] == f"team {empty} has no active members"
    assert run.actions[1]["detail"] == f"team {foreign} has no access to desk {desk.id}"
    assert await session.get(RoundRobinCursor, (desk.id, foreign)) is None


async def test_least_loaded_picks_the_member_with_fewest_open_tickets_ties_by_id(
        ctx, session, factory):
    desk = await factory.desk()
    low, high = sorted([(await factory.user(desks=(desk.id,))).id for _ in range(2)])
    team = await add_team(session, (desk.id,), [low, high])
    for status in ("open", "pending"):
        await new_ticket(session, desk, assignee_id=low, status=status)
    await new_ticket(session, desk, assignee_id=high, status="open")
    await new_ticket(session, desk, assignee_id=high, status="solved")  # not open: not counted
    await add_rule(session, desk.id, [{"type": "assign_least_loaded", "value": team}],
                   conditions=when("subject", "contains", "route me"))
    first = await new_ticket(session, desk, subject="route me 1")
    assert (await route(ctx, session, first))[0].assignee_id == high  # 1 open vs 2
    second = await new_ticket(session, desk, subject="route me 2")
    routed, _ = await route(ctx, session, second)
    assert routed.assignee_id == low  # 2 each now: the lower id


# --- fields ---------------------------------------------------------------------------------

async def test_set_status_to_solved_sets_solved_at_and_emits_status_changed(ctx, session,
                                                                             factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "set_status", "value": "solved"}])
    ticket = await new_ticket(session, desk)
    routed, _ = await route(ctx, session, ticket)
    assert (routed.status, routed.solved_at is not None) == ("solved", True)
    [changed] = await events_of(session, ticket.id, "ticket.status_changed")
    assert changed.changes == {"status": ["new", "solved"]}


async def test_set_field_stores_a_value_the_desk_accepts_and_skips_one_it_refuses(
        ctx, session, factory):
    desk = await factory.desk()
    session.add(FieldDefinition(desk_id=desk.id, entity="ticket", key="plan", spec={
        "key": "plan", "label": "Plan", "type": "select",
        "options": [{"value": "pro", "label": "Pro"}, {"value": "free", "label": "Free"}]}))
    await session.flush()
    await add_rule(session, desk.id, [
        {"type": "set_field", "value": {"key": "plan", "value": "enterprise"}},
        {"type": "set_field", "value": {"key": "nope", "value": 1}},
        {"type": "set_field", "value": {"key": "plan", "value": "pro"}}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.custom_fields == {"plan": "pro"}
    assert results(run) == [("set_field", "skipped"), ("set_field", "skipped"),
                            ("set_field", "applied")]
    assert all(a["detail"] for a in run.actions[:2])


async def test_add_and_remove_tags_normalise_like_tickets_do(ctx, session, factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["VIP", "Needs Reply"]},
                                      {"type": "remove_tags", "value": [" legacy "]}])
    ticket = await new_ticket(session, desk, tags=["legacy", "vip"])
    routed, _ = await route(ctx, session, ticket)
    assert routed.tags == ["vip", "needs-reply"]


# --- replies ----------------------------------------------------------------------------------

async def test_reply_adds_a_public_system_comment_rendered_from_the_routed_ticket(
        ctx, session, factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [
        {"type": "reply", "value": {"body": "Hi {{ requester.name }}, #{{ ticket.number }} "
                                            "is {{ ticket.priority }}."}},
        {"type": "set_priority", "value": "urgent"}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    [comment] = list(await session.scalars(select(Comment).where(Comment.ticket_id == ticket.id)))
    assert (comment.body, comment.public, comment.author_kind) == (
        f"Hi Ana, #{routed.number} is urgent.", True, "system")
    assert run.actions[0]["detail"] == f"comment {comment.id}"
    assert [e.type for e in await events_of(session, ticket.id)] == [
        "ticket.created", "comment.created", "ticket.routed"]


async def test_reply_to_a_ticket_a_rule_closed_is_skipped(ctx, session, factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "set_status", "value": "closed"},
                                      {"type": "reply", "value": {"body": "Thanks"}}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.status == "closed"
    assert results(run) == [("set_status", "applied"), ("reply", "skipped")]


# --- order of evaluation ------------------------------------------------------------------------

async def test_organization_actions_run_first_and_desk_rules_override_them(ctx, session,
                                                                           factory):
    desk = await factory.desk()
    org = Organization(desk_id=desk.id, name="Acme", routing_actions=[
        {"type": "set_priority", "value": "urgent"}, {"type": "add_tags", "value": ["acme"]}])
    session.add(org)
    await session.flush()
    rule_id = await add_rule(session, desk.id, [{"type": "set_priority", "value": "low"}],
                             conditions=when("tags", "contains", "acme"))
    ticket = await new_ticket(session, desk)
    ticket.organization_id = org.id
    await session.flush()
    routed, run = await route(ctx, session, ticket)
    assert (routed.priority, routed.tags) == (0, ["acme"])
    assert [(a["rule_id"], a["value"]) for a in run.actions] == [
        (None, "urgent"), (None, ["acme"]), (rule_id, "low")]
    assert run.matched_rule_ids == [rule_id]


async def test_stop_processing_ends_evaluation_after_the_matching_rule(ctx, session, factory):
    desk = await factory.desk()
    skipped_rule = await add_rule(session, desk.id, [{"type": "add_tags", "value": ["no"]}],
                                  conditions=when("subject", "contains", "nothing"))
    stopper = await add_rule(session, desk.id, [{"type": "add_tags", "value": ["first"]}],
                             position=1, stop_processing=True)
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["later"]}], position=2)
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["off"]}], position=0,
                   enabled=False)
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert routed.tags == ["first"]
    assert run.matched_rule_ids == [stopper]
    assert skipped_rule not in run.matched_rule_ids


# --- moves between desks --------------------------------------------------------------------

async def test_move_to_desk_moves_the_ticket_and_runs_the_target_desks_rules(ctx, session,
                                                                            factory):
    first, second = await factory.desk("First"), await factory.desk("Second")
    move = await add_rule(session, first.id, [{"type": "set_priority", "value": "high"},
                                               {"type": "move_to_desk", "value": second.id},
                                               {"type": "add_tags", "value": ["never"]}])
    there = await add_rule(session, second.id, [{"type": "add_tags", "value": ["arrived"]}])
    ticket = await new_ticket(session, first)
    routed, run = await route(ctx, session, ticket)
    assert (routed.desk_id, routed.number, routed.priority, routed.tags) == (
        second.id, 1, 2, ["arrived"])
    assert run.hops == 1
    assert run.desk_id == second.id
    assert run.matched_rule_ids == [move, there]
    assert [(a["desk_id"], a["type"], a["result"]) for a in run.actions] == [
        (first.id, "set_priority", "applied"), (first.id, "move_to_desk", "applied"),
        (second.id, "add_tags", "applied")]
    types = [e.type for e in await events_of(session, ticket.id)]
    assert types == ["ticket.created", "ticket.transferred", "ticket.routed"]
    [event] = await events_of(session, ticket.id, "ticket.routed")
    assert event.desk_id == second.id
    assert event.changes["desk_id"] == [first.id, second.id]


async def test_moves_stop_after_three_hops_with_the_reason_recorded(ctx, session, factory):
    ping, pong = await factory.desk("Ping"), await factory.desk("Pong")
    await add_rule(session, ping.id, [{"type": "move_to_desk", "value": pong.id}])
    await add_rule(session, pong.id, [{"type": "move_to_desk", "value": ping.id}])
    ticket = await new_ticket(session, ping)
    routed, run = await route(ctx, session, ticket)
    assert run.hops == 3
    assert routed.desk_id == pong.id  # ping -> pong -> ping -> pong, then no fourth move
    assert results(run) == [("move_to_desk", "applied")] * 3 + [("move_to_desk", "skipped")]
    assert "at most 3 moves" in run.actions[-1]["detail"]
    assert len(await events_of(session, ticket.id, "ticket.transferred")) == 3
    assert routed.routing_state == "done"
    assert routed.version == 4  # moved thrice; routing that changes nothing bumps nothing


async def test_move_to_an_archived_desk_is_skipped(ctx, session, factory):
    desk, archived = await factory.desk(), await factory.desk("Old", archived_at=utcnow())
    await add_rule(session, desk.id, [{"type": "move_to_desk", "value": archived.id}])
    ticket = await new_ticket(session, desk)
    routed, run = await route(ctx, session, ticket)
    assert (routed.desk_id, run.hops, results(run)) == (desk.id, 0, [("move_to_desk", "skipped")])


# --- batches: a job routes its ticket and the desk's other pending ones in one transaction ---

def behind(ctx: dict[str, Any]) -> dict[str, Any]:
    """The ctx of a job that started late (the queue is behind), batching tickets of any age
    (the test's tickets are as old as its transaction)."""
    settings = ctx["settings"].model_copy(update={"routing_batch_after_seconds": 0})
    return {**ctx, "settings": settings, "enqueue_time": utcnow() - timedelta(seconds=5)}


async def routed_all(ctx, session, tickets_: list[Ticket]) -> list[Ticket]:
    """Route the first ticket's job, late; every ticket, as stored, routed by that one job."""
    assert await route_ticket(behind(ctx), tickets_[0].id) == "done"
    stored = [await reload(session, t.id) for t in tickets_]
    assert [t.routing_state for t in stored] == ["done"] * len(tickets_)
    for t in tickets_[1:]:
        assert await route_ticket(ctx, t.id) == "skipped"
    return stored


async def test_a_batch_hands_out_round_robin_turns_in_ticket_order(ctx, session, factory):
    desk = await factory.desk()
    users = sorted([(await factory.user(desks=(desk.id,))).id for _ in range(3)])
    team = await add_team(session, (desk.id,), users)
    await add_rule(session, desk.id, [{"type": "assign_round_robin", "value": team}])
    made = [await new_ticket(session, desk, subject=f"Ticket {i}") for i in range(4)]
    stored = await routed_all(ctx, session, made)
    assert [t.assignee_id for t in stored] == [*users, users[0]]


async def test_least_loaded_counts_the_assignments_of_its_own_batch(ctx, session, factory):
    desk = await factory.desk()
    low, high = sorted([(await factory.user(desks=(desk.id,))).id for _ in range(2)])
    team = await add_team(session, (desk.id,), [low, high])
    await add_rule(session, desk.id, [{"type": "assign_least_loaded", "value": team}])
    made = [await new_ticket(session, desk, subject=f"Ticket {i}") for i in range(4)]
    stored = await routed_all(ctx, session, made)
    assert [t.assignee_id for t in stored] == [low, high, low, high]


async def test_replies_and_moves_inside_a_batch_see_each_tickets_routed_state(ctx, session,
                                                                             factory):
    first, second = await factory.desk("First"), await factory.desk("Second")
    await add_rule(session, first.id, [
        {"type": "set_priority", "value": "high"},
        {"type": "reply", "value": {"body": "#{{ ticket.number }} is {{ ticket.priority }}"}},
        {"type": "move_to_desk", "value": second.id}])
    await add_rule(session, second.id, [{"type": "add_tags", "value": ["arrived"]}])
    made = [await new_ticket(session, first, subject=f"Ticket {i}") for i in range(3)]
    numbers = [t.number for t in made]
    stored = await routed_all(ctx, session, made)
    assert [(t.desk_id, t.priority, t.tags) for t in stored] == [(second.id, 2, ["arrived"])] * 3
    for ticket, number in zip(stored, numbers, strict=True):
        [comment] = list(await session.scalars(select(Comment)
                                               .where(Comment.ticket_id == ticket.id)))
        assert comment.body == f"#{number} is high"
        [run] = await runs_of(session, ticket.id)
        assert (run.hops, run.outcome) == (1, "done")
        assert [e.type for e in await events_of(session, ticket.id)] == [
            "ticket.created", "comment.created", "ticket.transferred", "ticket.routed"]


async def test_a_job_on_time_routes_its_ticket_alone(ctx, session, factory):
    desk = await factory.desk()
    await add_rule(session, desk.id, [{"type": "add_tags", "value": ["seen"]}])
    first, second = [await new_ticket(session, desk, subject=f"Ticket {i}") for i in range(2)]
    on_time = {**behind(ctx), "enqueue_time": utcnow()}
    on_time["settings"] = on_time["settings"].model_copy(
        update={"routing_batch_after_seconds": 1.0})
    assert await route_ticket(on_time, first.id) == "done"
    assert [(await reload(session, t.id)).routing_state for t in (first, second)] == [
        "done", "pending"]
