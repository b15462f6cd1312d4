"""Every error is an RFC 9457 problem: bad JSON, validation, unknown routes, crashes."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from sqlalchemy import func, select

from app.core.boundary import AppRoute
from app.core.db import Session
from app.core.principal import Authenticated
from app.models import Desk
from tests.conftest import bearer
from tests.core.conftest import error_at, error_locs

SECRET = "sk_live_7f3a9c1e5b2d4f60a8c9e1d3b5a7f9c2"


async def test_malformed_json_is_a_400_problem_with_errors(client, admin_headers, problem):
    response = await client.post(
        "/v1/desks", content=b'{"name": "Berlin", ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    body = problem(response, 400)
    assert body["type"] == "urn:switchboard:problem:malformed-json"
    assert body["title"] == "Malformed JSON"
    assert body["detail"] == "The request body is not valid JSON."
    locs = error_locs(body)
    assert all(loc[0] == "body" for loc in locs)
    assert {item["type"] for item in body["errors"]} == {"json_invalid"}


async def test_json_that_is_not_an_object_is_a_422(client, admin_headers, problem):
    body = problem(await client.post("/v1/desks", json=["Berlin"], headers=admin_headers), 422)
    assert error_locs(body) == [["body"]]


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"name": 123}, ["body", "name"], "string_type"),
        ({"name": ""}, ["body", "name"], "string_too_short"),
        ({"name": "X", "settings": {"time_zone": "Mars/Base"}},
         ["body", "settings", "time_zone"], "value_error"),
        ({"name": "X", "settings": {"auto_create_organizations": "often"}},
         ["body", "settings", "auto_create_organizations"], "bool_parsing"),
        ({"name": "X", "settings": {"inbound_addresses": ["ok@acme.example", "nope"]}},
         ["body", "settings", "inbound_addresses", 1], "value_error"),
        ({"name": "X", "kind": "nope"}, ["body", "kind"], "enum"),
        ({"name": "X", "settings": {"default_priority": "meh"}},
         ["body", "settings", "default_priority"], "enum"),
        ({"name": "X", "colour": "red"}, ["body", "colour"], "extra_forbidden"),
        ({"name": "X", "settings": {"colour": "red"}}, ["body", "settings", "colour"],
         "extra_forbidden"),
        ({}, ["body", "name"], "missing"),
    ],
    ids=["name-int", "name-empty", "time-zone", "bool", "email-in-list", "kind-enum",
         "priority-enum", "extra-field", "extra-settings-key", "missing-name"],
)
async def test_invalid_desk_body_is_a_422_naming_the_field(client, admin_headers, problem,
                                                          payload, loc, error_type):
    body = problem(await client.post("/v1/desks", json=payload, headers=admin_headers), 422)
    assert body["type"] == "urn:switchboard:problem:validation-error"
    assert body["title"] == "Validation Error"
    assert error_locs(body) == [loc]
    assert error_at(body, loc)["type"] == error_type
    assert isinstance(body["detail"], str) and ".".join(map(str, loc)) in body["detail"]


async def test_invalid_settings_patch_is_a_422_naming_the_key(client, admin_headers, factory,
                                                              problem):
    desk = await factory.desk("Berlin")
    response = await client.patch(f"/v1/desks/{desk.id}", headers=admin_headers,
                                  json={"settings": {"time_zone": "Mars/Base"}})
    body = problem(response, 422)
    assert error_locs(body) == [["body", "settings", "time_zone"]]


async def test_every_validation_error_is_reported_at_once(client, admin_headers, problem):
    payload = {"name": 123, "kind": "nope", "colour": "red"}
    body = problem(await client.post("/v1/desks", json=payload, headers=admin_headers), 422)
    assert sorted(error_locs(body)) == [["body", "colour"], ["body", "kind"], ["body", "name"]]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": [SECRET]},
        {"name": "X" * 200 + SECRET},
        {"name": "X", "kind": SECRET},
        {"name": "X", "colour": SECRET},
        {"name": "X", "settings": {"time_zone": SECRET}},
        {"name": "X", "settings": {"inbound_addresses": [SECRET]}},
        {"name": "X", "settings": {"inbound_addresses": [f"{SECRET}@{SECRET}"]}},
        {"name": "X", "settings": {"default_priority": SECRET}},
        {"name": "X", "settings": {"sla": {"first_response_minutes": SECRET}}},
    ],
    ids=["list-for-str", "too-long", "enum", "extra-value",
         "time-zone", "email", "email-with-at", "nested-enum", "nested-int"],
)
async def test_validation_errors_never_echo_input_values(client, admin_headers, problem, payload):
    response = await client.post("/v1/desks", json=payload, headers=admin_headers)
    body = problem(response, 422)
    assert SECRET not in response.text
    assert all("input" not in item and "ctx" not in item for item in body["errors"])


async def test_settings_patch_errors_never_echo_input_values(client, admin_headers, factory,
                                                             problem):
    desk = await factory.desk("Berlin")
    response = await client.patch(f"/v1/desks/{desk.id}", headers=admin_headers,
                                  json={"settings": {"time_zone": SECRET}})
    problem(response, 422)
    assert SECRET not in response.text


async def test_unknown_path_is_a_404_problem(client, admin_headers, problem):
    body = problem(await client.get("/v1/no-such-thing", headers=admin_headers), 404)
    assert body["type"] == "urn:switchboard:problem:not-found"
    assert body["title"] == "Not Found"
    assert body["instance"] == "/v1/no-such-thing"


async def test_unknown_path_is_a_404_problem_without_credentials(client, problem):
    body = problem(await client.get("/nowhere"), 404)
    assert body["type"] == "urn:switchboard:problem:not-found"


async def test_wrong_method_is_a_405_problem(client, problem):
    response = await client.delete("/healthz")
    body = problem(response, 405)
    assert body["type"] == "urn:switchboard:problem:method-not-allowed"
    assert body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


async def test_missing_resource_is_a_404_problem_with_detail(client, admin_headers, problem):
    body = problem(await client.get("/v1/desks/2147483000", headers=admin_headers), 404)
    assert body["type"] == "urn:switchboard:problem:not-found"
    assert body["detail"] == "Desk 2147483000 does not exist."


async def test_non_integer_path_id_is_a_422_not_a_500(client, admin_headers, problem):
    body = problem(await client.get("/v1/desks/abc", headers=admin_headers), 422)
    assert error_locs(body) == [["path", "desk_id"]]


async def test_missing_credentials_are_a_401_problem(client, problem):
    response = await client.get("/v1/desks")
    body = problem(response, 401)
    assert body["type"] == "urn:switchboard:problem:unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def _assert_no_internals(text: str) -> None:
    for leak in ("secret internals", "RuntimeError", "Traceback", "explode", ".py"):
        assert leak not in text


async def test_unhandled_exception_in_a_route_is_a_500_problem_without_internals(app, client,
                                                                                problem):
    router = APIRouter(route_class=AppRoute)

    @router.get("/boom")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    response = await client.get("/boom")
    body = problem(response, 500)
    assert body["type"] == "urn:switchboard:problem:internal-error"
    assert body["title"] == "Internal Server Error"
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert body["request_id"] == response.headers["X-Request-ID"]
    _assert_no_internals(response.text)


async def test_unhandled_exception_outside_the_route_boundary_is_a_500_problem(app, client,
                                                                              problem):
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.router.add_api_route("/boom-plain", explode, methods=["GET"])
    response = await client.get("/boom-plain")
    body = problem(response, 500)
    assert body["type"] == "urn:switchboard:problem:internal-error"
    _assert_no_internals(response.text)


async def test_unhandled_exception_rolls_back_the_request_work(app, client, factory, session,
                                                               problem):
    router = APIRouter(route_class=AppRoute)
    token = await factory.admin_token()

    @router.post("/boom-after-write")
    async def write_then_explode(db: Session, scope: Authenticated) -> None:
        db.add(Desk(name="half-written", kind="standard"))
        await db.flush()
        raise RuntimeError("secret internals")

    app.include_router(router)
    response = await client.post("/boom-after-write", headers=bearer(token))
    problem(response, 500)
    assert await session.scalar(select(func.count()).where(Desk.name == "half-written")) == 0


@pytest.mark.parametrize("zone", ["Mars/Base", "../../etc/passwd", "", "/etc/localtime",
                                  "Europe/Berlin\x00", "UTC" * 100])
async def test_odd_time_zone_names_are_a_422_not_a_500(client, admin_headers, problem, zone):
    payload = {"name": "X", "settings": {"time_zone": zone}}
    body = problem(await client.post("/v1/desks", json=payload, headers=admin_headers), 422)
    assert error_locs(body) == [["body", "settings", "time_zone"]]
