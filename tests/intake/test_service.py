"""`intake.service.receive` called directly: envelope recipients, choosing the desk, messages
we sent, replies after a transfer, the record kept of every message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core import jobs
from app.core.errors import Conflict, Unprocessable
from app.core.scope import DeskScope
from app.intake import service
from app.models import Comment, Customer, Desk, InboundMessage, Ticket
from app.tickets import service as tickets
from tests.conftest import ADMIN_SCOPE
from tests.intake.conftest import ADDRESS, mail


async def test_envelope_recipients_choose_the_desk_over_the_headers(session, factory, desk):
    other = await factory.desk("Sales", settings={"inbound_addresses": ["sales@help.example"]})

    result = await service.receive(session, mail().as_bytes(), recipients=["sales@help.example"],
                                   scope=None)

    assert (result.desk_id, result.outcome) == (other.id, "created")


async def test_the_first_recipient_a_desk_owns_wins(session, factory, desk):
    await factory.desk("Sales", settings={"inbound_addresses": ["sales@help.example"]})
    message = mail(to=f"nobody@x.example, {ADDRESS}, sales@help.example")

    result = await service.receive(session, message.as_bytes(), recipients=None, scope=None)

    assert result.desk_id == desk.id


async def test_an_active_desk_is_chosen_over_an_archived_one_with_the_same_address(session,
                                                                                  factory):
    await factory.desk("Old", settings={"inbound_addresses": [ADDRESS]},
                       archived_at=datetime.now(UTC))
    active = await factory.desk("New", settings={"inbound_addresses": [ADDRESS]})

    result = await service.receive(session, mail().as_bytes(), recipients=None, scope=None)

    assert result.desk_id == active.id


async def test_only_an_archived_desk_refuses(session, factory):
    await factory.desk("Old", settings={"inbound_addresses": [ADDRESS]},
                       archived_at=datetime.now(UTC))
    with pytest.raises(Conflict):
        await service.receive(session, mail().as_bytes(), recipients=None, scope=None)


async def test_scope_limits_the_desks_mail_may_reach(session, factory, desk):
    with pytest.raises(Unprocessable):
        await service.receive(session, mail().as_bytes(), recipients=None, scope=DeskScope(
            ADMIN_SCOPE.principal, frozenset({"inbound"}), frozenset({desk.id + 1})))


async def test_every_message_is_recorded_with_its_untrimmed_text(session, desk):
    message = mail("New words\n\n> old words")
    result = await service.receive(session, message.as_bytes(), recipients=None, scope=None)
    ignored = mail(headers={"Precedence": "bulk"})
    await service.receive(session, ignored.as_bytes(), recipients=None, scope=None)

    rows = (await session.scalars(select(InboundMessage).where(InboundMessage.desk_id == desk.id)
                                  .order_by(InboundMessage.id))).all()

    assert [(r.outcome, r.ticket_id, r.reason) for r in rows] == [
        ("created", result.ticket_id, None), ("ignored", None, "Precedence: bulk")]
    assert rows[0].body == "New words\n\n> old words"
    assert (rows[0].from_address, rows[0].subject) == ("ana@acme.example", "Printer on fire")
    assert rows[0].message_id == message["Message-ID"].strip("<>")


async def test_reply_to_a_message_we_sent_threads_by_header(session, desk):
    created = await service.receive(session, mail().as_bytes(), recipients=None, scope=None)
    ticket = await session.get_one(Ticket, created.ticket_id)
    await service.remember_sent(session, ticket, "outgoing-1@switchboard.example")

    reply = mail("Thanks", headers={"In-Reply-To": "<outgoing-1@switchboard.example>"})
    result = await service.receive(session, reply.as_bytes(), recipients=None, scope=None)

    assert (result.outcome, result.ticket_id) == ("threaded", ticket.id)


async def test_reply_after_a_transfer_lands_on_the_ticket_in_its_new_desk(session, factory,
                                                                         desk):
    first = mail()
    created = await service.receive(session, first.as_bytes(), recipients=None, scope=None)
    target = await factory.desk("Elsewhere")
    await tickets.transfer(session, ADMIN_SCOPE, created.ticket_id, target.id)

    reply = mail("Again", headers={"In-Reply-To": first["Message-ID"]})
    result = await service.receive(session, reply.as_bytes(), recipients=None, scope=None)

    comment = await session.get_one(Comment, result.comment_id)
    author = await session.get_one(Customer, comment.author_id)
    assert (result.ticket_id, comment.desk_id, author.desk_id) == (
        created.ticket_id, target.id, target.id)


async def test_the_same_message_to_two_desks_makes_a_ticket_in_each(session, factory, desk):
    other = await factory.desk("Sales", settings={"inbound_addresses": ["sales@help.example"]})
    raw = mail(to=f"{ADDRESS}, sales@help.example").as_bytes()

    first = await service.receive(session, raw, recipients=[ADDRESS], scope=None)
    second = await service.receive(session, raw, recipients=["sales@help.example"], scope=None)
    again = await service.receive(session, raw, recipients=[ADDRESS], scope=None)

    assert (first.outcome, second.outcome, again.outcome) == ("created", "created", "duplicate")
    assert (first.desk_id, second.desk_id) == (desk.id, other.id)
    assert again.ticket_id == first.ticket_id


async def test_ticket_created_from_email_is_queued_for_routing(session, desk):
    result = await service.receive(session, mail().as_bytes(), recipients=None, scope=None)

    assert ("route_ticket", {"ticket_id": result.ticket_id}) in [
        (j.function, j.kwargs) for j in jobs.take(session)]


async def test_ignored_mail_creates_no_customer(session, desk):
    await service.receive(session, mail(headers={"Auto-Submitted": "auto-replied"}).as_bytes(),
                          recipients=None, scope=None)
    assert await session.scalar(select(Customer).where(Customer.desk_id == desk.id)) is None


async def test_desk_for_matches_addresses_case_insensitively(session, desk):
    found = await service.desk_for(session, ["SUPPORT@Help.Example"], None)
    assert isinstance(found, Desk) and found.id == desk.id


async def test_mail_from_the_desks_own_address_is_ignored(session, desk):
    message = mail(sender=f"Support <{ADDRESS.upper()}>")
    result = await service.receive(session, message.as_bytes(), recipients=None, scope=None)
    assert (result.outcome, result.ticket_id, result.reason) == (
        "ignored", None, "sent from the desk's own address")


async def test_a_reply_in_the_same_transaction_finds_the_new_ticket(session, desk):
    first = mail()
    created = await service.receive(session, first.as_bytes(), recipients=None, scope=None)
    reply = mail("Again", headers={"In-Reply-To": first["Message-ID"]})

    result = await service.receive(session, reply.as_bytes(), recipients=None, scope=None)

    assert (result.outcome, result.ticket_id) == ("threaded", created.ticket_id)
