"""Text that email brings is stored as plain text, the same normalisation forms apply: no
markup from an HTML body (entity-encoded included), a subject, a sender name or a file name
reaches a ticket, a comment, a customer or an attachment. File names lose paths and control
characters."""

from __future__ import annotations

from typing import Any

import httpx

from tests.customers.helpers import ok
from tests.intake.conftest import mail, reply_to
from tests.intake.test_router import comments, created, ticket


async def requester(client: httpx.AsyncClient, headers: dict[str, str],
                    found: dict[str, Any]) -> dict[str, Any]:
    return ok(await client.get(f"/v1/customers/{found['requester_id']}", headers=headers))


async def test_entity_encoded_markup_in_an_html_body_is_not_stored_live(client, post_email,
                                                                       admin_headers):
    message = mail()
    message.set_content("<p>Hello &lt;script&gt;alert(1)&lt;/script&gt; there, "
                        "&lt;img src=x onerror=alert(2)&gt; and <b>bold</b> "
                        "&amp; a &lt; b</p>", subtype="html")

    found = await ticket(client, admin_headers, await created(post_email, message))

    assert "<" not in found["description"].replace("a < b", "")
    assert "alert(1)" not in found["description"] and "onerror" not in found["description"]
    assert found["description"].startswith("Hello")
    assert "a < b" in found["description"]


async def test_markup_in_a_plain_text_body_is_removed_and_addresses_kept(client, post_email,
                                                                         admin_headers):
    message = mail("<script>alert(1)</script>Printer on fire, mail me at <ana@acme.example> "
                   "or see <https://acme.example/printer>\n<iframe src=//evil.example></iframe>")

    found = await ticket(client, admin_headers, await created(post_email, message))

    assert found["description"] == ("Printer on fire, mail me at ana@acme.example or see "
                                    "https://acme.example/printer")


async def test_subject_and_sender_name_lose_their_markup(client, post_email, admin_headers):
    message = mail(subject="<img src=x onerror=alert(1)>Printer &lt;b&gt;on fire",
                   sender='"<b>Ana</b> <script>x</script>Lima" <ana@acme.example>')

    found = await ticket(client, admin_headers, await created(post_email, message))

    assert found["subject"] == "Printer on fire"
    assert (await requester(client, admin_headers, found))["name"] == "Ana Lima"


async def test_a_reply_with_markup_becomes_a_plain_text_comment(client, post_email,
                                                               admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    answer = reply_to(first)
    answer.set_content("<div>Still &lt;script&gt;alert(1)&lt;/script&gt;smoking</div>",
                       subtype="html")

    response = await post_email(answer)

    assert response.status_code == 200, response.text
    [comment] = await comments(client, admin_headers, ticket_id)
    assert comment["body"] == "Still smoking"


async def test_attachment_names_lose_markup_paths_and_control_characters(client, post_email,
                                                                        admin_headers):
    message = mail("files")
    names = ["<img src=x onerror=alert(1)>photo.png", "..\\..\\boot.ini",
             "report\u202egpj.exe", "bell\x07and\ttab.txt", "/etc/passwd", "&lt;b&gt;bold.txt",
             "crlf.txt"]
    for name in names:
        message.add_attachment(b"x", maintype="application", subtype="octet-stream",
                               filename=name)

    raw = message.as_bytes().replace(  # RFC 2231 lets a name encode a line break
        b'filename="crlf.txt"', b"filename*=utf-8''two%0D%0Alines.txt")

    ticket_id = await created(post_email, raw)

    listed = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments",
                                 headers=admin_headers))["items"]
    assert [a["filename"] for a in listed] == [
        "photo.png", "boot.ini", "reportgpj.exe", "bellandtab.txt", "passwd", "bold.txt",
        "twolines.txt"]
