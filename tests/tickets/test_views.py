"""Saved views `/v1/views`: named filters, columns and sort over one desk's tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import bearer
from tests.tickets.finding import (
    BASE_TIME,
    comment,
    define_ticket_field,
    ids,
    make_ticket,
    ok,
    set_times,
    walk,
)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory):
    return await factory.desk("Support")


@pytest_asyncio.fixture(loop_scope="session")
async def other_desk(factory):
    return await factory.desk("Billing")


async def _view(client, headers, desk_id: int, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "My view")
    return ok(await client.post("/v1/views", headers=headers,
                                json={"desk_id": desk_id, **body}), 201)


# --- create -----------------------------------------------------------------------------------

async def test_create_view_answers_201_with_location_and_the_view(client, admin_headers, desk):
    response = await client.post("/v1/views", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Urgent, unassigned",
        "filters": {"status": ["new", "open"], "priority": ["urgent"], "tag": ["VIP"],
                    "q": "printer", "created_after": "2026-01-01T14:00:00+02:00",
                    "custom_fields": {"plan": "gold"}},
        "columns": ["id", "subject", "priority", "tags"], "sort": "-priority"})
    view = ok(response, 201)
    assert response.headers["Location"] == f"/v1/views/{view['id']}"
    assert view["desk_id"] == desk.id and view["name"] == "Urgent, unassigned"
    assert view["columns"] == ["id", "subject", "priority", "tags"]
    assert view["sort"] == "-priority"
    filters = view["filters"]
    assert filters["status"] == ["new", "open"] and filters["priority"] == ["urgent"]
    assert filters["tag"] == ["vip"] and filters["q"] == "printer"
    assert filters["custom_fields"] == {"plan": "gold"}
    assert filters["created_after"] in {"2026-01-01T14:00:00+02:00", "2026-01-01T12:00:00Z"}
    assert "desk_id" not in filters
    assert view["owner_kind"] == "api_token"
    got = ok(await client.get(f"/v1/views/{view['id']}", headers=admin_headers))
    assert got == view


async def test_create_view_defaults_to_newest_first_and_the_default_columns(client,
                                                                            admin_headers,
                                                                            desk):
    view = await _view(client, admin_headers, desk.id)
    assert view["sort"] == "-created_at"
    assert view["columns"] == ["id", "desk_id", "number", "subject", "status", "priority",
                               "requester_email", "assignee_id", "tags", "created_at",
                               "updated_at"]
    assert view["filters"]["status"] == [] and view["filters"]["q"] is None


@pytest.mark.parametrize(("body", "loc"), [
    ({"filters": {"bogus": 1}}, ["body", "filters", "bogus"]),
    ({"filters": {"desk_id": 5}}, ["body", "filters", "desk_id"]),
    ({"filters": {"status": ["done"]}}, ["body", "filters", "status", 0]),
    ({"filters": {"priority": "urgent"}}, ["body", "filters", "priority"]),
    ({"filters": {"created_after": "2026-01-01T12:00:00"}}, ["body", "filters", "created_after"]),
    ({"filters": {"tag": [""]}}, ["body", "filters", "tag", 0]),
    ({"columns": ["id", "password"]}, ["body", "columns", 1]),
    ({"columns": []}, ["body", "columns"]),
    ({"sort": "subject"}, ["body", "sort"]),
    ({"name": ""}, ["body", "name"]),
    ({"extra": True}, ["body", "extra"]),
    ({"filters": {"q": "to\x00ner"}}, ["body", "filters", "q"]),
    ({"filters": {"custom_fields": {"plan": "go\x00ld"}}}, ["body", "filters", "custom_fields",
                                                           "plan"]),
])
async def test_create_view_with_an_unknown_filter_column_or_sort_is_422(client, admin_headers,
                                                                        desk, problem, body,
                                                                        loc):
    response = await client.post("/v1/views", headers=admin_headers,
                                 json={"desk_id": desk.id, "name": "Bad", **body})
    assert loc in [e["loc"] for e in problem(response, 422)["errors"]]


async def test_create_view_in_a_desk_outside_the_scope_is_404(client, factory, desk,
                                                              other_desk, problem):
    headers = bearer(await factory.token(["tickets:write"], desk_ids=[desk.id]))
    problem(await client.post("/v1/views", headers=headers,
                              json={"desk_id": other_desk.id, "name": "Theirs"}), 404)


async def test_views_need_tickets_read(client, factory, desk, problem):
    headers = bearer(await factory.token(["customers:read"], desk_ids=[desk.id]))
    problem(await client.post("/v1/views", headers=headers,
                              json={"desk_id": desk.id, "name": "x"}), 403)
    problem(await client.get("/v1/views", headers=headers), 403)


async def test_a_read_only_token_reads_views_but_cannot_create_or_delete_them(
        client, factory, desk, admin_headers, problem):
    made = await client.post("/v1/views", headers=admin_headers,
                             json={"desk_id": desk.id, "name": "Mine"})
    assert made.status_code == 201, made.text
    view_id = made.json()["id"]
    reader = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    assert (await client.get(f"/v1/views/{view_id}", headers=reader)).status_code == 200
    assert (await client.get("/v1/views", headers=reader)).status_code == 200
    body = problem(await client.post("/v1/views", headers=reader,
                                     json={"desk_id": desk.id, "name": "x"}), 403)
    assert body["required_scope"] == "tickets:write"
    problem(await client.delete(f"/v1/views/{view_id}", headers=reader), 403)
    assert (await client.get(f"/v1/views/{view_id}", headers=admin_headers)).status_code == 200


# --- the view's tickets -----------------------------------------------------------------------

async def test_view_tickets_apply_the_views_filters(client, admin_headers, factory, desk,
                                                    other_desk):
    agent = await factory.user(desks=(desk.id,))
    await define_ticket_field(client, admin_headers, desk.id, key="plan", type="text")
    match = await make_ticket(client, admin_headers, desk.id, "Toner empty", status="open",
                              priority="urgent", tags=["vip"], assignee_id=agent.id,
                              custom_fields={"plan": "gold"})
    await make_ticket(client, admin_headers, desk.id, "Toner empty", status="open",
                      priority="urgent", tags=["vip"], assignee_id=agent.id,
                      custom_fields={"plan": "silver"})
    await make_ticket(client, admin_headers, desk.id, "Toner empty", status="pending",
                      priority="urgent", tags=["vip"], assignee_id=agent.id,
                      custom_fields={"plan": "gold"})
    await make_ticket(client, admin_headers, desk.id, "Paper jam", status="open",
                      priority="urgent", tags=["vip"], assignee_id=agent.id,
                      custom_fields={"plan": "gold"})
    await make_ticket(client, admin_headers, other_desk.id, "Toner empty", status="open",
                      priority="urgent", tags=["vip"])
    view = await _view(client, admin_headers, desk.id, filters={
        "status": ["open", "new"], "priority": ["urgent", "high"], "tag": ["VIP"],
        "assignee_id": agent.id, "q": "toner", "custom_fields": {"plan": "gold"}})
    body = ok(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers))
    assert [t["id"] for t in body["items"]] == [match["id"]]
    assert body["next_cursor"] is None


async def test_view_tickets_stay_in_the_views_desk(client, admin_headers, desk, other_desk):
    mine = await make_ticket(client, admin_headers, desk.id)
    await make_ticket(client, admin_headers, other_desk.id)
    view = await _view(client, admin_headers, desk.id)
    assert ids(await client.get(f"/v1/views/{view['id']}/tickets",
                                headers=admin_headers)) == [mine["id"]]


async def test_view_tickets_apply_time_filters_saved_with_an_offset(client, admin_headers, desk,
                                                                    session):
    early = await make_ticket(client, admin_headers, desk.id, "early")
    late = await make_ticket(client, admin_headers, desk.id, "late")
    await set_times(session, early["id"], created_at=BASE_TIME)
    await set_times(session, late["id"], created_at=BASE_TIME + timedelta(hours=2))
    # 15:00 at +02:00 is 13:00Z: after `early` (12:00Z), before `late` (14:00Z).
    view = await _view(client, admin_headers, desk.id,
                       filters={"created_after": "2026-01-01T15:00:00+02:00"})
    assert ids(await client.get(f"/v1/views/{view['id']}/tickets",
                                headers=admin_headers)) == [late["id"]]


@pytest.mark.parametrize(("sort", "order"), [
    ("-created_at", [2, 1, 0]), ("created_at", [0, 1, 2]), ("-priority", [1, 0, 2]),
    ("priority", [2, 0, 1]), ("-updated_at", [1, 2, 0]), ("updated_at", [0, 2, 1]),
])
async def test_view_tickets_follow_the_views_sort(client, admin_headers, desk, session, sort,
                                                  order):
    made = []
    for i, priority in enumerate(("high", "urgent", "low")):
        ticket = await make_ticket(client, admin_headers, desk.id, priority=priority)
        await set_times(session, ticket["id"], created_at=BASE_TIME + timedelta(minutes=i),
                        updated_at=BASE_TIME + timedelta(minutes=(3 - i) % 3 * 10))
        made.append(ticket["id"])
    view = await _view(client, admin_headers, desk.id, sort=sort)
    assert ids(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers)) == [
        made[i] for i in order]


async def test_view_with_a_search_is_sorted_by_its_sort_not_relevance(client, admin_headers,
                                                                      desk):
    in_subject = await make_ticket(client, admin_headers, desk.id, "Toner empty")
    in_comment = await make_ticket(client, admin_headers, desk.id, "Printer")
    await comment(client, admin_headers, in_comment["id"], "toner")
    view = await _view(client, admin_headers, desk.id, filters={"q": "toner"},
                       sort="created_at")
    assert ids(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers)) == [
        in_subject["id"], in_comment["id"]]


async def test_view_tickets_page_with_the_cursor(client, admin_headers, desk):
    made = [(await make_ticket(client, admin_headers, desk.id, f"t{i}"))["id"] for i in range(7)]
    view = await _view(client, admin_headers, desk.id, sort="created_at")
    seen, pages = await walk(client, f"/v1/views/{view['id']}/tickets", admin_headers,
                             {"limit": 3})
    assert seen == made
    assert pages == 3


async def test_view_tickets_reject_bad_limits_and_cursors(client, admin_headers, desk, problem):
    view = await _view(client, admin_headers, desk.id)
    problem(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers,
                             params={"limit": 201}), 422)
    problem(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers,
                             params={"cursor": "nonsense"}), 400)


async def test_view_tickets_of_a_view_that_does_not_exist_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/views/2000000000/tickets", headers=admin_headers), 404)


# --- list, get, delete, isolation -------------------------------------------------------------

async def test_list_views_filtered_by_desk(client, admin_headers, desk, other_desk):
    first = await _view(client, admin_headers, desk.id, name="A")
    second = await _view(client, admin_headers, desk.id, name="B")
    theirs = await _view(client, admin_headers, other_desk.id, name="C")
    assert ids(await client.get("/v1/views", headers=admin_headers,
                                params={"desk_id": desk.id})) == [first["id"], second["id"]]
    assert ids(await client.get("/v1/views", headers=admin_headers,
                                params={"desk_id": other_desk.id})) == [theirs["id"]]
    everything = ids(await client.get("/v1/views", headers=admin_headers))
    assert {first["id"], second["id"], theirs["id"]} <= set(everything)


async def test_list_views_pages(client, admin_headers, desk):
    made = [(await _view(client, admin_headers, desk.id, name=f"v{i}"))["id"] for i in range(5)]
    seen, pages = await walk(client, "/v1/views", admin_headers, {"desk_id": desk.id,
                                                                  "limit": 2})
    assert seen == made and pages == 3


async def test_list_views_of_a_desk_outside_the_scope_is_404(client, factory, desk, other_desk,
                                                             problem):
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    problem(await client.get("/v1/views", headers=headers, params={"desk_id": other_desk.id}),
            404)


async def test_scoped_caller_lists_only_views_of_its_desks(client, admin_headers, factory, desk,
                                                           other_desk):
    mine = await _view(client, admin_headers, desk.id)
    await _view(client, admin_headers, other_desk.id)
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    assert ids(await client.get("/v1/views", headers=headers)) == [mine["id"]]


async def test_delete_view_answers_204_and_it_is_gone(client, admin_headers, desk, problem):
    view = await _view(client, admin_headers, desk.id)
    response = await client.delete(f"/v1/views/{view['id']}", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    problem(await client.get(f"/v1/views/{view['id']}", headers=admin_headers), 404)
    problem(await client.get(f"/v1/views/{view['id']}/tickets", headers=admin_headers), 404)
    problem(await client.delete(f"/v1/views/{view['id']}", headers=admin_headers), 404)


async def test_another_desks_view_is_404_everywhere(client, admin_headers, factory, desk,
                                                    other_desk, problem):
    theirs = await _view(client, admin_headers, other_desk.id)
    headers = bearer(await factory.token(["tickets:write"], desk_ids=[desk.id]))
    for response in (
        await client.get(f"/v1/views/{theirs['id']}", headers=headers),
        await client.get(f"/v1/views/{theirs['id']}/tickets", headers=headers),
        await client.delete(f"/v1/views/{theirs['id']}", headers=headers),
        await client.get("/v1/tickets/export.csv", headers=headers,
                         params={"view_id": theirs["id"]}),
    ):
        assert problem(response, 404)["detail"] == f"View {theirs['id']} does not exist."
    ok(await client.get(f"/v1/views/{theirs['id']}", headers=admin_headers))  # still there

