"""The SMTP listener (`switchboard smtp`): aiosmtpd on the running asyncio loop.

RCPT answers 550 for an address no desk owns, so the sending server bounces at once. DATA runs
`service.receive` once per accepted recipient (a recipient of a desk that already took the
message counts as a duplicate) in one transaction of its own, commits, then sends the jobs the
intake deferred, exactly as a worker job does (`core.jobs.job_session`). A bad message (no sender)
is refused for good (550); any other failure answers 451 so that the sender tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import jobs
from app.core.config import Settings
from app.core.errors import AppError
from app.core.resources import Resources
from app.intake import service

log = logging.getLogger(__name__)

IDENT = "Switchboard ESMTP"


class IntakeHandler:
    """aiosmtpd handler hooks: recipients checked against the desks, messages taken in."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis | None,
                 settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.ctx: dict[str, Any] = {"sessionmaker": sessionmaker, "redis": redis,
                                    "settings": settings}

    async def handle_RCPT(self, server: SMTP, session: SMTPSession, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        try:
            async with self.sessionmaker() as db:
                desk = await service.desk_for(db, [address], None)
        except Exception:
            log.exception("could not look up the desk of %s", address)
            return "451 4.3.0 Temporary failure; try again later"
        if desk is None:
            return "550 5.1.1 unknown recipient"
        if desk.archived_at is not None:
            return "550 5.2.1 mailbox disabled (the desk is archived)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        raw = with_return_path(raw, envelope.mail_from)
        try:
            async with jobs.job_session(self.ctx) as db:
                for recipient in envelope.rcpt_tos:
                    result = await service.receive(
                        db, raw, recipients=[recipient], scope=None,
                        max_attachment_bytes=self.settings.max_attachment_bytes)
                    log.info("email to %s: %s (ticket %s)", recipient, result.outcome,
                             result.ticket_id)
        except AppError as exc:
            if exc.status >= 500:
                log.error("email refused for now: %s", exc.detail)
                return "451 4.3.0 Temporary failure; try again later"
            return f"550 5.6.0 {_one_line(exc.detail or exc.default_title())}"
        except Exception:
            log.exception("email intake failed")
            return "451 4.3.0 Temporary failure; try again later"
        return "250 OK"


def with_return_path(raw: bytes, mail_from: str | None) -> bytes:
    """Prepend the envelope sender as `Return-Path`, as the delivering server does (RFC 5321
    §4.4); `<>` marks a bounce, which the intake ignores."""
    sender = (mail_from or "").strip().strip("<>")
    return b"Return-Path: <" + sender.encode("utf-8", "replace") + b">\r\n" + raw


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


async def start(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                redis: ArqRedis | None, host: str, port: int) -> asyncio.Server:
    """Listen on `host:port` in the running loop (port 0: any free port)."""
    handler = IntakeHandler(sessionmaker, redis, settings)
    hostname = settings.smtp_hostname or await asyncio.to_thread(socket.getfqdn)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname=hostname, ident=IDENT, enable_SMTPUTF8=True,
                     data_size_limit=settings.max_email_bytes),
        host, port)


async def serve(settings: Settings, host: str, port: int) -> None:
    """Run the listener until cancelled (Ctrl-C)."""
    resources = Resources.open(settings)
    server = await start(settings, resources.sessionmaker, resources.redis, host, port)
    log.info("SMTP listening on %s:%d", host, port)
    try:
        await server.serve_forever()
    finally:
        server.close()
        await server.wait_closed()
        await resources.close()
