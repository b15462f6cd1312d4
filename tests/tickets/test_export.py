"""`GET /v1/tickets/export.csv`: the list's filters, streamed as CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import bearer
from tests.tickets.finding import (
    BASE_TIME,
    bulk_tickets,
    comment,
    define_ticket_field,
    ids,
    make_ticket,
    ok,
    set_times,
)

DEFAULT_COLUMNS = ["id", "desk_id", "number", "subject", "status", "priority", "requester_email",
                   "assignee_id", "tags", "created_at", "updated_at"]


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory):
    return await factory.desk("Support")


@pytest_asyncio.fixture(loop_scope="session")
async def other_desk(factory):
    return await factory.desk("Billing")


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text, newline="")))


async def _export(client, headers, **params: Any) -> list[dict[str, str]]:
    """The export as dicts, checking the header row comes first."""
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=headers, params=params))
    header, *body = rows
    assert all(len(row) == len(header) for row in body)
    return [dict(zip(header, row, strict=True)) for row in body]


async def test_export_is_a_csv_attachment_with_a_header_row_then_one_row_per_ticket(
        client, admin_headers, desk):
    first = await make_ticket(client, admin_headers, desk.id, "First",
                              requester={"email": "Ana@Acme.example"})
    second = await make_ticket(client, admin_headers, desk.id, "Second")
    response = await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                params={"desk_id": desk.id})
    rows = _rows(response)
    assert response.headers["content-disposition"] == 'attachment; filename="tickets.csv"'
    assert rows[0] == DEFAULT_COLUMNS
    assert [int(r[0]) for r in rows[1:]] == [second["id"], first["id"]]  # newest first
    row = dict(zip(rows[0], rows[2], strict=True))
    assert row == {
        "id": str(first["id"]), "desk_id": str(desk.id), "number": str(first["number"]),
        "subject": "First", "status": "new", "priority": "normal",
        "requester_email": "ana@acme.example", "assignee_id": "", "tags": "",
        "created_at": row["created_at"], "updated_at": row["updated_at"]}
    assert datetime.fromisoformat(row["created_at"]) == datetime.fromisoformat(
        first["created_at"])
    assert datetime.fromisoformat(row["created_at"]).utcoffset() == timedelta(0)


async def test_export_of_no_tickets_is_the_header_row_alone(client, admin_headers, desk):
    response = await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                params={"desk_id": desk.id})
    assert _rows(response) == [DEFAULT_COLUMNS]


async def test_tags_priority_and_empty_values_read_plainly(client, admin_headers, factory, desk):
    agent = await factory.user(desks=(desk.id,))
    await make_ticket(client, admin_headers, desk.id, "Tagged", tags=["vip", "Needs Review"],
                      priority="urgent", assignee_id=agent.id)
    [row] = await _export(client, admin_headers, desk_id=desk.id)
    assert row["tags"] == "vip needs-review"
    assert row["priority"] == "urgent"
    assert row["assignee_id"] == str(agent.id)


@pytest.mark.parametrize("subject", [
    'Comma, inside', 'Quote " inside', '"Quoted"', "Line\nbreak", "Carriage\r\nreturn",
    "Tab\tand ;semicolon", "  padded  ", "Ünïcødé ✓ 打印机", "=1+2 formula-looking",
])
async def test_subjects_with_csv_specials_round_trip(client, admin_headers, desk, subject):
    ticket = await make_ticket(client, admin_headers, desk.id, subject)
    [row] = await _export(client, admin_headers, desk_id=desk.id, columns="id,subject")
    assert row == {"id": str(ticket["id"]), "subject": ticket["subject"]}


async def test_columns_choose_and_order_the_columns(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Pick me", type="incident",
                               description="Long text, with comma")
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=admin_headers, params={
        "desk_id": desk.id, "columns": "subject, id,type,description,solved_at,source"}))
    assert rows == [["subject", "id", "type", "description", "solved_at", "source"],
                    ["Pick me", str(ticket["id"]), "incident", "Long text, with comma", "",
                     "api"]]


async def test_custom_fields_column_is_json(client, admin_headers, desk):
    await define_ticket_field(client, admin_headers, desk.id, key="plan", type="text")
    await define_ticket_field(client, admin_headers, desk.id, key="seats", type="integer")
    await make_ticket(client, admin_headers, desk.id, custom_fields={"plan": "gold, \"plus\"",
                                                                     "seats": 5})
    [row] = await _export(client, admin_headers, desk_id=desk.id, columns="custom_fields")
    assert json.loads(row["custom_fields"]) == {"plan": 'gold, "plus"', "seats": 5}


@pytest.mark.parametrize("columns", ["id,password", "nope", " , ", "id,,subject,bogus"])
async def test_unknown_columns_are_422(client, admin_headers, desk, problem, columns):
    body = problem(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                    params={"desk_id": desk.id, "columns": columns}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "columns"]]


@pytest_asyncio.fixture(loop_scope="session")
async def varied(client, admin_headers, factory, desk, other_desk, session) -> dict[str, int]:
    agent = await factory.user(desks=(desk.id,))
    await define_ticket_field(client, admin_headers, desk.id, key="plan", type="text")
    specs = {
        "a": {"subject": "Toner empty", "status": "open", "priority": "urgent", "tags": ["vip"],
              "assignee_id": agent.id, "custom_fields": {"plan": "gold"}},
        "b": {"subject": "Paper jam", "status": "open", "priority": "low", "tags": ["vip", "hw"]},
        "c": {"subject": "Toner low", "status": "pending", "priority": "high",
              "custom_fields": {"plan": "silver"}},
        "d": {"subject": "Password", "status": "solved", "priority": "normal", "tags": ["hw"]},
    }
    made = {}
    for i, (name, spec) in enumerate(specs.items()):
        subject = spec.pop("subject")
        ticket = await make_ticket(client, admin_headers, desk.id, subject, **spec)
        await set_times(session, ticket["id"], created_at=BASE_TIME + timedelta(hours=i),
                        updated_at=BASE_TIME + timedelta(hours=10 - i))
        made[name] = ticket["id"]
    await comment(client, admin_headers, made["d"], "toner was fine", public=False)
    await make_ticket(client, admin_headers, other_desk.id, "Toner empty", status="open",
                      tags=["vip"])
    return made


@pytest.mark.parametrize("params", [
    {},
    {"status": "open"},
    {"status": ["open", "pending"]},
    {"priority": ["urgent", "high"]},
    {"tag": "vip"},
    {"tag": ["vip", "hw"]},
    {"q": "toner"},
    {"q": "toner", "sort": "created_at"},
    {"custom_fields.plan": "gold"},
    {"created_after": "2026-01-01T14:30:00+02:00"},
    {"updated_after": "2026-01-01T20:30:00Z"},
    {"sort": "priority"},
    {"sort": "-updated_at"},
    {"sort": "updated_at", "status": "open"},
])
async def test_export_holds_what_the_list_holds_in_the_same_order(client, admin_headers, desk,
                                                                  varied, params):
    listed = ids(await client.get("/v1/tickets", headers=admin_headers,
                                  params={"desk_id": desk.id, "limit": 200, **params}))
    if "q" in params and "sort" not in params:  # the list ranks; the export sorts by date
        listed = ids(await client.get("/v1/tickets", headers=admin_headers, params={
            "desk_id": desk.id, "limit": 200, "sort": "-created_at", **params}))
    exported = await _export(client, admin_headers, desk_id=desk.id, **params)
    assert [int(r["id"]) for r in exported] == listed
    assert listed or params.get("q")  # every case but none selects something


async def test_export_with_an_assignee_filter(client, admin_headers, desk, varied):
    listed = ids(await client.get("/v1/tickets", headers=admin_headers,
                                  params={"desk_id": desk.id, "tag": "vip", "status": "open"}))
    exported = await _export(client, admin_headers, desk_id=desk.id, tag="vip", status="open")
    assert [int(r["id"]) for r in exported] == listed == [varied["b"], varied["a"]]


async def test_export_rejects_what_the_list_rejects(client, admin_headers, problem):
    for params in ({"status": "done"}, {"created_after": "2026-01-01T00:00:00"},
                   {"sort": "subject"}, {"desk_id": "0"}, {"q": "x" * 501}):
        problem(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                 params=params), 422)


@pytest.mark.parametrize(("params", "loc"), [
    ({"q": "toner\x00"}, ["query", "q"]),
    ({"custom_fields.plan": "go\x00ld"}, ["query", "custom_fields.plan"]),
    ({"custom_fields.pl\x00an": "gold"}, ["query", "custom_fields.pl\x00an"]),
    ({"tag": "v\x00ip"}, ["query", "tag", 0]),
])
async def test_filters_holding_nul_are_a_422_problem_not_a_broken_stream(
        client, admin_headers, desk, varied, problem, params, loc):
    body = problem(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                    params={"desk_id": desk.id, **params}), 422)
    assert [e["loc"] for e in body["errors"]] == [loc]


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
async def test_export_with_an_odd_number_filter_is_a_complete_empty_csv(client, admin_headers,
                                                                        desk, varied, value):
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=admin_headers, params={
        "desk_id": desk.id, "custom_fields.plan": value}))
    assert rows == [DEFAULT_COLUMNS]


async def test_a_ticket_of_another_desk_never_appears(client, admin_headers, factory, desk,
                                                      other_desk, varied):
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    for params in ({}, {"q": "toner"}, {"tag": "vip"}):
        exported = await _export(client, headers, **params)
        assert exported
        assert {r["desk_id"] for r in exported} == {str(desk.id)}
    assert {r["desk_id"] for r in await _export(client, admin_headers, q="toner")} == {
        str(desk.id), str(other_desk.id)}


async def test_export_of_a_desk_outside_the_scope_is_a_404_problem(client, factory, desk,
                                                                   other_desk, problem):
    headers = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    body = problem(await client.get("/v1/tickets/export.csv", headers=headers,
                                    params={"desk_id": other_desk.id}), 404)
    assert body["detail"] == f"Desk {other_desk.id} does not exist."


async def test_export_needs_tickets_read(client, factory, desk, problem):
    headers = bearer(await factory.token(["customers:read"], desk_ids=[desk.id]))
    problem(await client.get("/v1/tickets/export.csv", headers=headers), 403)
    problem(await client.get("/v1/tickets/export.csv"), 401)


# --- with a view ------------------------------------------------------------------------------

async def test_export_of_a_view_uses_its_columns_filters_and_sort(client, admin_headers, desk,
                                                                  varied):
    view = ok(await client.post("/v1/views", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Open", "filters": {"status": ["open", "pending"]},
        "columns": ["subject", "priority", "id"], "sort": "-priority"}), 201)
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                  params={"view_id": view["id"]}))
    assert rows == [["subject", "priority", "id"],
                    ["Toner empty", "urgent", str(varied["a"])],
                    ["Toner low", "high", str(varied["c"])],
                    ["Paper jam", "low", str(varied["b"])]]


async def test_columns_and_sort_given_with_a_view_win_over_the_views(client, admin_headers,
                                                                     desk, varied):
    view = ok(await client.post("/v1/views", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Open", "filters": {"status": ["open", "pending"]},
        "columns": ["subject", "priority"], "sort": "-priority"}), 201)
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=admin_headers, params={
        "view_id": view["id"], "columns": "id", "sort": "created_at"}))
    assert rows == [["id"], [str(varied["a"])], [str(varied["b"])], [str(varied["c"])]]


async def test_export_of_a_missing_view_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                             params={"view_id": 2_000_000_000}), 404)


# --- size -------------------------------------------------------------------------------------

async def test_an_export_of_thousands_of_tickets_arrives_complete(client, admin_headers, desk,
                                                                  other_desk, session):
    made = await bulk_tickets(session, desk, 2500, subject="Ticket, number {i}",
                              tags=["bulk", "csv"])
    await bulk_tickets(session, other_desk, 20)
    rows = _rows(await client.get("/v1/tickets/export.csv", headers=admin_headers,
                                  params={"desk_id": desk.id}))
    assert rows[0] == DEFAULT_COLUMNS
    assert len(rows) == 2501
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(t.id for t in made)
    assert {r[3] for r in rows[1:]} == {f"Ticket, number {i}" for i in range(2500)}
    assert {r[8] for r in rows[1:]} == {"bulk csv"}
