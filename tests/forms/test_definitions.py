"""Form definitions through `/v1/forms`: fields on the typed-field module, mappings checked
when defined, slugs unique across desks, versions of published forms, scopes and desks."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.customers.helpers import define_field, error_locs, ok
from tests.forms.conftest import contact_fields, form_body, slug


async def test_created_form_is_read_back_with_its_fields_and_public_path(client, admin_headers,
                                                                       desk):
    body = form_body(desk.id, description="We answer within a day")
    response = await client.post("/v1/forms", headers=admin_headers, json=body)
    created = ok(response, 201)
    assert response.headers["Location"] == f"/v1/forms/{created['id']}"
    assert created["desk_id"] == desk.id and created["slug"] == body["slug"]
    assert created["kind"] == "ticket" and created["published"] is True
    assert created["version"] == 1
    assert created["public_path"] == f"/v1/public/forms/{body['slug']}"
    assert [f["key"] for f in created["fields"]] == ["email", "name", "subject", "message"]
    assert created["fields"][0]["maps_to"] == "requester.email"
    fetched = await client.get(f"/v1/forms/{created['id']}", headers=admin_headers)
    assert ok(fetched) == created
    assert fetched.headers["ETag"]


@pytest.mark.parametrize("field", [
    {"key": "f", "label": "F", "type": "text", "min_length": 2, "max_length": 9, "pattern": "[a-z]+",
     "default": "abc"},
    {"key": "f", "label": "F", "type": "textarea", "max_length": 5000, "help": "Tell us"},
    {"key": "f", "label": "F", "type": "email", "required": True},
    {"key": "f", "label": "F", "type": "phone", "default": "+1 555 0100"},
    {"key": "f", "label": "F", "type": "integer", "min": 1, "max": 10, "default": 3},
    {"key": "f", "label": "F", "type": "decimal", "min": 0.5, "max": 9.5},
    {"key": "f", "label": "F", "type": "date", "min": "2024-01-01", "max": "2024-12-31"},
    {"key": "f", "label": "F", "type": "datetime", "min": "2024-01-01T00:00:00+00:00"},
    {"key": "f", "label": "F", "type": "checkbox", "default": False},
    {"key": "f", "label": "F", "type": "select", "options": [{"value": "a", "label": "A"}],
     "default": "a"},
    {"key": "f", "label": "F", "type": "multiselect",
     "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}], "default": ["b"]},
    {"key": "f", "label": "F", "type": "url"},
])
async def test_every_field_type_with_its_constraints_is_accepted(client, admin_headers, desk,
                                                                 field):
    created = ok(await client.post("/v1/forms", headers=admin_headers, json=form_body(
        desk.id, published=False, fields=[field])), 201)
    stored = created["fields"][0]
    for name, value in field.items():
        assert stored[name] == value, name


@pytest.mark.parametrize("field", [
    {"type": "integer", "default": "three"},
    {"type": "select", "options": [{"value": "a", "label": "A"}], "default": "z"},
    {"type": "date", "default": "someday"},
    {"type": "text", "min": 1},
    {"type": "select"},
    {"type": "colour"},
    {"type": "text", "pattern": "("},
    {"type": {"name": "text"}},
    {"type": ["text"]},
    {"type": ["text"], "default": "x"},
])
async def test_field_with_a_bad_constraint_is_a_422_at_the_field(client, admin_headers, desk,
                                                                  problem, field):
    body = form_body(desk.id, published=False,
                     fields=[{"key": "f", "label": "F", **field}])
    locs = error_locs(problem(await client.post("/v1/forms", headers=admin_headers, json=body),
                              422))
    assert all(loc[:3] == ["body", "fields", 0] for loc in locs), locs


async def test_lookaround_pattern_is_refused_for_forms(client, admin_headers, desk, problem):
    body = form_body(desk.id, published=False, fields=[
        {"key": "code", "label": "Code", "type": "text", "pattern": "(?=a)a+"}])
    locs = error_locs(problem(await client.post("/v1/forms", headers=admin_headers, json=body),
                              422))
    assert locs == [["body", "fields", 0, "pattern"]]


async def test_duplicate_field_keys_are_refused(client, admin_headers, desk, problem):
    fields = [*contact_fields(), {"key": "email", "label": "Again", "type": "text"}]
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id, fields=fields)), 422)
    assert error_locs(body) == [["body", "fields"]]


@pytest.mark.parametrize(("field", "target"), [
    ({"type": "integer"}, "subject"),
    ({"type": "text"}, "requester.email"),
    ({"type": "checkbox"}, "description"),
    ({"type": "text"}, "priority"),
    ({"type": "select", "options": [{"value": "asap", "label": "ASAP"}]}, "priority"),
    ({"type": "email"}, "requester.name"),
    ({"type": "text"}, "tags"),
    ({"type": "select", "options": [{"value": "a,b", "label": "AB"}]}, "tags"),
    ({"type": "text"}, "custom_fields.nothing_here"),
])
async def test_mapping_to_a_member_of_another_type_is_refused(client, admin_headers, desk,
                                                              problem, field, target):
    fields = [{"key": "extra", "label": "Extra", "maps_to": target, **field}]
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id, fields=fields, published=False)), 422)
    assert error_locs(body) == [["body", "fields", 0, "maps_to"]]


async def test_mapping_to_a_custom_field_must_match_its_type_and_options(client, admin_headers,
                                                                         desk, problem):
    await define_field(client, admin_headers, desk.id, "ticket", key="plan", type="select",
                       options=[{"value": "free", "label": "Free"}, {"value": "pro", "label": "Pro"}])
    await define_field(client, admin_headers, desk.id, "ticket", key="seats", type="integer")
    good = contact_fields(
        plan={"key": "plan", "label": "Plan", "type": "select", "maps_to": "custom_fields.plan",
              "options": [{"value": "pro", "label": "Pro"}]},
        seats={"key": "seats", "label": "Seats", "type": "integer", "maps_to": "seats"})
    ok(await client.post("/v1/forms", headers=admin_headers,
                         json=form_body(desk.id, fields=good)), 201)
    wrong_type = contact_fields(seats={"key": "seats", "label": "Seats", "type": "text",
                                       "maps_to": "custom_fields.seats"})
    extra_option = contact_fields(plan={
        "key": "plan", "label": "Plan", "type": "select", "maps_to": "plan",
        "options": [{"value": "gold", "label": "Gold"}]})
    for fields in (wrong_type, extra_option):
        body = problem(await client.post("/v1/forms", headers=admin_headers,
                                         json=form_body(desk.id, fields=fields)), 422)
        assert error_locs(body) == [["body", "fields", 4, "maps_to"]]


async def test_one_member_cannot_be_filled_by_two_fields(client, admin_headers, desk, problem):
    fields = contact_fields(again={"key": "topic", "label": "Topic", "type": "text",
                                   "maps_to": "subject"})
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id, fields=fields)), 422)
    assert error_locs(body) == [["body", "fields", 4, "maps_to"]]


async def test_published_ticket_form_needs_a_required_requester_email(client, admin_headers, desk,
                                                                     problem):
    without = [f for f in contact_fields() if f["key"] != "email"]
    optional = [{**f, "required": False} if f["key"] == "email" else f for f in contact_fields()]
    for fields in (without, optional):
        body = problem(await client.post("/v1/forms", headers=admin_headers,
                                         json=form_body(desk.id, fields=fields)), 422)
        assert error_locs(body) == [["body", "fields"]]
        assert "requester.email" in body["errors"][0]["msg"]
    draft = ok(await client.post("/v1/forms", headers=admin_headers,
                                 json=form_body(desk.id, fields=without, published=False)), 201)
    response = await client.patch(f"/v1/forms/{draft['id']}", headers=admin_headers,
                                  json={"published": True})
    assert error_locs(problem(response, 422)) == [["body", "fields"]]


async def test_published_form_must_fill_the_desks_required_ticket_fields(client, admin_headers,
                                                                         desk, problem):
    await define_field(client, admin_headers, desk.id, "ticket", key="region", type="text",
                       required=True)
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id)), 422)
    assert "region" in body["errors"][0]["msg"]
    fields = contact_fields(region={"key": "region", "label": "Region", "type": "text",
                                    "required": True, "maps_to": "region"})
    ok(await client.post("/v1/forms", headers=admin_headers,
                         json=form_body(desk.id, fields=fields)), 201)


async def test_survey_forms_take_no_mappings(client, admin_headers, desk, problem):
    body = problem(await client.post("/v1/forms", headers=admin_headers, json=form_body(
        desk.id, kind="survey")), 422)
    assert ["body", "fields", 0, "maps_to"] in error_locs(body)
    survey = ok(await client.post("/v1/forms", headers=admin_headers, json=form_body(
        desk.id, kind="survey", fields=[{"key": "liked", "label": "Liked it?",
                                         "type": "checkbox", "required": True}])), 201)
    assert survey["kind"] == "survey"


async def test_field_named_like_the_honeypot_is_refused(client, admin_headers, desk, problem):
    fields = contact_fields(site={"key": "website", "label": "Website", "type": "url"})
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id, fields=fields)), 422)
    assert error_locs(body) == [["body", "fields", 4, "key"]]


async def test_slug_taken_in_another_desk_is_a_409(client, admin_headers, factory, new_form,
                                                   problem):
    first, second = await factory.desk("One"), await factory.desk("Two")
    form = await new_form(first.id)
    response = await client.post("/v1/forms", headers=admin_headers,
                                 json=form_body(second.id, slug=form["slug"]))
    assert problem(response, 409)["existing_id"] == form["id"]
    other = await new_form(second.id)
    response = await client.patch(f"/v1/forms/{other['id']}", headers=admin_headers,
                                  json={"slug": form["slug"]})
    problem(response, 409)


@pytest.mark.parametrize("bad", ["Contact", "-contact", "contact-", "con tact", "x" * 101, ""])
async def test_slug_must_be_lower_case_words_joined_by_hyphens(client, admin_headers, desk,
                                                               problem, bad):
    body = problem(await client.post("/v1/forms", headers=admin_headers,
                                     json=form_body(desk.id, slug=bad)), 422)
    assert error_locs(body) == [["body", "slug"]]


async def test_editing_a_published_forms_fields_makes_a_new_version(client, admin_headers, desk,
                                                                  new_form):
    form = await new_form(desk.id)
    renamed = ok(await client.patch(f"/v1/forms/{form['id']}", headers=admin_headers,
                                    json={"name": "Write to us"}))
    assert renamed["version"] == 1 and renamed["name"] == "Write to us"
    fields = contact_fields(phone={"key": "phone", "label": "Phone", "type": "phone"})
    edited = ok(await client.patch(f"/v1/forms/{form['id']}", headers=admin_headers,
                                   json={"fields": fields}))
    assert edited["version"] == 2
    same = ok(await client.patch(f"/v1/forms/{form['id']}", headers=admin_headers,
                                 json={"fields": fields}))
    assert same["version"] == 2
    listing = ok(await client.get(f"/v1/forms/{form['id']}/versions", headers=admin_headers))
    assert listing["next_cursor"] is None
    versions = listing["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert [f["key"] for f in versions[0]["fields"]] == ["email", "name", "subject", "message"]
    assert versions[1]["fields"][-1]["key"] == "phone"
    first = ok(await client.get(f"/v1/forms/{form['id']}/versions/1", headers=admin_headers))
    assert first == versions[0]
    page = ok(await client.get(f"/v1/forms/{form['id']}/versions", params={"limit": 1},
                               headers=admin_headers))
    assert page["items"] == versions[:1] and page["next_cursor"]
    rest = ok(await client.get(f"/v1/forms/{form['id']}/versions",
                               params={"limit": 1, "cursor": page["next_cursor"]},
                               headers=admin_headers))
    assert rest == {"items": versions[1:], "next_cursor": None}


async def test_draft_edits_keep_the_version_until_it_was_published(client, admin_headers, desk,
                                                                   new_form):
    draft = await new_form(desk.id, published=False)
    fields = contact_fields(phone={"key": "phone", "label": "Phone", "type": "phone"})
    edited = ok(await client.patch(f"/v1/forms/{draft['id']}", headers=admin_headers,
                                   json={"fields": fields}))
    assert edited["version"] == 1
    published = ok(await client.patch(f"/v1/forms/{draft['id']}", headers=admin_headers,
                                      json={"published": True}))
    unpublished = ok(await client.patch(f"/v1/forms/{draft['id']}", headers=admin_headers,
                                        json={"published": False}))
    assert published["version"] == unpublished["version"] == 1
    again = ok(await client.patch(f"/v1/forms/{draft['id']}", headers=admin_headers,
                                  json={"fields": contact_fields()}))
    assert again["version"] == 2  # version 1 was published: submissions may have answered it


async def test_stale_if_match_is_a_412(client, admin_headers, desk, new_form, problem):
    form = await new_form(desk.id)
    etag = (await client.get(f"/v1/forms/{form['id']}", headers=admin_headers)).headers["ETag"]
    changed = await client.patch(f"/v1/forms/{form['id']}", headers={**admin_headers,
                                 "If-Match": etag}, json={"name": "New"})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    problem(await client.patch(f"/v1/forms/{form['id']}", headers={**admin_headers,
            "If-Match": etag}, json={"name": "Newer"}), 412)


async def test_markup_in_a_definition_is_stored_as_plain_text(client, admin_headers, desk):
    fields = contact_fields(note={"key": "note", "label": "<b>Note</b><script>x()</script>",
                                  "type": "select", "help": "<i>pick</i> one",
                                  "options": [{"value": "a", "label": "<em>A</em>"}]})
    form = ok(await client.post("/v1/forms", headers=admin_headers, json=form_body(
        desk.id, name="<h1>Contact</h1>", fields=fields)), 201)
    assert form["name"] == "Contact"
    note = form["fields"][-1]
    assert (note["label"], note["help"], note["options"][0]["label"]) == ("Note", "pick one", "A")


async def test_forms_of_other_desks_are_404(client, factory, new_form, problem):
    mine, theirs = await factory.desk("Mine"), await factory.desk("Theirs")
    headers = bearer(await factory.token(["forms:write"], desk_ids=[mine.id]))
    form = await new_form(theirs.id)
    problem(await client.get(f"/v1/forms/{form['id']}", headers=headers), 404)
    problem(await client.patch(f"/v1/forms/{form['id']}", headers=headers, json={"name": "x"}),
            404)
    problem(await client.get(f"/v1/forms/{form['id']}/schema", headers=headers), 404)
    problem(await client.get(f"/v1/forms/{form['id']}/submissions", headers=headers), 404)
    problem(await client.post("/v1/forms", headers=headers, json=form_body(theirs.id)), 404)
    listed = ok(await client.get("/v1/forms", headers=headers))
    assert form["id"] not in [f["id"] for f in listed["items"]]
    problem(await client.get("/v1/forms", headers=headers, params={"desk_id": theirs.id}), 404)


async def test_reading_needs_forms_read_and_writing_forms_write(client, factory, desk, new_form,
                                                                problem):
    form = await new_form(desk.id)
    reader = bearer(await factory.token(["forms:read"]))
    other = bearer(await factory.token(["tickets:write"]))
    ok(await client.get(f"/v1/forms/{form['id']}", headers=reader))
    problem(await client.patch(f"/v1/forms/{form['id']}", headers=reader, json={"name": "x"}), 403)
    problem(await client.post("/v1/forms", headers=reader, json=form_body(desk.id)), 403)
    problem(await client.get("/v1/forms", headers=other), 403)
    problem(await client.get("/v1/forms"), 401)


async def test_list_filters_by_desk_kind_and_published_and_pages(client, admin_headers, factory,
                                                                 new_form):
    desk = await factory.desk("Listed")
    published = await new_form(desk.id)
    draft = await new_form(desk.id, published=False)
    survey = await new_form(desk.id, kind="survey", published=False, fields=[
        {"key": "ok", "label": "OK?", "type": "checkbox"}])
    listed = ok(await client.get("/v1/forms", headers=admin_headers,
                                 params={"desk_id": desk.id, "limit": 2}))
    assert [f["id"] for f in listed["items"]] == [published["id"], draft["id"]]
    rest = ok(await client.get("/v1/forms", headers=admin_headers, params={
        "desk_id": desk.id, "limit": 2, "cursor": listed["next_cursor"]}))
    assert [f["id"] for f in rest["items"]] == [survey["id"]] and rest["next_cursor"] is None
    drafts = ok(await client.get("/v1/forms", headers=admin_headers,
                                 params={"desk_id": desk.id, "published": "false"}))
    assert [f["id"] for f in drafts["items"]] == [draft["id"], survey["id"]]
    surveys = ok(await client.get("/v1/forms", headers=admin_headers,
                                  params={"desk_id": desk.id, "kind": "survey"}))
    assert [f["id"] for f in surveys["items"]] == [survey["id"]]


async def test_archived_desk_takes_no_new_forms(client, admin_headers, desk, problem):
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await client.post("/v1/forms", headers=admin_headers, json=form_body(desk.id)), 409)


async def test_unknown_slug_or_form_is_404(client, admin_headers, problem):
    problem(await client.get("/v1/forms/999999", headers=admin_headers), 404)
    problem(await client.get(f"/v1/public/forms/{slug()}"), 404)
