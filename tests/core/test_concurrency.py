"""ETag / If-Match: GET returns the version's tag; a stale If-Match on PATCH is a 412."""

from __future__ import annotations

import pytest

from app.core.concurrency import check_if_match, etag
from app.core.errors import PreconditionFailed


async def test_get_returns_the_version_etag(client, admin_headers, factory):
    desk = await factory.desk("Berlin")
    response = await client.get(f"/v1/desks/{desk.id}", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.json()["version"] == 1


async def test_create_returns_the_first_etag(client, admin_headers):
    response = await client.post("/v1/desks", json={"name": "Berlin"}, headers=admin_headers)
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'


async def test_patch_with_matching_if_match_succeeds_and_returns_the_new_etag(
        client, admin_headers, factory):
    desk = await factory.desk("Berlin")
    tag = (await client.get(f"/v1/desks/{desk.id}", headers=admin_headers)).headers["ETag"]
    response = await client.patch(f"/v1/desks/{desk.id}", json={"name": "Hamburg"},
                                  headers={**admin_headers, "If-Match": tag})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["name"] == "Hamburg"
    assert response.json()["version"] == 2
    got = await client.get(f"/v1/desks/{desk.id}", headers=admin_headers)
    assert got.headers["ETag"] == '"2"'


async def test_patch_with_stale_if_match_is_a_412_and_changes_nothing(client, admin_headers,
                                                                     factory, problem):
    desk = await factory.desk("Berlin")
    first = await client.patch(f"/v1/desks/{desk.id}", json={"name": "Hamburg"},
                               headers={**admin_headers, "If-Match": '"1"'})
    assert first.status_code == 200
    stale = await client.patch(f"/v1/desks/{desk.id}",
                               json={"name": "Munich", "settings": {"time_zone": "Europe/Berlin"}},
                               headers={**admin_headers, "If-Match": '"1"'})
    body = problem(stale, 412)
    assert body["type"] == "urn:switchboard:problem:precondition-failed"
    assert body["title"] == "Precondition Failed"
    assert '"2"' in body["detail"]
    assert body["current_etag"] == '"2"'
    got = await client.get(f"/v1/desks/{desk.id}", headers=admin_headers)
    assert got.headers["ETag"] == '"2"'
    assert got.json()["name"] == "Hamburg"
    assert got.json()["settings"]["time_zone"] == "UTC"


async def test_patch_without_if_match_is_allowed(client, admin_headers, factory):
    desk = await factory.desk("Berlin")
    response = await client.patch(f"/v1/desks/{desk.id}", json={"description": "HQ"},
                                  headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["description"] == "HQ"


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "*", '"7", "1"'])
async def test_patch_accepts_any_if_match_form_naming_the_version(client, admin_headers, factory,
                                                                 if_match):
    desk = await factory.desk("Berlin")
    response = await client.patch(f"/v1/desks/{desk.id}", json={"name": "Hamburg"},
                                  headers={**admin_headers, "If-Match": if_match})
    assert response.status_code == 200, response.text


async def test_if_match_on_a_missing_desk_is_a_404(client, admin_headers, problem):
    response = await client.patch("/v1/desks/2147483000", json={"name": "X"},
                                  headers={**admin_headers, "If-Match": '"1"'})
    problem(response, 404)


async def test_settings_patch_merges_keys(client, admin_headers):
    created = await client.post("/v1/desks", headers=admin_headers, json={
        "name": "Berlin",
        "settings": {"time_zone": "Europe/Berlin", "inbound_addresses": ["help@acme.example"]},
    })
    desk_id = created.json()["id"]
    response = await client.patch(f"/v1/desks/{desk_id}", headers=admin_headers,
                                  json={"settings": {"default_priority": "high",
                                                     "sla": {"first_response_minutes": 30}}})
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["time_zone"] == "Europe/Berlin"
    assert settings["inbound_addresses"] == ["help@acme.example"]
    assert settings["default_priority"] == "high"
    assert settings["sla"] == {"first_response_minutes": 30, "resolution_minutes": None}
    nested = await client.patch(f"/v1/desks/{desk_id}", headers=admin_headers,
                                json={"settings": {"sla": {"resolution_minutes": 600}}})
    assert nested.json()["settings"]["sla"] == {"first_response_minutes": 30,
                                                "resolution_minutes": 600}


async def test_settings_patch_null_resets_a_key_to_its_default(client, admin_headers):
    created = await client.post("/v1/desks", headers=admin_headers, json={
        "name": "Berlin",
        "settings": {"time_zone": "Europe/Berlin", "auto_create_organizations": True},
    })
    desk_id = created.json()["id"]
    response = await client.patch(f"/v1/desks/{desk_id}", headers=admin_headers,
                                  json={"settings": {"time_zone": None}})
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["time_zone"] == "UTC"
    assert settings["auto_create_organizations"] is True
    got = await client.get(f"/v1/desks/{desk_id}", headers=admin_headers)
    assert got.json()["settings"] == settings


def test_etag_is_the_quoted_version():
    assert etag(1) == '"1"'
    assert etag(42) == '"42"'


@pytest.mark.parametrize("header", [None, '"3"', 'W/"3"', "*", '"1", "3"', ' "2" , W/"3" '])
def test_check_if_match_accepts_a_header_naming_the_version(header):
    check_if_match(header, 3)  # does not raise


@pytest.mark.parametrize("header", ['"2"', "3", '"33"', "", 'W/"2", "4"'])
def test_check_if_match_rejects_a_stale_header(header):
    with pytest.raises(PreconditionFailed) as caught:
        check_if_match(header, 3)
    assert caught.value.extensions == {"current_etag": '"3"'}
