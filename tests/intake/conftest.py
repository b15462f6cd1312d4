"""Shared by the email tests: a desk taking mail, a token with the `inbound` scope, messages
built as raw RFC 822 bytes and posted to the webhook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.models import Desk
from tests.conftest import bearer

ADDRESS = "support@help.example"
SENDER = "Ana Lima <ana@acme.example>"

PostEmail = Callable[..., Awaitable[httpx.Response]]


def mail(body: str = "Smoke everywhere", *, subject: str | None = "Printer on fire",
         sender: str | None = SENDER, to: str = ADDRESS, message_id: str | None = "new",
         headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain text message; `message_id="new"` makes a fresh one, None leaves it out."""
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"] = to
    if subject is not None:
        msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = make_msgid(domain="acme.example") if message_id == "new" else message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def reply_to(original: EmailMessage, body: str = "Still smoking", **kw: Any) -> EmailMessage:
    """A reply quoting `original`, threaded by In-Reply-To (and References)."""
    quoted = "\n".join("> " + line for line in original.get_content().splitlines())
    text = f"{body}\n\nOn Mon, 1 Jan 2024 at 10:00, Support <{ADDRESS}> wrote:\n{quoted}\n"
    headers = {"In-Reply-To": original["Message-ID"], "References": original["Message-ID"]}
    headers.update(kw.pop("headers", {}))
    return mail(text, subject="Re: " + str(original["Subject"]), headers=headers, **kw)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory) -> Desk:
    return await factory.desk("Help", settings={"inbound_addresses": [ADDRESS]})


@pytest_asyncio.fixture(loop_scope="session")
async def inbound_headers(factory, desk) -> dict[str, str]:
    return bearer(await factory.token(["inbound"]))


@pytest.fixture
def post_email(client: httpx.AsyncClient, inbound_headers: dict[str, str]) -> PostEmail:
    """`await post_email(message or raw bytes, headers=…, content_type=…)`."""

    async def post(message: EmailMessage | bytes, *, headers: dict[str, str] | None = None,
                   content_type: str = "message/rfc822") -> httpx.Response:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        return await client.post("/v1/inbound/email", content=raw, headers={
            **(headers or inbound_headers), "Content-Type": content_type})

    return post
