"""Sample envelopes per event type, shaped exactly like what a delivery carries."""

from __future__ import annotations

import pytest
import pytest_asyncio
from sqlalchemy import select

from app.core import outbox
from app.events.schemas import EventRead
from app.models import Event
from app.webhooks import delivery, samples
from app.webhooks.schemas import EVENT_TYPES
from tests.customers.helpers import create_customer, create_org, ok, token_headers
from tests.tickets.conftest import ticket_body
from tests.webhooks.test_router import subscribe

ENVELOPE = {"id", "type", "desk_id", "created_at", "actor", "data", "changes"}
API_TYPES = ("ticket.created ticket.updated ticket.status_changed ticket.assigned "
             "ticket.transferred ticket.routed comment.created customer.created "
             "customer.transferred organization.created organization.transferred "
             "form.submitted").split()


def test_every_event_type_of_the_contract_has_a_sample():
    assert set(API_TYPES) <= set(samples.samples())
    assert set(samples.samples()) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
async def test_sample_is_an_envelope_of_its_type(client, admin_headers, event_type):
    body = ok(await client.get(f"/v1/webhooks/samples/{event_type}", headers=admin_headers))
    assert set(body) == ENVELOPE
    assert body["type"] == event_type
    assert EventRead.model_validate(body).model_dump(mode="json") == body
    assert body["data"]


async def test_update_samples_carry_changes_and_created_ones_do_not(client, admin_headers):
    async def sample(event_type: str) -> dict:
        return ok(await client.get(f"/v1/webhooks/samples/{event_type}", headers=admin_headers))

    assert (await sample("ticket.status_changed"))["changes"] == {"status": ["new", "open"]}
    assert (await sample("ticket.created"))["changes"] is None


async def test_unknown_event_type_is_404(client, admin_headers, problem):
    body = problem(await client.get("/v1/webhooks/samples/ticket.exploded",
                                    headers=admin_headers), 404)
    assert "ticket.created" in body["detail"]


async def test_samples_need_webhooks_read(client, factory, problem):
    headers = await token_headers(factory, ["tickets:read"])
    problem(await client.get("/v1/webhooks/samples/ticket.created", headers=headers), 403)
    reader = await token_headers(factory, ["webhooks:read"])
    ok(await client.get("/v1/webhooks/samples/ticket.created", headers=reader))


def test_a_sample_cannot_be_changed_through_the_copy_it_hands_out():
    first = samples.sample("ticket.created")
    first["data"]["subject"] = "changed"
    assert samples.sample("ticket.created")["data"]["subject"] != "changed"


# The samples' data has exactly the fields the API answers with (and a real event carries).

@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory) -> int:
    return (await factory.desk("Support")).id


async def test_ticket_sample_has_the_fields_of_a_real_ticket(client, admin_headers, desk):
    real = ok(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(desk)),
              201)
    for event_type in ("ticket.created", "ticket.updated", "ticket.routed"):
        assert set(samples.sample(event_type)["data"]) == set(real), event_type


async def test_comment_sample_has_the_fields_of_a_real_comment(client, admin_headers, desk):
    ticket = ok(await client.post("/v1/tickets", headers=admin_headers, json=ticket_body(desk)),
                201)
    real = ok(await client.post(f"/v1/tickets/{ticket['id']}/comments", headers=admin_headers,
                                json={"body": "On it."}), 201)
    assert set(samples.sample("comment.created")["data"]) == set(real)


async def test_customer_and_organization_samples_have_the_real_fields(client, admin_headers,
                                                                      desk):
    customer = await create_customer(client, admin_headers, desk, "sam@acme.example")
    organization = await create_org(client, admin_headers, desk, domains=["acme.example"])
    assert set(samples.sample("customer.created")["data"]) == set(customer)
    assert set(samples.sample("organization.created")["data"]) == set(organization)


async def test_webhook_disabled_sample_has_the_fields_of_the_real_event(client, admin_headers,
                                                                        session):
    hook = ok(await subscribe(client, admin_headers), 201)
    assert await delivery.disable(session, hook["id"], "failing for days")
    await outbox.write_pending(session)
    real = await session.scalar(select(Event).where(Event.type == "webhook.disabled",
                                                    Event.subject_id == hook["id"]))
    sample = samples.sample("webhook.disabled")
    assert set(sample["data"]) == set(real.data)
    assert sample["desk_id"] is real.desk_id is None
