"""`GET /v1/tickets/board?desk_id=`: one column per status, in lifecycle order."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio

from tests.conftest import bearer
from tests.tickets.finding import BASE_TIME, bulk_tickets, make_ticket, ok, set_times

LIFECYCLE = ["new", "open", "pending", "on_hold", "solved", "closed"]


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory):
    return await factory.desk("Support")


async def _board(client, headers, desk_id: int, **params) -> dict:
    return ok(await client.get("/v1/tickets/board", headers=headers,
                               params={"desk_id": desk_id, **params}))


async def test_board_of_an_empty_desk_has_every_column_empty(client, admin_headers, desk):
    board = await _board(client, admin_headers, desk.id)
    assert board == {"desk_id": desk.id, "columns": [
        {"status": s, "count": 0, "cards": []} for s in LIFECYCLE]}


async def test_board_columns_follow_the_lifecycle_and_count_each_status(client, admin_headers,
                                                                         desk):
    wanted = {"new": 3, "open": 1, "pending": 0, "on_hold": 2, "solved": 1, "closed": 2}
    made: dict[str, list[int]] = {s: [] for s in LIFECYCLE}
    for status, count in wanted.items():
        for _ in range(count):
            ticket = await make_ticket(client, admin_headers, desk.id,
                                       status="solved" if status == "closed" else status)
            if status == "closed":
                ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                                      json={"status": "closed"}))
            made[status].append(ticket["id"])
    board = await _board(client, admin_headers, desk.id)
    assert board["desk_id"] == desk.id
    assert [c["status"] for c in board["columns"]] == LIFECYCLE
    assert {c["status"]: c["count"] for c in board["columns"]} == wanted
    for column in board["columns"]:
        assert sorted(card["id"] for card in column["cards"]) == sorted(made[column["status"]])
        assert all(card["status"] == column["status"] for card in column["cards"])


async def test_board_cards_are_whole_tickets(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Printer on fire", tags=["vip"],
                               priority="urgent")
    board = await _board(client, admin_headers, desk.id)
    got = ok(await client.get(f"/v1/tickets/{ticket['id']}", headers=admin_headers))
    assert board["columns"][0]["cards"] == [got]


async def test_board_cards_are_newest_first_and_bounded_by_cards(client, admin_headers, desk,
                                                                 session):
    made = [t.id for t in await bulk_tickets(session, desk, 8, status="open")]
    minutes = [0, 1, 7, 3, 4, 5, 5, 2]  # made[5] and made[6] tie: the higher id first
    for ticket_id, minute in zip(made, minutes, strict=True):
        await set_times(session, ticket_id, created_at=BASE_TIME + timedelta(minutes=minute))
    expected = [made[i] for i in (2, 6, 5, 4, 3, 7, 1, 0)]
    board = await _board(client, admin_headers, desk.id, cards=3)
    column = board["columns"][1]
    assert column["count"] == 8
    assert [c["id"] for c in column["cards"]] == expected[:3]
    board = await _board(client, admin_headers, desk.id)  # default: 10 cards
    assert [c["id"] for c in board["columns"][1]["cards"]] == expected


async def test_default_board_shows_ten_cards_per_column(client, admin_headers, desk, session):
    await bulk_tickets(session, desk, 12)
    await bulk_tickets(session, desk, 11, status="pending")
    board = await _board(client, admin_headers, desk.id)
    by_status = {c["status"]: c for c in board["columns"]}
    assert (by_status["new"]["count"], len(by_status["new"]["cards"])) == (12, 10)
    assert (by_status["pending"]["count"], len(by_status["pending"]["cards"])) == (11, 10)


async def test_zero_cards_gives_counts_only(client, admin_headers, desk, session):
    await bulk_tickets(session, desk, 2)
    board = await _board(client, admin_headers, desk.id, cards=0)
    assert board["columns"][0] == {"status": "new", "count": 2, "cards": []}


@pytest.mark.parametrize("cards", ["-1", "51", "many"])
async def test_cards_outside_0_to_50_is_422(client, admin_headers, desk, problem, cards):
    body = problem(await client.get("/v1/tickets/board", headers=admin_headers,
                                    params={"desk_id": desk.id, "cards": cards}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "cards"]]


async def test_board_counts_only_its_own_desk(client, admin_headers, factory, desk):
    other = await factory.desk("Elsewhere")
    mine = await make_ticket(client, admin_headers, desk.id)
    await make_ticket(client, admin_headers, other.id)
    await make_ticket(client, admin_headers, other.id, status="open")
    board = await _board(client, admin_headers, desk.id)
    assert [c["count"] for c in board["columns"]] == [1, 0, 0, 0, 0, 0]
    assert [c["id"] for c in board["columns"][0]["cards"]] == [mine["id"]]


async def test_board_follows_status_changes(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id)
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                          json={"status": "on_hold"}))
    board = await _board(client, admin_headers, desk.id)
    assert [c["count"] for c in board["columns"]] == [0, 0, 0, 1, 0, 0]


async def test_board_of_a_desk_outside_the_scope_is_404(client, factory, desk, problem):
    other = await factory.desk("Elsewhere")
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    body = problem(await client.get("/v1/tickets/board", headers=headers,
                                    params={"desk_id": other.id}), 404)
    assert body["detail"] == f"Desk {other.id} does not exist."
    ok(await client.get("/v1/tickets/board", headers=headers, params={"desk_id": desk.id}))


async def test_board_of_a_missing_desk_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/tickets/board", headers=admin_headers,
                             params={"desk_id": 2_000_000_000}), 404)


async def test_board_without_desk_id_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets/board", headers=admin_headers), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "desk_id"]]


@pytest.mark.parametrize("desk_id", ["0", "abc", "2147483648"])
async def test_board_with_an_impossible_desk_id_is_422(client, admin_headers, problem, desk_id):
    body = problem(await client.get("/v1/tickets/board", headers=admin_headers,
                                    params={"desk_id": desk_id}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "desk_id"]]


async def test_board_needs_tickets_read(client, factory, desk, problem):
    headers = bearer(await factory.token(["desks:read"], desk_ids=[desk.id]))
    problem(await client.get("/v1/tickets/board", headers=headers,
                             params={"desk_id": desk.id}), 403)


async def test_board_of_an_archived_desk_still_shows(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id)
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    board = await _board(client, admin_headers, desk.id)
    assert [c["id"] for c in board["columns"][0]["cards"]] == [ticket["id"]]
