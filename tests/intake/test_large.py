"""A large message through `POST /v1/inbound/email`: its attachment arrives intact, and taking
it costs a bounded amount of memory, not several copies of the message (the body is spooled
to a temporary file, parts are decoded into files, attachments are copied to the database a
chunk at a time)."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator

import httpx

from tests.customers.helpers import ok
from tests.intake.conftest import mail

MiB = 1024 * 1024
CHUNK = 64 * 1024  # what a server hands the application at a time


def large_message(size: int) -> tuple[bytes, bytes]:
    """(the raw message, its attachment's content): `size` random bytes, base64-encoded."""
    content = random.Random(14).randbytes(size)
    message = mail("The logs are attached.")
    message.add_attachment(content, maintype="application", subtype="octet-stream",
                           filename="printer.log.gz")
    return message.as_bytes(), content


async def chunks(raw: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), CHUNK):
        yield raw[start:start + CHUNK]


async def test_large_message_keeps_its_attachment_in_bounded_memory(
        client: httpx.AsyncClient, inbound_headers, admin_headers):
    raw, content = large_message(8 * MiB)  # about 11 MiB of message
    headers = {**inbound_headers, "Content-Type": "message/rfc822"}

    tracemalloc.start()
    try:
        response = await client.post("/v1/inbound/email", content=chunks(raw), headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 201, response.text
    # Measured: about 4 MiB (less than half the message); the email package's parse of the
    # message in memory peaked at about 9 times its size (96 MiB).
    assert peak < len(raw), f"peak {peak / MiB:.1f} MiB for {len(raw) / MiB:.1f} MiB"
    ticket_id = response.json()["ticket_id"]
    [attachment] = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments",
                                       headers=admin_headers))["items"]
    assert (attachment["filename"], attachment["size"]) == ("printer.log.gz", len(content))
    download = await client.get(f"/v1/attachments/{attachment['id']}", headers=admin_headers)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(content).digest()
