"""`GET /v1/tickets`: filters, sorts, keyset pages and their cursors, query count."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event

from app.models import DeskMember, Team
from tests.conftest import bearer
from tests.customers.helpers import agent_headers
from tests.tickets.finding import (
    BASE_TIME,
    bulk_tickets,
    comment,
    define_ticket_field,
    ids,
    make_ticket,
    ok,
    set_times,
    spread_created,
    walk,
)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory):
    return await factory.desk("Support")


@pytest_asyncio.fixture(loop_scope="session")
async def other_desk(factory):
    return await factory.desk("Billing")


async def _list(client, headers, **params: Any) -> list[int]:
    return ids(await client.get("/v1/tickets", headers=headers, params=params))


# --- shape and defaults -----------------------------------------------------------------------

async def test_list_answers_items_and_null_next_cursor_on_the_last_page(client, admin_headers,
                                                                        desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Printer on fire")
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"desk_id": desk.id}))
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert body["items"] == [ticket]


async def test_list_of_an_empty_desk_is_an_empty_page(client, admin_headers, desk):
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"desk_id": desk.id}))
    assert body == {"items": [], "next_cursor": None}


async def test_list_without_sort_is_newest_first_with_ties_by_higher_id(client, admin_headers,
                                                                       desk, session):
    made = [(await make_ticket(client, admin_headers, desk.id, f"t{i}"))["id"] for i in range(4)]
    # made[0] newest; made[1] and made[2] created at the same instant; made[3] oldest.
    await set_times(session, made[0], created_at=BASE_TIME + timedelta(hours=2))
    await set_times(session, made[1], created_at=BASE_TIME + timedelta(hours=1))
    await set_times(session, made[2], created_at=BASE_TIME + timedelta(hours=1))
    await set_times(session, made[3], created_at=BASE_TIME)
    assert await _list(client, admin_headers, desk_id=desk.id) == [made[0], made[2], made[1],
                                                                  made[3]]


async def test_default_page_holds_fifty_tickets(client, admin_headers, desk, session):
    await bulk_tickets(session, desk, 51)
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"desk_id": desk.id}))
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None


# --- sorts ------------------------------------------------------------------------------------

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@pytest_asyncio.fixture(loop_scope="session")
async def sortable(client, admin_headers, desk, session) -> list[dict[str, Any]]:
    """Seven tickets with distinct and tied created_at, updated_at and priority."""
    specs = [  # (created minutes, updated minutes, priority)
        (0, 50, "normal"), (10, 10, "urgent"), (10, 40, "low"), (20, 40, "normal"),
        (30, 5, "high"), (30, 60, "urgent"), (40, 20, "low"),
    ]
    made = []
    for i, (created, updated, priority) in enumerate(specs):
        ticket = await make_ticket(client, admin_headers, desk.id, f"sortable {i}",
                                  priority=priority)
        await set_times(session, ticket["id"], created_at=BASE_TIME + timedelta(minutes=created),
                        updated_at=BASE_TIME + timedelta(minutes=updated))
        made.append({"id": ticket["id"], "created": created, "updated": updated,
                     "priority": PRIORITY_RANK[priority]})
    return made


SORT_KEYS = {
    "created_at": (lambda t: (t["created"], t["id"]), False),
    "-created_at": (lambda t: (t["created"], t["id"]), True),
    "updated_at": (lambda t: (t["updated"], t["id"]), False),
    "-updated_at": (lambda t: (t["updated"], t["id"]), True),
    "priority": (lambda t: (t["priority"], t["id"]), False),
    "-priority": (lambda t: (t["priority"], t["id"]), True),
}


@pytest.mark.parametrize("sort", list(SORT_KEYS))
async def test_each_sort_orders_by_its_key_with_ties_broken_by_id(client, admin_headers, desk,
                                                                  sortable, sort):
    key, reverse = SORT_KEYS[sort]
    expected = [t["id"] for t in sorted(sortable, key=key, reverse=reverse)]
    assert await _list(client, admin_headers, desk_id=desk.id, sort=sort) == expected


@pytest.mark.parametrize("sort", list(SORT_KEYS))
async def test_paging_each_sort_two_at_a_time_yields_the_same_order(client, admin_headers, desk,
                                                                    sortable, sort):
    whole = await _list(client, admin_headers, desk_id=desk.id, sort=sort)
    paged, pages = await walk(client, "/v1/tickets", admin_headers,
                              {"desk_id": desk.id, "sort": sort, "limit": 2})
    assert paged == whole
    assert pages == 4


async def test_priority_sort_runs_low_to_urgent_and_minus_priority_urgent_first(
        client, admin_headers, desk, sortable):
    def names(found: list[int]) -> list[int]:
        by_id = {t["id"]: t["priority"] for t in sortable}
        return [by_id[i] for i in found]

    assert names(await _list(client, admin_headers, desk_id=desk.id, sort="priority")) == [
        0, 0, 1, 1, 2, 3, 3]
    assert names(await _list(client, admin_headers, desk_id=desk.id, sort="-priority")) == [
        3, 3, 2, 1, 1, 0, 0]


async def test_unknown_sort_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"sort": "subject"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "sort"]]


# --- filters ----------------------------------------------------------------------------------

async def test_desk_id_filter_lists_only_that_desk(client, admin_headers, desk, other_desk):
    mine = await make_ticket(client, admin_headers, desk.id)
    theirs = await make_ticket(client, admin_headers, other_desk.id)
    assert await _list(client, admin_headers, desk_id=desk.id) == [mine["id"]]
    assert await _list(client, admin_headers, desk_id=other_desk.id) == [theirs["id"]]


async def test_desk_id_filter_outside_the_callers_desks_is_404(client, factory, desk,
                                                               other_desk, problem):
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    body = problem(await client.get("/v1/tickets", headers=headers,
                                    params={"desk_id": other_desk.id}), 404)
    assert body["detail"] == f"Desk {other_desk.id} does not exist."


async def test_scoped_token_without_desk_filter_sees_only_its_desks(client, factory,
                                                                    admin_headers, desk,
                                                                    other_desk):
    mine = await make_ticket(client, admin_headers, desk.id, "Shared words")
    await make_ticket(client, admin_headers, other_desk.id, "Shared words")
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    assert await _list(client, headers) == [mine["id"]]
    assert await _list(client, headers, q="shared") == [mine["id"]]
    assert await _list(client, headers, sort="created_at") == [mine["id"]]


async def test_staff_agent_lists_only_tickets_of_their_desks(client, factory, admin_headers,
                                                             desk, other_desk, problem):
    mine = await make_ticket(client, admin_headers, desk.id)
    await make_ticket(client, admin_headers, other_desk.id)
    headers = await agent_headers(client, factory, desk.id)
    assert await _list(client, headers) == [mine["id"]]
    problem(await client.get("/v1/tickets", headers=headers, params={"desk_id": other_desk.id}),
            404)


async def test_list_needs_tickets_read(client, factory, desk, problem):
    headers = bearer(await factory.token(["customers:read"], desk_ids=[desk.id]))
    problem(await client.get("/v1/tickets", headers=headers), 403)
    problem(await client.get("/v1/tickets"), 401)


async def test_status_filter_repeats_for_any_of_several(client, admin_headers, desk):
    made = {}
    for status in ("new", "open", "pending", "solved"):
        made[status] = (await make_ticket(client, admin_headers, desk.id, status=status))["id"]
    assert await _list(client, admin_headers, desk_id=desk.id, status="open") == [made["open"]]
    both = await _list(client, admin_headers, desk_id=desk.id, status=["new", "pending"])
    assert sorted(both) == sorted([made["new"], made["pending"]])
    assert await _list(client, admin_headers, desk_id=desk.id, status="closed") == []


async def test_unknown_status_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"status": ["open", "done"]}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "status", 1]]


async def test_priority_filter_repeats(client, admin_headers, desk):
    made = {p: (await make_ticket(client, admin_headers, desk.id, priority=p))["id"]
            for p in ("low", "normal", "high", "urgent")}
    assert await _list(client, admin_headers, desk_id=desk.id, priority="urgent") == [
        made["urgent"]]
    assert sorted(await _list(client, admin_headers, desk_id=desk.id,
                              priority=["low", "high"])) == sorted([made["low"], made["high"]])


async def test_unknown_priority_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"priority": "critical"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "priority", 0]]


async def test_assignee_id_filter(client, admin_headers, factory, desk):
    ana = await factory.user(desks=(desk.id,))
    bo = await factory.user(desks=(desk.id,))
    for_ana = await make_ticket(client, admin_headers, desk.id, assignee_id=ana.id)
    await make_ticket(client, admin_headers, desk.id, assignee_id=bo.id)
    await make_ticket(client, admin_headers, desk.id)
    assert await _list(client, admin_headers, assignee_id=ana.id) == [for_ana["id"]]


async def test_team_id_filter(client, admin_headers, session, desk):
    teams = [Team(name="Tier 1 (list test)"), Team(name="Tier 2 (list test)")]
    session.add_all(teams)
    await session.flush()
    session.add_all([DeskMember(desk_id=desk.id, team_id=t.id, role="agent") for t in teams])
    await session.flush()
    first = await make_ticket(client, admin_headers, desk.id, team_id=teams[0].id)
    await make_ticket(client, admin_headers, desk.id, team_id=teams[1].id)
    await make_ticket(client, admin_headers, desk.id)
    assert await _list(client, admin_headers, team_id=teams[0].id) == [first["id"]]


async def test_organization_id_filter(client, admin_headers, desk):
    org = ok(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme", "domains": ["acme.example"]}), 201)
    member = await make_ticket(client, admin_headers, desk.id,
                              requester={"email": "ana@acme.example"})
    assert member["organization_id"] == org["id"]
    await make_ticket(client, admin_headers, desk.id, requester={"email": "bo@other.example"})
    assert await _list(client, admin_headers, organization_id=org["id"]) == [member["id"]]


async def test_requester_id_filter(client, admin_headers, desk):
    first = await make_ticket(client, admin_headers, desk.id, requester={"email": "a@x.example"})
    again = await make_ticket(client, admin_headers, desk.id,
                             requester_id=first["requester_id"])
    await make_ticket(client, admin_headers, desk.id, requester={"email": "b@x.example"})
    found = await _list(client, admin_headers, requester_id=first["requester_id"])
    assert sorted(found) == sorted([first["id"], again["id"]])


async def test_repeated_tag_filter_needs_every_tag(client, admin_headers, desk):
    both = await make_ticket(client, admin_headers, desk.id, tags=["vip", "printer"])
    vip = await make_ticket(client, admin_headers, desk.id, tags=["vip"])
    await make_ticket(client, admin_headers, desk.id, tags=["printer"])
    assert sorted(await _list(client, admin_headers, desk_id=desk.id, tag="vip")) == sorted(
        [both["id"], vip["id"]])
    assert await _list(client, admin_headers, desk_id=desk.id, tag=["vip", "printer"]) == [
        both["id"]]
    assert await _list(client, admin_headers, desk_id=desk.id, tag=["vip", "nope"]) == []


async def test_tag_filter_is_normalised_like_stored_tags(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id, tags=["Needs Review"])
    assert ticket["tags"] == ["needs-review"]
    assert await _list(client, admin_headers, desk_id=desk.id, tag="Needs Review") == [
        ticket["id"]]
    assert await _list(client, admin_headers, desk_id=desk.id, tag=" NEEDS-review ") == [
        ticket["id"]]


async def test_empty_tag_filter_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"tag": ""}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "tag", 0]]


@pytest_asyncio.fixture(loop_scope="session")
async def dated(client, admin_headers, desk, session) -> dict[str, int]:
    """`early` created 12:00Z, updated 15:00Z; `late` created 14:00Z, updated 14:00Z."""
    early = await make_ticket(client, admin_headers, desk.id, "early")
    late = await make_ticket(client, admin_headers, desk.id, "late")
    await set_times(session, early["id"], created_at=BASE_TIME,
                    updated_at=BASE_TIME + timedelta(hours=3))
    await set_times(session, late["id"], created_at=BASE_TIME + timedelta(hours=2),
                    updated_at=BASE_TIME + timedelta(hours=2))
    return {"early": early["id"], "late": late["id"]}


@pytest.mark.parametrize(("params", "expected"), [
    ({"created_after": "2026-01-01T11:59:59Z"}, ["late", "early"]),
    ({"created_after": "2026-01-01T12:00:00Z"}, ["late"]),
    # 13:30 at +02:00 is 11:30Z: both; 15:30 at +02:00 is 13:30Z: only `late`.
    ({"created_after": "2026-01-01T13:30:00+02:00"}, ["late", "early"]),
    ({"created_after": "2026-01-01T15:30:00+02:00"}, ["late"]),
    ({"created_after": "2026-01-01T09:30:00-04:00"}, ["late"]),
    ({"created_after": "2026-01-01T14:00:00Z"}, []),
    ({"updated_after": "2026-01-01T14:30:00Z"}, ["early"]),
    ({"updated_after": "2026-01-01T16:30:00+02:00"}, ["early"]),
    ({"updated_after": "2026-01-01T13:00:00Z"}, ["late", "early"]),
    ({"created_after": "2026-01-01T13:00:00Z", "updated_after": "2026-01-01T14:30:00Z"}, []),
])
async def test_created_after_and_updated_after_honour_the_offset(client, admin_headers, desk,
                                                                 dated, params, expected):
    assert await _list(client, admin_headers, desk_id=desk.id, **params) == [
        dated[name] for name in expected]


@pytest.mark.parametrize("name", ["created_after", "updated_after"])
@pytest.mark.parametrize("value", ["2026-01-01T12:00:00", "2026-01-01"])
async def test_time_filter_without_an_offset_is_422(client, admin_headers, problem, name, value):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={name: value}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", name]]


async def test_unparseable_time_filter_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"created_after": "yesterday"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "created_after"]]


@pytest_asyncio.fixture(loop_scope="session")
async def fielded(client, admin_headers, desk) -> dict[str, int]:
    """Tickets with text, integer, decimal, checkbox and multiselect custom fields."""
    for spec in ({"key": "plan", "type": "text"}, {"key": "seats", "type": "integer"},
                 {"key": "amount", "type": "decimal"}, {"key": "urgent", "type": "checkbox"},
                 {"key": "regions", "type": "multiselect",
                  "options": [{"value": v, "label": v.upper()} for v in ("eu", "us", "apac")]}):
        await define_ticket_field(client, admin_headers, desk.id, **spec)
    values = {
        "a": {"plan": "gold", "seats": 5, "amount": 2.5, "urgent": True, "regions": ["eu", "us"]},
        "b": {"plan": "silver", "seats": 50, "amount": 5, "urgent": False, "regions": ["us"]},
        "c": {"plan": "Gold plan", "seats": 7},
    }
    return {name: (await make_ticket(client, admin_headers, desk.id, name,
                                    custom_fields=custom))["id"]
            for name, custom in values.items()}


@pytest.mark.parametrize(("params", "expected"), [
    ({"custom_fields.plan": "gold"}, ["a"]),
    ({"custom_fields.plan": "Gold plan"}, ["c"]),
    ({"custom_fields.plan": "bronze"}, []),
    ({"custom_fields.seats": "5"}, ["a"]),
    ({"custom_fields.seats": "50"}, ["b"]),
    ({"custom_fields.amount": "2.5"}, ["a"]),
    ({"custom_fields.amount": "5"}, ["b"]),
    ({"custom_fields.amount": "5.0"}, ["b"]),
    ({"custom_fields.urgent": "true"}, ["a"]),
    ({"custom_fields.urgent": "false"}, ["b"]),
    ({"custom_fields.regions": "us"}, ["b", "a"]),
    ({"custom_fields.regions": "eu"}, ["a"]),
    ({"custom_fields.regions": "apac"}, []),
    ({"custom_fields.plan": "gold", "custom_fields.seats": "5"}, ["a"]),
    ({"custom_fields.plan": "gold", "custom_fields.seats": "50"}, []),
    ({"custom_fields.nosuchfield": "gold"}, []),
])
async def test_custom_field_filters_match_typed_values(client, admin_headers, desk, fielded,
                                                       params, expected):
    assert await _list(client, admin_headers, desk_id=desk.id, **params) == [
        fielded[name] for name in expected]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e400", "1_000"])
async def test_custom_field_filter_with_an_odd_number_matches_nothing_and_is_no_500(
        client, admin_headers, desk, fielded, value):
    assert await _list(client, admin_headers, desk_id=desk.id,
                       **{"custom_fields.seats": value}) == []


async def test_custom_field_filter_matches_the_literal_text_of_an_odd_number(
        client, admin_headers, desk, fielded):
    assert await _list(client, admin_headers, desk_id=desk.id,
                       **{"custom_fields.plan": "gold"}) == [fielded["a"]]
    assert await _list(client, admin_headers, desk_id=desk.id,
                       **{"custom_fields.plan": "nan"}) == []


@pytest.mark.parametrize(("params", "loc"), [
    ({"q": "toner\x00"}, ["query", "q"]),
    ({"custom_fields.plan": "go\x00ld"}, ["query", "custom_fields.plan"]),
    ({"tag": "v\x00ip"}, ["query", "tag", 0]),
])
async def test_filters_holding_nul_are_422_at_their_parameter(client, admin_headers, problem,
                                                              params, loc):
    body = problem(await client.get("/v1/tickets", headers=admin_headers, params=params), 422)
    assert [e["loc"] for e in body["errors"]] == [loc]


async def test_filters_combine_with_and(client, admin_headers, factory, desk):
    ana = await factory.user(desks=(desk.id,))
    target = await make_ticket(client, admin_headers, desk.id, status="open", priority="high",
                              assignee_id=ana.id, tags=["vip"])
    await make_ticket(client, admin_headers, desk.id, status="open", priority="high",
                     assignee_id=ana.id)
    await make_ticket(client, admin_headers, desk.id, status="open", priority="low",
                     assignee_id=ana.id, tags=["vip"])
    await make_ticket(client, admin_headers, desk.id, status="new", priority="high",
                     assignee_id=ana.id, tags=["vip"])
    assert await _list(client, admin_headers, desk_id=desk.id, status="open", priority="high",
                       assignee_id=ana.id, tag="vip") == [target["id"]]


@pytest.mark.parametrize("name", ["desk_id", "assignee_id", "team_id", "organization_id",
                                  "requester_id"])
@pytest.mark.parametrize("value", ["0", "2147483648", "abc"])
async def test_impossible_id_filter_is_422(client, admin_headers, problem, name, value):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={name: value}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", name]]


# --- limit and cursor -------------------------------------------------------------------------

@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000", "ten"])
async def test_limit_outside_1_to_200_is_422(client, admin_headers, problem, limit):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"limit": limit}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "limit"]]


@pytest.mark.parametrize("limit", [1, 200])
async def test_limit_bounds_are_accepted(client, admin_headers, desk, session, limit):
    await bulk_tickets(session, desk, 3)
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"desk_id": desk.id, "limit": limit}))
    assert len(body["items"]) == min(limit, 3)
    assert (body["next_cursor"] is None) == (limit >= 3)


def _forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage!",
    "bm90IGpzb24",                                           # "not json"
    _forge({"sort": "-created_at"}),                         # not a pair
    _forge(["-created_at", [1]]),                            # too few values
    _forge(["-created_at", ["yesterday", 1]]),               # not a time
    _forge(["-created_at", [{"t": "not a time"}, 1]]),
    _forge(["-created_at", [{"t": "2026-01-01T00:00:00+00:00"}, "one"]]),
    _forge(["-created_at", [{"t": "2026-01-01T00:00:00+00:00"}, 2**40]]),
    _forge(["-created_at", [None, None]]),
    _forge(["-created_at", [{"t": "2026-01-01T00:00:00+00:00"}, True]]),
])
async def test_unreadable_cursor_is_400(client, admin_headers, desk, problem, cursor):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"desk_id": desk.id, "cursor": cursor}), 400)
    assert body["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(("made_with", "used_with"), [
    ("-created_at", "created_at"), ("created_at", "-updated_at"), ("priority", "-priority"),
    ("-priority", None), ("updated_at", "priority"),
])
async def test_cursor_of_one_sort_used_with_another_is_400(client, admin_headers, desk, session,
                                                          problem, made_with, used_with):
    await bulk_tickets(session, desk, 3)
    first = ok(await client.get("/v1/tickets", headers=admin_headers,
                                params={"desk_id": desk.id, "sort": made_with, "limit": 1}))
    params = {"desk_id": desk.id, "cursor": first["next_cursor"], "limit": 1}
    if used_with is not None:
        params["sort"] = used_with
    problem(await client.get("/v1/tickets", headers=admin_headers, params=params), 400)


async def test_cursor_keeps_working_with_the_same_sort_and_other_limit(client, admin_headers,
                                                                       desk, session):
    made = [t.id for t in await bulk_tickets(session, desk, 5)]
    first = ok(await client.get("/v1/tickets", headers=admin_headers,
                                params={"desk_id": desk.id, "sort": "created_at", "limit": 2}))
    rest = ok(await client.get("/v1/tickets", headers=admin_headers, params={
        "desk_id": desk.id, "sort": "created_at", "limit": 10, "cursor": first["next_cursor"]}))
    assert [t["id"] for t in first["items"] + rest["items"]] == made
    assert rest["next_cursor"] is None


async def test_walking_newest_first_while_tickets_arrive_skips_and_repeats_nothing(
        client, admin_headers, desk, session):
    existing = [t.id for t in await bulk_tickets(session, desk, 23)]
    await spread_created(session, existing)
    # Two pairs share a created_at, so the id tie-break is crossed by page boundaries too.
    await set_times(session, existing[10], created_at=BASE_TIME + timedelta(minutes=11))
    await set_times(session, existing[16], created_at=BASE_TIME + timedelta(minutes=15))
    expected = ok(await client.get("/v1/tickets", headers=admin_headers,
                                   params={"desk_id": desk.id, "limit": 200}))["items"]
    seen: list[int] = []
    cursor = None
    arrivals: list[int] = []
    while True:
        params: dict[str, Any] = {"desk_id": desk.id, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = ok(await client.get("/v1/tickets", headers=admin_headers, params=params))
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Between pages: a brand-new ticket, one created at the instant of the last one seen
        # (a tie the id must break) and one backdated into the part not yet walked.
        last = page["items"][-1]
        for backdate in (None, datetime.fromisoformat(last["created_at"]),
                         BASE_TIME - timedelta(days=1)):
            arrived = await make_ticket(client, admin_headers, desk.id, "arrived meanwhile")
            if backdate is not None:
                await set_times(session, arrived["id"], created_at=backdate)
            arrivals.append(arrived["id"])
    assert len(seen) == len(set(seen)), "a ticket was listed twice"
    assert [i for i in seen if i in set(existing)] == [t["id"] for t in expected]
    assert set(seen) - set(existing) <= set(arrivals)


async def test_walking_survives_updates_that_move_tickets_in_updated_order(client, admin_headers,
                                                                           desk, session):
    existing = [t.id for t in await bulk_tickets(session, desk, 12)]
    await spread_created(session, existing)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"desk_id": desk.id, "limit": 5, "sort": "updated_at"}
        if cursor:
            params["cursor"] = cursor
        page = ok(await client.get("/v1/tickets", headers=admin_headers, params=params))
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A comment bumps `updated_at` of a ticket already listed: it moves past the cursor.
        await comment(client, admin_headers, page["items"][0]["id"], "bump")
    assert len(seen) == len(set(seen)) + 2  # the two bumped ones are listed again at the end
    assert set(seen) == set(existing)


# --- query count ------------------------------------------------------------------------------

async def test_a_list_page_costs_the_same_queries_for_5_or_50_tickets(client, admin_headers,
                                                                      factory, desk, session,
                                                                      engine):
    agent = await factory.user(desks=(desk.id,))
    org = ok(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme", "domains": ["acme.example"]}), 201)
    await define_ticket_field(client, admin_headers, desk.id, key="plan", type="text")
    made = await bulk_tickets(session, desk, 50, assignee_id=agent.id, tags=["a", "b"],
                              custom_fields={"plan": "gold"},
                              requester={"email": "ana@acme.example"})
    assert made[0].organization_id == org["id"]
    for ticket in made[:10]:
        await comment(client, admin_headers, ticket.id, "a reply", public=bool(ticket.id % 2))

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    async def queries(**params: Any) -> int:
        statements.clear()
        body = ok(await client.get("/v1/tickets", headers=admin_headers,
                                   params={"desk_id": desk.id, **params}))
        assert body["items"]
        return len(statements)

    await queries(limit=1)  # warm up: the token's `last_used_at` is written once a minute
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        small, large = await queries(limit=5), await queries(limit=50)
        sorted_large = await queries(limit=50, sort="-priority")
        searched = await queries(limit=50, q="bulk")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert small == large == sorted_large
    assert large <= 6, statements
    assert searched <= large + 1, statements


async def test_time_filters_out_of_range_once_in_utc_are_422(client, admin_headers, problem):
    for name in ("created_after", "updated_after"):
        response = await client.get("/v1/tickets", headers=admin_headers,
                                    params={name: "9999-12-31T23:59:59-14:00"})
        assert problem(response, 422)["errors"][0]["loc"] == ["query", name]
    export = await client.get("/v1/tickets/export.csv", headers=admin_headers,
                              params={"created_after": "0001-01-01T00:00:00+01:00"})
    problem(export, 422)


async def test_token_expiry_out_of_range_once_in_utc_is_422(client, admin_headers, problem):
    response = await client.post("/v1/api-tokens", headers=admin_headers, json={
        "name": "x", "scopes": ["desks:read"], "expires_at": "9999-12-31T23:59:59-14:00"})
    assert problem(response, 422)["errors"][0]["loc"][:2] == ["body", "expires_at"]
