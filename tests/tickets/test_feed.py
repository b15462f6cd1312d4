"""`GET /v1/events`: the incremental feed, oldest first, `after` the last id seen.

The feed shows an event only once the transaction that wrote it (and every one that could still
commit an event before it) has ended, so these tests commit for real, in a database of their
own (`committing`); each makes its own desks and reads through them. A transaction running
anywhere on the server holds the feed back until it ends: `settle()` waits for that.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.service import create_admin
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import upgrade
from app.core.resources import redis_client
from app.core.scope import DeskScope, Principal, Scope
from app.events import service as events
from app.main import create_app
from app.webhooks import delivery
from tests.conftest import TEST_SECRET, bearer
from tests.services import create_database, drop_database
from tests.tickets.finding import comment, make_ticket, ok

pytestmark = pytest.mark.committing

ENVELOPE = {"id", "type", "desk_id", "created_at", "actor", "data", "changes"}
ADMIN = DeskScope(Principal("api_token", 0, "feed test"), frozenset({Scope.admin.value}), None)
SETTLE_SECONDS = 120


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def feed_engine(services) -> AsyncIterator[AsyncEngine]:
    """A database of this module's own: its requests commit for real."""
    url = await create_database(services.database_url)
    engine = create_engine(url, pool_size=4)
    try:
        await asyncio.to_thread(upgrade, url)
        yield engine
    finally:
        await engine.dispose()
        await drop_database(services.database_url, url)


@pytest.fixture(scope="module")
def committing(feed_engine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(feed_engine)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def feed_client(services, feed_engine, committing) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(environment="test", secret_key=TEST_SECRET,
                        database_url=feed_engine.url.render_as_string(hide_password=False),
                        redis_url=services.redis_url,
                        redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}")
    application = create_app(settings, manage_resources=False)
    application.state.sessionmaker = committing
    redis = redis_client(services.redis_url)
    application.state.redis = application.state.arq = redis
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    finally:
        await redis.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(committing) -> dict[str, str]:
    async with committing() as session:
        _, secret = await create_admin(session, f"feed-{uuid.uuid4().hex[:6]}@x.example")
        await session.commit()
    return bearer(secret)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(feed_client, admin) -> int:
    return await _desk(feed_client, admin)


async def _desk(client: httpx.AsyncClient, admin: dict[str, str], kind: str = "standard") -> int:
    return ok(await client.post("/v1/desks", headers=admin, json={
        "name": f"Feed {uuid.uuid4().hex[:6]}", "kind": kind}), 201)["id"]


async def _token(client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str],
                 desk_ids: list[int] | None, sandbox: bool = False) -> dict[str, str]:
    created = ok(await client.post("/v1/api-tokens", headers=admin, json={
        "name": "feed reader", "scopes": scopes, "desk_ids": desk_ids, "sandbox": sandbox}), 201)
    return bearer(created["token"])


async def _xmin(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))


async def settle(engine: AsyncEngine, txid: int | None = None) -> None:
    """Wait until the transaction `txid` (default: of every event so far) and all older ones
    have ended: from then on the feed shows their events."""
    async with engine.connect() as conn:
        if txid is None:
            txid = int(await conn.scalar(text("SELECT coalesce(max(txid), 0) FROM events")))
        for _ in range(SETTLE_SECONDS * 20):
            if await _xmin(conn) > txid:
                return
            await conn.rollback()
            await asyncio.sleep(0.05)
    raise AssertionError(f"transactions older than {txid} still running after "
                         f"{SETTLE_SECONDS} s")


async def _feed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any
                ) -> dict[str, Any]:
    return ok(await client.get("/v1/events", headers=headers, params=params))


async def _all(client: httpx.AsyncClient, headers: dict[str, str], **params: Any
               ) -> list[dict[str, Any]]:
    """Every event, following `next_cursor` as `after` until an empty page."""
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        page = await _feed(client, headers, **params)
        if not page["items"]:
            assert page["next_cursor"] is None
            return seen
        assert page["next_cursor"] == str(page["items"][-1]["id"])
        seen += page["items"]
        params["after"] = page["next_cursor"]
    raise AssertionError("the feed never ended")


async def _activity(client: httpx.AsyncClient, admin: dict[str, str], desk_id: int
                    ) -> dict[str, Any]:
    """A ticket created, opened and replied to: four events."""
    ticket = await make_ticket(client, admin, desk_id, "Printer on fire")
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin,
                          json={"status": "open"}))
    await comment(client, admin, ticket["id"], "On our way")
    return ticket


# --- order, envelope, cursor ------------------------------------------------------------------

async def test_feed_lists_a_desks_events_oldest_first_in_the_envelope(feed_client, feed_engine,
                                                                      admin, desk):
    ticket = await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    page = await _feed(feed_client, admin, desk_id=desk)
    items = page["items"]
    assert [e["type"] for e in items] == ["customer.created", "ticket.created", "ticket.updated",
                                          "ticket.status_changed", "comment.created"]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert page["next_cursor"] == str(items[-1]["id"])
    for event in items:
        assert set(event) == ENVELOPE
        assert event["desk_id"] == desk
        assert event["actor"]["kind"] == "api_token"
    created, updated, status_changed, replied = items[1:]
    assert created["data"]["id"] == ticket["id"] and created["data"]["status"] == "new"
    assert created["data"]["subject"] == "Printer on fire"
    assert created["changes"] is None
    assert updated["changes"] == {"status": ["new", "open"]}
    assert status_changed["changes"] == {"status": ["new", "open"]}
    assert status_changed["data"]["status"] == "open"
    assert replied["data"]["body"] == "On our way" and replied["data"]["public"] is True


async def test_next_cursor_as_after_continues_without_gaps_or_repeats(feed_client, feed_engine,
                                                                      admin, desk):
    for _ in range(3):
        await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    whole = (await _feed(feed_client, admin, desk_id=desk, limit=200))["items"]
    assert len(whole) == 15  # per ticket: its new requester, then four events
    for limit in (1, 3, 5):
        walked = await _all(feed_client, admin, desk_id=desk, limit=limit)
        assert [e["id"] for e in walked] == [e["id"] for e in whole]


async def test_after_resumes_past_the_event_named(feed_client, feed_engine, admin, desk):
    await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    whole = (await _feed(feed_client, admin, desk_id=desk))["items"]
    rest = (await _feed(feed_client, admin, desk_id=desk, after=whole[1]["id"]))["items"]
    assert rest == whole[2:]


async def test_events_written_later_follow_the_cursor(feed_client, feed_engine, admin, desk):
    ticket = await make_ticket(feed_client, admin, desk)
    await settle(feed_engine)
    first = await _feed(feed_client, admin, desk_id=desk)
    ok(await feed_client.patch(f"/v1/tickets/{ticket['id']}", headers=admin,
                               json={"priority": "urgent"}))
    await settle(feed_engine)
    later = await _feed(feed_client, admin, desk_id=desk, after=first["next_cursor"])
    assert [e["type"] for e in later["items"]] == ["ticket.updated"]
    assert later["items"][0]["changes"] == {"priority": ["normal", "urgent"]}


async def test_an_exhausted_feed_answers_an_empty_page_and_null_cursor(feed_client, feed_engine,
                                                                       admin, desk):
    await make_ticket(feed_client, admin, desk)
    await settle(feed_engine)
    last = (await _feed(feed_client, admin, desk_id=desk))["next_cursor"]
    assert await _feed(feed_client, admin, desk_id=desk, after=last) == {
        "items": [], "next_cursor": None}


async def test_limit_bounds_the_page(feed_client, feed_engine, admin, desk):
    await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    assert len((await _feed(feed_client, admin, desk_id=desk, limit=2))["items"]) == 2
    assert len((await _feed(feed_client, admin, desk_id=desk, limit=200))["items"]) == 5


@pytest.mark.parametrize(("params", "loc"), [
    ({"limit": 0}, ["query", "limit"]),
    ({"limit": 201}, ["query", "limit"]),
    ({"after": -1}, ["query", "after"]),
    ({"after": "latest"}, ["query", "after"]),
    ({"after": 2**63}, ["query", "after"]),
    ({"after": 2**70}, ["query", "after"]),
    ({"desk_id": 0}, ["query", "desk_id"]),
])
async def test_bad_feed_parameters_are_422(feed_client, admin, problem, params, loc):
    body = problem(await feed_client.get("/v1/events", headers=admin, params=params), 422)
    assert [e["loc"] for e in body["errors"]] == [loc]


async def test_unknown_event_types_are_422(feed_client, admin, problem):
    body = problem(await feed_client.get("/v1/events", headers=admin,
                                         params={"types": "ticket.created,ticket.exploded"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "types"]]
    assert "ticket.exploded" in body["errors"][0]["msg"]


async def test_an_admins_desk_filter_naming_a_missing_desk_is_404(feed_client, admin, problem):
    body = problem(await feed_client.get("/v1/events", headers=admin,
                                         params={"desk_id": 2_000_000_000}), 404)
    assert body["detail"] == "Desk 2000000000 does not exist."


async def test_after_beyond_every_event_is_an_empty_page(feed_client, admin, desk):
    assert await _feed(feed_client, admin, desk_id=desk, after=2**63 - 1) == {
        "items": [], "next_cursor": None}


# --- filters and scope ------------------------------------------------------------------------

async def test_types_filter_keeps_the_types_named(feed_client, feed_engine, admin, desk):
    await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    page = await _feed(feed_client, admin, desk_id=desk, types="ticket.created,comment.created")
    assert [e["type"] for e in page["items"]] == ["ticket.created", "comment.created"]
    spaced = await _feed(feed_client, admin, desk_id=desk,
                         types=" ticket.status_changed , ticket.created ,")
    assert [e["type"] for e in spaced["items"]] == ["ticket.created", "ticket.status_changed"]
    assert (await _feed(feed_client, admin, desk_id=desk, types="form.submitted"))["items"] == []


async def test_types_filter_pages_by_the_cursor(feed_client, feed_engine, admin, desk):
    for _ in range(3):
        await _activity(feed_client, admin, desk)
    await settle(feed_engine)
    walked = await _all(feed_client, admin, desk_id=desk, types="ticket.created", limit=1)
    assert [e["type"] for e in walked] == ["ticket.created"] * 3


async def test_desk_filter_keeps_that_desks_events(feed_client, feed_engine, admin, desk):
    other = await _desk(feed_client, admin)
    mine = await make_ticket(feed_client, admin, desk)
    theirs = await make_ticket(feed_client, admin, other)
    await settle(feed_engine)
    page = await _feed(feed_client, admin, desk_id=desk, types="ticket.created")
    assert [e["data"]["id"] for e in page["items"]] == [mine["id"]]
    everything = await _all(feed_client, admin, types="ticket.created")
    assert {mine["id"], theirs["id"]} <= {e["data"]["id"] for e in everything}


async def test_desk_filter_outside_the_scope_is_404(feed_client, admin, desk, problem):
    other = await _desk(feed_client, admin)
    headers = await _token(feed_client, admin, ["events:read"], [desk])
    body = problem(await feed_client.get("/v1/events", headers=headers,
                                         params={"desk_id": other}), 404)
    assert body["detail"] == f"Desk {other} does not exist."


async def test_scoped_token_sees_only_its_desks_events(feed_client, feed_engine, admin, desk):
    other = await _desk(feed_client, admin)
    await _activity(feed_client, admin, desk)
    await _activity(feed_client, admin, other)
    headers = await _token(feed_client, admin, ["events:read"], [desk])
    await settle(feed_engine)
    seen = await _all(feed_client, headers, limit=50)
    assert seen and {e["desk_id"] for e in seen} == {desk}
    assert len(seen) == 5


async def test_a_scoped_token_sees_the_disabling_of_webhooks_it_can_see_only(
        feed_client, feed_engine, committing, admin, desk):
    other = await _desk(feed_client, admin)
    headers = await _token(feed_client, admin, ["events:read", "webhooks:write"], [desk])
    url = "https://hooks.example.com/feed"
    mine = ok(await feed_client.post("/v1/webhooks", headers=headers,
                                     json={"url": url, "events": ["*"]}), 201)
    theirs = ok(await feed_client.post("/v1/webhooks", headers=admin, json={
        "url": url, "events": ["*"], "desk_ids": [desk, other]}), 201)
    everywhere = ok(await feed_client.post("/v1/webhooks", headers=admin, json={
        "url": url, "events": ["*"], "desk_ids": None}), 201)
    async with committing() as session:
        for hook in (mine, theirs, everywhere):
            assert await delivery.disable(session, hook["id"], "test")
        await session.commit()
    await settle(feed_engine)
    seen = await _all(feed_client, headers, types="webhook.disabled")
    assert [e["data"]["id"] for e in seen] == [mine["id"]]
    assert seen[0]["desk_id"] is None
    everything = await _all(feed_client, admin, types="webhook.disabled")
    assert {mine["id"], theirs["id"], everywhere["id"]} <= {e["data"]["id"] for e in everything}


async def test_feed_needs_events_read(feed_client, admin, desk, problem):
    reader = await _token(feed_client, admin, ["tickets:read", "desks:read"], [desk])
    body = problem(await feed_client.get("/v1/events", headers=reader), 403)
    assert "events:read" in body["detail"]
    problem(await feed_client.get("/v1/events"), 401)
    allowed = await _token(feed_client, admin, ["events:read"], [desk])
    ok(await feed_client.get("/v1/events", headers=allowed))


async def test_sandbox_token_sees_only_sandbox_desks_events(feed_client, feed_engine, admin,
                                                            desk, problem):
    sandbox = await _desk(feed_client, admin, kind="sandbox")
    await _activity(feed_client, admin, sandbox)
    await _activity(feed_client, admin, desk)
    headers = await _token(feed_client, admin, ["events:read", "tickets:write"], [sandbox],
                           sandbox=True)
    await settle(feed_engine)
    seen = await _all(feed_client, headers)
    assert len(seen) == 5 and {e["desk_id"] for e in seen} == {sandbox}
    problem(await feed_client.get("/v1/events", headers=headers, params={"desk_id": desk}), 404)


# --- commit visibility ------------------------------------------------------------------------

async def _insert_event(conn: AsyncConnection, desk_id: int, kind: str) -> int:
    return int(await conn.scalar(text(
        "INSERT INTO events (desk_id, type, subject_type, subject_id, actor, data) "
        "VALUES (:desk, :type, 'ticket', 1, '{}'::jsonb, '{}'::jsonb) RETURNING id"),
        {"desk": desk_id, "type": kind}))


async def _txid(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text("SELECT pg_current_xact_id()::text::bigint")))


async def _feed_ids(committing, desk_id: int, after: int = 0) -> list[int]:
    async with committing() as session:
        rows = await events.feed(session, ADMIN, after=after, limit=200, desk_id=desk_id)
        return [e.id for e in rows]


async def test_an_event_of_a_transaction_still_open_shows_once_it_commits(
        feed_client, feed_engine, committing, admin, desk):
    await make_ticket(feed_client, admin, desk)
    await settle(feed_engine)
    shown = await _feed_ids(committing, desk)
    assert shown
    async with feed_engine.connect() as writer:
        await writer.begin()
        pending = await _insert_event(writer, desk, "ticket.updated")
        pending_txid = await _txid(writer)
        await settle(feed_engine, pending_txid - 1)
        assert await _feed_ids(committing, desk) == shown  # not yet
        assert await _feed_ids(committing, desk, after=shown[-1]) == []
        await writer.commit()
    await settle(feed_engine, pending_txid)
    assert await _feed_ids(committing, desk) == [*shown, pending]
    assert await _feed_ids(committing, desk, after=shown[-1]) == [pending]


async def test_an_event_rolled_back_never_shows(feed_client, feed_engine, committing, admin,
                                                desk):
    async with feed_engine.connect() as writer:
        await writer.begin()
        await _insert_event(writer, desk, "ticket.updated")
        txid = await _txid(writer)
        await writer.rollback()
    await settle(feed_engine, txid)
    assert await _feed_ids(committing, desk) == []


async def test_a_smaller_id_committed_later_is_not_skipped(feed_engine, committing, desk):
    """Transaction A starts first, B takes the smaller event id, A commits first: a reader that
    saw A's event must still be handed B's once B commits."""
    async with feed_engine.connect() as a, feed_engine.connect() as b:
        await a.begin()
        a_txid = await _txid(a)
        await b.begin()
        b_txid = await _txid(b)
        b_event = await _insert_event(b, desk, "ticket.updated")
        a_event = await _insert_event(a, desk, "ticket.created")
        assert b_event < a_event and a_txid < b_txid
        await a.commit()
        await settle(feed_engine, a_txid)
        first = await _feed_ids(committing, desk)
        assert b_event not in first  # B is still open
        await b.commit()
    await settle(feed_engine, b_txid)
    after = first[-1] if first else 0
    later = await _feed_ids(committing, desk, after=after)
    assert sorted(first + later) == sorted([a_event, b_event])
    assert len(first + later) == 2


async def test_reading_the_feed_in_request_order_sees_every_event_once(feed_client, feed_engine,
                                                                       admin, desk):
    """Reads interleaved with writes: whatever each read shows, the union is every event."""
    seen: list[int] = []
    after = 0
    for _ in range(4):
        await _activity(feed_client, admin, desk)
        page = await _feed(feed_client, admin, desk_id=desk, after=after)
        seen += [e["id"] for e in page["items"]]
        after = int(page["next_cursor"] or after)
    await settle(feed_engine)
    seen += [e["id"] for e in await _all(feed_client, admin, desk_id=desk, after=after)]
    everything = [e["id"] for e in await _all(feed_client, admin, desk_id=desk)]
    assert len(everything) == 20
    assert sorted(seen) == sorted(everything)
