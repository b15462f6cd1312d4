"""The SMTP listener, running in the test's loop against a database of its own (these commit
for real), fed by a real `smtplib` client."""

from __future__ import annotations

import asyncio
import os
import smtplib
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import pytest_asyncio
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession
from arq.constants import job_key_prefix
from sqlalchemy import select

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.intake import smtp
from app.models import Customer, Desk, InboundMessage, Ticket
from tests.conftest import TEST_SECRET
from tests.intake.conftest import mail

pytestmark = pytest.mark.committing


@pytest.fixture
def smtp_settings(own_url, services) -> Settings:
    return Settings(environment="test", secret_key=TEST_SECRET, database_url=own_url,
                    redis_url=services.redis_url, smtp_hostname="switchboard.test",
                    redis_namespace=f"sbtest:{uuid.uuid4().hex[:12]}")


@pytest_asyncio.fixture(loop_scope="session")
async def desk(own_sessions) -> AsyncIterator[Desk]:
    """A committed desk taking mail, deleted (with what the mail made) afterwards."""
    address = f"help-{uuid.uuid4().hex[:8]}@help.example"
    async with own_sessions() as s:
        desk = Desk(name="Mail", settings={"inbound_addresses": [address]})
        s.add(desk)
        await s.commit()
    yield desk
    async with own_sessions() as s:  # tickets, customers, messages cascade
        await s.delete(await s.get_one(Desk, desk.id))
        await s.commit()


@pytest.fixture
def address(desk: Desk) -> str:
    return desk.settings["inbound_addresses"][0]


@pytest_asyncio.fixture(loop_scope="session")
async def listener(smtp_settings, own_sessions, redis) -> AsyncIterator[int]:
    """The port of a listener running in this loop; its queued jobs are dropped afterwards."""
    server = await smtp.start(smtp_settings, own_sessions, redis, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    queue = smtp_settings.queue_name
    ids = [j.job_id for j in await redis.queued_jobs(queue_name=queue)]
    await redis.delete(queue, *[job_key_prefix + i for i in ids])


def send(port: int, message: EmailMessage, *, sender: str = "ana@acme.example",
         to: list[str]) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.send_message(message, from_addr=sender, to_addrs=to)


async def tickets_for(own_sessions, desk: Desk) -> list[Ticket]:
    async with own_sessions() as s:
        return list((await s.scalars(select(Ticket).where(Ticket.desk_id == desk.id)
                                     .order_by(Ticket.id))).all())


async def test_mail_delivered_by_smtp_becomes_a_committed_ticket(listener, desk, address,
                                                                 own_sessions, redis,
                                                                 smtp_settings):
    await asyncio.to_thread(send, listener, mail(to=address), to=[address])

    [ticket] = await tickets_for(own_sessions, desk)
    assert (ticket.subject, ticket.description, ticket.source) == (
        "Printer on fire", "Smoke everywhere", "email")
    async with own_sessions() as s:
        requester = await s.get_one(Customer, ticket.requester_id)
    assert requester.email == "ana@acme.example"
    queued = await redis.queued_jobs(queue_name=smtp_settings.queue_name)
    assert ("route_ticket", {"ticket_id": ticket.id}) in [(j.function, j.kwargs) for j in queued]


async def test_unknown_recipient_is_refused_with_550(listener, desk, address, own_sessions):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await asyncio.to_thread(send, listener, mail(to="nobody@help.example"),
                                to=["nobody@help.example"])

    [(code, text)] = refused.value.recipients.values()
    assert (code, text) == (550, b"5.1.1 unknown recipient")


async def test_known_recipients_are_taken_and_unknown_ones_refused(listener, desk, address,
                                                                  own_sessions):
    refused = await asyncio.to_thread(send, listener, mail(to=address),
                                      to=[address, "nobody@help.example"])

    assert refused == {"nobody@help.example": (550, b"5.1.1 unknown recipient")}
    assert len(await tickets_for(own_sessions, desk)) == 1


async def test_bounce_with_a_null_sender_makes_no_ticket(listener, desk, address, own_sessions):
    bounce = mail("Delivery failed", sender="Mail System <mx@acme.example>", to=address)

    await asyncio.to_thread(send, listener, bounce, sender="", to=[address])

    assert await tickets_for(own_sessions, desk) == []
    async with own_sessions() as s:
        row = await s.scalar(select(InboundMessage).where(
            InboundMessage.message_id == bounce["Message-ID"].strip("<>")))
    assert (row.outcome, row.reason) == ("ignored", "empty Return-Path (a bounce)")


async def test_the_same_message_delivered_twice_makes_one_ticket(listener, desk, address,
                                                                 own_sessions):
    message = mail(to=address)
    await asyncio.to_thread(send, listener, message, to=[address])
    await asyncio.to_thread(send, listener, message, to=[address])

    assert len(await tickets_for(own_sessions, desk)) == 1


async def test_the_same_message_delivered_twice_at_once_makes_one_ticket(listener, desk, address,
                                                                         own_sessions):
    message = mail(to=address)
    await asyncio.gather(*(asyncio.to_thread(send, listener, message, to=[address])
                           for _ in range(3)))

    assert len(await tickets_for(own_sessions, desk)) == 1


async def test_message_without_a_sender_is_refused_for_good(listener, desk, address, own_sessions):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(send, listener, mail(sender=None, to=address), to=[address])

    assert refused.value.smtp_code == 550
    assert await tickets_for(own_sessions, desk) == []


async def test_database_failure_answers_451_so_the_sender_retries(smtp_settings, services,
                                                                   redis):
    engine = create_engine(services.database_url.rsplit("/", 1)[0] + "/no_such_database",
                           pool_size=1)
    handler = smtp.IntakeHandler(create_sessionmaker(engine), redis, smtp_settings)
    envelope = Envelope()
    envelope.mail_from = "ana@acme.example"
    envelope.rcpt_tos = ["help@help.example"]
    envelope.original_content = envelope.content = mail().as_bytes()
    try:
        rcpt = await handler.handle_RCPT(None, SMTPSession(None), Envelope(),
                                         "help@help.example", [])
        data = await handler.handle_DATA(None, SMTPSession(None), envelope)
    finally:
        await engine.dispose()

    assert rcpt.startswith("451 ") and data.startswith("451 ")


async def test_latin1_multipart_message_arrives_decoded(listener, desk, address, own_sessions):
    message = mail(to=address, subject="Café")
    message.set_content("Olé, señor", charset="iso-8859-1", cte="8bit")
    message.add_alternative("<p>Olé</p>", subtype="html", charset="iso-8859-1")
    raw = message.as_bytes()
    assert b"Ol\xe9, se\xf1or" in raw  # really 8-bit Latin-1 on the wire

    await asyncio.to_thread(send, listener, message, to=[address])

    [ticket] = await tickets_for(own_sessions, desk)
    assert (ticket.subject, ticket.description) == ("Café", "Olé, señor")


def test_the_envelope_sender_becomes_the_return_path():
    assert smtp.with_return_path(b"Subject: x\r\n", "ana@acme.example") == (
        b"Return-Path: <ana@acme.example>\r\nSubject: x\r\n")
    assert smtp.with_return_path(b"Subject: x\r\n", "<>").startswith(b"Return-Path: <>\r\n")


# --- the `switchboard smtp` command ---------------------------------------------------------

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))
APP_ENV = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENVIRONMENT", "DATA_DIR", "REDIS_NAMESPACE",
           "SMTP_HOSTNAME", "MAX_ATTACHMENT_BYTES", "MAX_EMAIL_BYTES"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def answers(port: int, attempts: int = 300) -> bool:
    for _ in range(attempts):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return True
    return False


async def test_switchboard_smtp_command_takes_mail_with_settings_from_the_environment(
        own_url, desk, address, own_sessions, services, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    env.update(DATABASE_URL=own_url, REDIS_URL=services.redis_url, SECRET_KEY=TEST_SECRET,
               ENVIRONMENT="test", REDIS_NAMESPACE=f"sbtest:{uuid.uuid4().hex[:12]}",
               SMTP_HOSTNAME="cli.switchboard.test")
    process = await asyncio.create_subprocess_exec(
        SWITCHBOARD, "smtp", "--host", "127.0.0.1", "--port", str(port), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        assert await answers(port), "the listener never came up"

        def deliver() -> bytes:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.send_message(mail(to=address), to_addrs=[address])
                return client.ehlo()[1]

        greeting = await asyncio.to_thread(deliver)
    finally:
        process.terminate()
        await process.wait()

    assert greeting.startswith(b"cli.switchboard.test")
    assert len(await tickets_for(own_sessions, desk)) == 1
