"""Keyset pagination: `{items, next_cursor}`, limits, cursors, stability under inserts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import Integer, column, func, select, values

from app.core.errors import BadRequest
from app.core.pagination import PageParams, SortKey, after, decode_cursor, encode_cursor, paginate
from app.models import Desk
from tests.core.conftest import error_locs


def raw_cursor(payload: object) -> str:
    """A cursor as a client could forge it: base64url of any JSON."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def all_desk_ids(session) -> list[int]:
    return list((await session.scalars(select(Desk.id).order_by(Desk.id))).all())


async def walk(client, headers, limit: int, between_pages=None) -> list[dict]:
    """Every item of GET /v1/desks, page by page; `between_pages()` runs after each page."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        response = await client.get("/v1/desks", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(page["items"]) == limit  # only the last page may be short
        if between_pages is not None:
            await between_pages()
    raise AssertionError("pagination did not end")


async def test_list_returns_items_and_next_cursor(client, admin_headers, factory):
    for name in ("A", "B", "C"):
        await factory.desk(name)
    response = await client.get("/v1/desks", params={"limit": 2}, headers=admin_headers)
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert len(page["items"]) == 2
    assert isinstance(page["next_cursor"], str) and page["next_cursor"]


async def test_last_page_has_null_next_cursor(client, admin_headers, factory, session):
    await factory.desk("Only")
    total = len(await all_desk_ids(session))
    page = (await client.get("/v1/desks", params={"limit": 200}, headers=admin_headers)).json()
    assert len(page["items"]) == total
    assert page["next_cursor"] is None


async def test_default_limit_is_50(client, admin_headers, factory, session):
    for i in range(51 - len(await all_desk_ids(session))):
        await factory.desk(f"D{i}")
    page = (await client.get("/v1/desks", headers=admin_headers)).json()
    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", [0, -1, 201, 10_000])
async def test_limit_outside_1_to_200_is_a_422(client, admin_headers, problem, limit):
    response = await client.get("/v1/desks", params={"limit": limit}, headers=admin_headers)
    body = problem(response, 422)
    assert error_locs(body) == [["query", "limit"]]


@pytest.mark.parametrize("limit", [1, 200])
async def test_limit_bounds_are_accepted(client, admin_headers, factory, limit):
    await factory.desk("One")
    response = await client.get("/v1/desks", params={"limit": limit}, headers=admin_headers)
    assert response.status_code == 200
    assert 1 <= len(response.json()["items"]) <= limit


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        "Zm9v",  # "foo": not JSON
        raw_cursor(42),
        raw_cursor(["id"]),
        raw_cursor(["name", [1]]),  # another listing's cursor
        raw_cursor(["id", [1, 2]]),
        raw_cursor(["id", 1]),
        raw_cursor(["id", [{"t": "not a time"}]]),
        raw_cursor(["id", [{"x": 1}]]),
        raw_cursor(["id", [{"t": "2024-01-01T00:00:00+00:00"}]]),
        raw_cursor(["id", [[1]]]),
        raw_cursor(["id", ["abc"]]),
        raw_cursor(["id", [1.5]]),
        raw_cursor(["id", [None]]),
        raw_cursor(["id", [True]]),
        raw_cursor(["id", [2**40]]),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
async def test_unreadable_cursor_is_a_400_problem(client, admin_headers, problem, cursor):
    response = await client.get("/v1/desks", params={"cursor": cursor}, headers=admin_headers)
    body = problem(response, 400)
    assert body["type"] == "urn:switchboard:problem:bad-request"
    assert body["errors"] == [{"loc": ["query", "cursor"], "msg": "unreadable cursor",
                               "type": "cursor_invalid"}]


async def test_well_formed_cursor_starts_after_its_key(client, admin_headers, factory, session):
    first = await factory.desk("First")
    second = await factory.desk("Second")
    response = await client.get("/v1/desks", params={"cursor": raw_cursor(["id", [first.id]])},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    ids = [item["id"] for item in response.json()["items"]]
    assert ids == [i for i in await all_desk_ids(session) if i > first.id]
    assert second.id in ids


async def test_walking_all_pages_yields_every_desk_once_in_id_order(client, admin_headers,
                                                                   factory, session):
    for i in range(7):
        await factory.desk(f"Walk {i}")
    items = await walk(client, admin_headers, limit=2)
    ids = [item["id"] for item in items]
    assert ids == await all_desk_ids(session)
    assert len(ids) == len(set(ids))


async def test_pages_are_stable_while_desks_are_inserted(client, admin_headers, factory, session):
    # Explicit ids let new desks land both behind the reader and ahead of it; an offset-based
    # listing would repeat items when rows appear behind the current page.
    base = max(await all_desk_ids(session), default=0) + 100_000
    existing = [(await factory.desk(f"Old {i}", id=base + 10 * i)).id for i in range(1, 9)]
    inserted_behind: list[int] = []
    inserted_ahead: list[int] = []
    seen: list[int] = []

    async def insert_between_pages() -> None:
        taken = existing + inserted_behind
        behind = [i for i in range(base, max(seen)) if i not in taken]
        if behind:
            inserted_behind.append((await factory.desk("New behind", id=behind[0])).id)
        inserted_ahead.append((await factory.desk("New ahead", id=base + 1000 +
                                                  len(inserted_ahead))).id)
        await session.flush()

    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/desks", params=params, headers=admin_headers)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await insert_between_pages()

    assert inserted_behind and inserted_ahead
    assert len(seen) == len(set(seen)), "an item appeared twice"
    assert seen == sorted(seen)
    assert set(existing) <= set(seen), "a pre-existing item was skipped"
    assert set(inserted_ahead) <= set(seen)  # rows past the cursor still show up
    assert not set(inserted_behind) & set(seen)  # rows behind it never shift a page


def test_cursor_round_trips_its_values():
    when = datetime(2024, 5, 17, 12, 30, 15, 123456, tzinfo=UTC)
    values_ = [when, "Berlin", 42, 1.5, True, None]
    cursor = encode_cursor("-created_at,name,id", values_)
    assert decode_cursor(cursor, "-created_at,name,id", len(values_)) == values_
    assert decode_cursor(cursor, "-created_at,name,id", len(values_))[0].utcoffset() == timedelta(0)


def test_cursor_is_url_safe_and_opaque():
    cursor = encode_cursor("name,id", ["ÿÿÿ>>>???", 2**31])
    assert not set(cursor) & set("+/=")
    assert "name" not in cursor


@pytest.mark.parametrize(
    ("sort_name", "size"),
    [("name,id", 2), ("id", 1), ("-created_at,id", 3)],
)
def test_cursor_of_another_listing_is_rejected(sort_name, size):
    cursor = encode_cursor("-created_at,id", [datetime(2024, 1, 1, tzinfo=UTC), 1])
    with pytest.raises(BadRequest) as caught:
        decode_cursor(cursor, sort_name, size)
    assert caught.value.errors == [{"loc": ["query", "cursor"], "msg": "unreadable cursor",
                                    "type": "cursor_invalid"}]


@pytest.mark.parametrize("value", [Decimal("1.5"), object(), [1]])
def test_cursor_refuses_values_it_cannot_represent(value):
    with pytest.raises(TypeError):
        encode_cursor("id", [value])


ROWS = [(a, b, i) for i, (a, b) in enumerate(list(product([1, 2, 3], [1, 2, 3])) * 2, start=1)]


async def test_after_with_mixed_directions_selects_exactly_the_rows_past_the_cursor(session):
    table = values(column("a", Integer), column("b", Integer), column("id", Integer),
                   name="t").data(ROWS)
    keys = [SortKey(table.c.a, descending=True), SortKey(table.c.b), SortKey(table.c.id)]
    ordered = sorted(ROWS, key=lambda r: (-r[0], r[1], r[2]))
    order_by = [table.c.a.desc(), table.c.b.asc(), table.c.id.asc()]
    for position, row in enumerate(ordered):
        stmt = select(table.c.a, table.c.b, table.c.id).where(after(keys, row)).order_by(*order_by)
        assert [tuple(r) for r in (await session.execute(stmt)).all()] == ordered[position + 1:]


def test_after_compiles_to_a_keyset_condition():
    keys = [SortKey(Desk.name, descending=True), SortKey(Desk.id)]
    sql = str(after(keys, ["m", 7]).compile(compile_kwargs={"literal_binds": True}))
    assert sql == "desks.name < 'm' OR desks.name = 'm' AND desks.id > 7"


async def test_paginate_walks_mixed_directions_with_ties(session, factory):
    names = ["b", "a", "c", "b", "a", "b", "c"]
    created = [await factory.desk(name, kind="sandbox") for name in names]
    ours = {d.id for d in created}
    keys = [SortKey(Desk.name, descending=True), SortKey(Desk.id)]
    stmt = select(Desk).where(Desk.id.in_(ours))
    seen: list[Desk] = []
    cursor = None
    for _ in range(10):
        rows, cursor = await paginate(session, stmt, PageParams(limit=3, cursor=cursor), keys)
        seen.extend(rows)
        if cursor is None:
            break
    expected = sorted(created, key=lambda d: (-ord(d.name), d.id))
    assert [d.id for d in seen] == [d.id for d in expected]
    assert await session.scalar(select(func.count()).where(Desk.id.in_(ours))) == len(names)
