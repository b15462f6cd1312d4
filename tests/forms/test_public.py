"""The public side: a published form as visitors see it, and submissions that become tickets
(requester found or created, organization by domain, `source=web_form`, answers kept as
submitted with their version, `form.submitted` written)."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Customer, Event, FormSubmission, Ticket
from tests.customers.helpers import create_org, define_field, error_locs, ok
from tests.forms.conftest import answers, contact_fields


async def ticket_by_number(session, desk_id: int, number: int) -> Ticket:
    ticket = await session.scalar(select(Ticket).where(Ticket.desk_id == desk_id,
                                                       Ticket.number == number)
                                  .execution_options(populate_existing=True))
    assert ticket is not None
    return ticket


async def test_public_form_shows_fields_but_no_internal_data(client, desk, new_form):
    form = await new_form(desk.id, description="Ask us")
    seen = ok(await client.get(f"/v1/public/forms/{form['slug']}"))
    assert set(seen) == {"slug", "name", "description", "kind", "version", "fields",
                         "schema_path", "submit_path"}
    assert seen["submit_path"] == f"/v1/public/forms/{form['slug']}/submissions"
    assert [f["key"] for f in seen["fields"]] == ["email", "name", "subject", "message"]
    assert all("maps_to" not in f for f in seen["fields"])
    assert seen["fields"][2]["max_length"] == 200 and seen["fields"][0]["required"] is True


async def test_public_schema_matches_the_authenticated_one(client, admin_headers, desk, new_form):
    form = await new_form(desk.id)
    public = ok(await client.get(f"/v1/public/forms/{form['slug']}/schema"))
    assert public == ok(await client.get(f"/v1/forms/{form['id']}/schema", headers=admin_headers))


async def test_unpublished_form_is_not_public(client, desk, new_form, submit, problem):
    form = await new_form(desk.id, published=False)
    problem(await client.get(f"/v1/public/forms/{form['slug']}"), 404)
    problem(await submit(form["slug"], answers()), 404)


async def test_submission_opens_a_web_form_ticket_and_answers_its_number(client, admin_headers,
                                                                         desk, new_form, submit,
                                                                         session):
    form = await new_form(desk.id)
    created = ok(await submit(form["slug"], answers()), 201)
    assert set(created) == {"number"}
    ticket = await ticket_by_number(session, desk.id, created["number"])
    assert (ticket.source, ticket.form_id) == ("web_form", form["id"])
    assert (ticket.subject, ticket.description) == ("Printer on fire", "Smoke everywhere")
    requester = await session.get(Customer, ticket.requester_id)
    assert (requester.email, requester.name) == ("ana@acme.example", "Ana")
    read = ok(await client.get(f"/v1/tickets/{ticket.id}", headers=admin_headers))
    assert read["routing_state"] == "pending" and read["form_id"] == form["id"]


async def test_submission_finds_the_customer_and_joins_the_domains_organization(
        client, admin_headers, desk, new_form, submit, session):
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    form = await new_form(desk.id)
    first = ok(await submit(form["slug"], answers()), 201)
    second = ok(await submit(form["slug"], answers(email="ANA@acme.example")), 201)
    one = await ticket_by_number(session, desk.id, first["number"])
    two = await ticket_by_number(session, desk.id, second["number"])
    assert one.requester_id == two.requester_id
    assert one.organization_id == org["id"]


async def test_answers_are_kept_as_submitted_with_their_version(client, admin_headers, desk,
                                                                new_form, submit):
    form = await new_form(desk.id)
    first = ok(await submit(form["slug"], answers(name=" Ana ")), 201)
    fields = contact_fields(phone={"key": "phone", "label": "Phone", "type": "phone"})
    ok(await client.patch(f"/v1/forms/{form['id']}", headers=admin_headers,
                          json={"fields": fields}))
    second = ok(await submit(form["slug"], answers(phone="+44 20 7946 0958")), 201)
    listed = ok(await client.get(f"/v1/forms/{form['id']}/submissions", headers=admin_headers))
    newest, oldest = listed["items"]
    assert (oldest["version"], newest["version"]) == (1, 2)
    assert oldest["answers"] == {"email": "ana@acme.example", "name": "Ana",
                                 "subject": "Printer on fire", "message": "Smoke everywhere"}
    assert newest["answers"]["phone"] == "+44 20 7946 0958"
    assert oldest["ticket_id"] != newest["ticket_id"]
    assert first["number"] != second["number"]


async def test_submission_writes_form_submitted(client, desk, new_form, submit, session):
    form = await new_form(desk.id)
    created = ok(await submit(form["slug"], answers()), 201)
    event = await session.scalar(select(Event).where(Event.type == "form.submitted",
                                                     Event.subject_id == form["id"]))
    assert event is not None and event.desk_id == desk.id
    assert event.actor["kind"] == "system"
    assert event.data["form_id"] == form["id"] and event.data["version"] == 1
    assert event.data["ticket_number"] == created["number"]
    assert event.data["answers"]["subject"] == "Printer on fire"


async def test_every_bad_answer_is_reported_at_its_field(desk, new_form, submit, problem):
    form = await new_form(desk.id)
    body = problem(await submit(form["slug"], {"email": "nope", "subject": "x" * 201,
                                               "message": 5, "extra": 1}), 422)
    assert sorted(error_locs(body)) == [["body", "email"], ["body", "extra"],
                                        ["body", "message"], ["body", "subject"]]


async def test_body_must_be_a_json_object(client, desk, new_form, submit, problem):
    form = await new_form(desk.id)
    assert error_locs(problem(await submit(form["slug"], ["a"]), 422)) == [["body"]]
    problem(await client.post(f"/v1/public/forms/{form['slug']}/submissions", content=b"{oops",
                              headers={"Content-Type": "application/json"}), 400)


async def test_archived_desk_refuses_submissions_with_409(client, admin_headers, desk, new_form,
                                                          submit, problem):
    form = await new_form(desk.id)
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await submit(form["slug"], answers()), 409)


async def test_mapped_priority_tags_and_custom_fields_fill_the_ticket(client, admin_headers, desk,
                                                                      new_form, submit, session):
    await define_field(client, admin_headers, desk.id, "ticket", key="seats", type="integer")
    fields = contact_fields(
        urgency={"key": "urgency", "label": "Urgency", "type": "select", "maps_to": "priority",
                 "options": [{"value": "low", "label": "Whenever"},
                             {"value": "urgent", "label": "Now"}]},
        topics={"key": "topics", "label": "Topics", "type": "multiselect", "maps_to": "tags",
                "options": [{"value": "billing", "label": "Billing"},
                            {"value": "vip", "label": "VIP"}]},
        seats={"key": "seats", "label": "Seats", "type": "integer", "maps_to": "seats"})
    form = await new_form(desk.id, fields=fields)
    created = ok(await submit(form["slug"], answers(urgency="urgent", topics=["vip", "billing"],
                                                    seats=12)), 201)
    ticket = await ticket_by_number(session, desk.id, created["number"])
    assert ticket.priority == 3 and ticket.tags == ["vip", "billing"]
    assert ticket.custom_fields == {"seats": 12}


async def test_custom_field_errors_are_reported_at_the_form_field(client, admin_headers, desk,
                                                                  new_form, submit, problem):
    await define_field(client, admin_headers, desk.id, "ticket", key="seats", type="integer",
                       max=10)
    fields = contact_fields(seats={"key": "seats", "label": "Seats", "type": "integer",
                                   "maps_to": "custom_fields.seats"})
    form = await new_form(desk.id, fields=fields)
    body = problem(await submit(form["slug"], answers(seats=50)), 422)
    assert error_locs(body) == [["body", "seats"]]


async def test_unmapped_answers_are_listed_in_the_ticket_description(desk, new_form, submit,
                                                                     session):
    fields = contact_fields(
        plan={"key": "plan", "label": "Plan", "type": "select",
              "options": [{"value": "pro", "label": "Pro plan"}]},
        agree={"key": "agree", "label": "Agreed to terms", "type": "checkbox"})
    form = await new_form(desk.id, fields=fields)
    created = ok(await submit(form["slug"], answers(plan="pro", agree=True)), 201)
    ticket = await ticket_by_number(session, desk.id, created["number"])
    assert ticket.description == "Smoke everywhere\n\nPlan: Pro plan\nAgreed to terms: Yes"


async def test_left_out_optional_answers_take_their_default(client, admin_headers, desk, new_form,
                                                            submit):
    fields = contact_fields(seats={"key": "seats", "label": "Seats", "type": "integer",
                                   "default": 1})
    form = await new_form(desk.id, fields=fields)
    ok(await submit(form["slug"], answers()), 201)
    ok(await submit(form["slug"], answers(seats=None)), 201)
    listed = ok(await client.get(f"/v1/forms/{form['id']}/submissions", headers=admin_headers))
    cleared, defaulted = listed["items"]
    assert defaulted["answers"]["seats"] == 1 and "seats" not in cleared["answers"]


async def test_form_without_a_subject_field_names_tickets_after_itself(desk, new_form, submit,
                                                                        session):
    fields = [f for f in contact_fields() if f["key"] != "subject"]
    form = await new_form(desk.id, name="Call me back", fields=fields)
    created = ok(await submit(form["slug"], {"email": "bo@example.com"}), 201)
    ticket = await ticket_by_number(session, desk.id, created["number"])
    assert ticket.subject == "Call me back"


async def test_survey_form_keeps_the_answers_and_opens_no_ticket(client, admin_headers, desk,
                                                                  new_form, submit, session):
    form = await new_form(desk.id, kind="survey", fields=[
        {"key": "score", "label": "Score", "type": "integer", "min": 0, "max": 10,
         "required": True}])
    before = await session.scalar(select(Ticket.id).where(Ticket.desk_id == desk.id))
    assert ok(await submit(form["slug"], {"score": 9}), 201) == {"number": None}
    assert await session.scalar(select(Ticket.id).where(Ticket.desk_id == desk.id)) == before
    listed = ok(await client.get(f"/v1/forms/{form['id']}/submissions", headers=admin_headers))
    assert [(s["answers"], s["ticket_id"]) for s in listed["items"]] == [({"score": 9}, None)]
    stored = await session.scalar(select(FormSubmission).where(
        FormSubmission.form_id == form["id"]))
    assert stored.ip_hash and "127.0.0.1" not in stored.ip_hash


async def test_date_and_datetime_bounds_are_enforced_at_submission(desk, new_form, submit,
                                                                   problem):
    fields = contact_fields(
        day={"key": "day", "label": "Day", "type": "date", "min": "2024-01-01",
             "max": "2024-12-31"},
        at={"key": "at", "label": "At", "type": "datetime", "min": "2024-01-01T00:00:00Z"})
    form = await new_form(desk.id, fields=fields)
    ok(await submit(form["slug"], answers(day="2024-06-01", at="2024-06-01T10:00:00+02:00")), 201)
    for bad in ({"day": "2023-12-31"}, {"day": "2025-01-01"}, {"at": "2023-12-31T23:00:00Z"}):
        body = problem(await submit(form["slug"], answers(**bad)), 422)
        assert error_locs(body) == [["body", next(iter(bad))]]
