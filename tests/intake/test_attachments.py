"""Attachments that email brings: kept up to MAX_ATTACHMENT_BYTES, larger ones named in an
internal note; listed per ticket and downloaded within the caller's desks."""

from __future__ import annotations

from email.message import EmailMessage

from tests.conftest import bearer
from tests.customers.helpers import ok
from tests.intake.conftest import mail, reply_to


def with_files(message: EmailMessage, *files: tuple[str, bytes]) -> EmailMessage:
    for name, content in files:
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message


async def test_attachments_are_listed_and_downloaded(client, post_email, admin_headers):
    response = await post_email(with_files(mail(), ("invoice.pdf", b"%PDF-1 one"),
                                           ("Résumé.pdf", b"%PDF-1 two")))
    ticket_id = response.json()["ticket_id"]

    listed = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=admin_headers))

    assert [(a["filename"], a["content_type"], a["size"], a["comment_id"], a["ticket_id"])
            for a in listed["items"]] == [
        ("invoice.pdf", "application/pdf", 10, None, ticket_id),
        ("Résumé.pdf", "application/pdf", 10, None, ticket_id)]
    download = await client.get(f"/v1/attachments/{listed['items'][1]['id']}",
                                headers=admin_headers)
    assert download.status_code == 200
    assert download.content == b"%PDF-1 two"
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9.pdf" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_attachments_of_a_reply_belong_to_its_comment(client, post_email, admin_headers):
    first = mail()
    ticket_id = (await post_email(first)).json()["ticket_id"]

    await post_email(with_files(reply_to(first), ("photo.pdf", b"smoke")))

    [comment] = ok(await client.get(f"/v1/tickets/{ticket_id}/comments",
                                    headers=admin_headers))["items"]
    [attachment] = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments",
                                       headers=admin_headers))["items"]
    assert attachment["comment_id"] == comment["id"]


async def test_attachments_over_the_limit_are_refused_with_an_internal_note(
        client, post_email, admin_headers, settings):
    settings.max_attachment_bytes = 10
    message = with_files(mail(), ("small.pdf", b"0123456789"), ("big.pdf", b"0123456789A"))

    ticket_id = (await post_email(message)).json()["ticket_id"]

    listed = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=admin_headers))
    assert [a["filename"] for a in listed["items"]] == ["small.pdf"]
    [note] = ok(await client.get(f"/v1/tickets/{ticket_id}/comments",
                                 headers=admin_headers))["items"]
    assert note["public"] is False
    assert "big.pdf (11 bytes)" in note["body"] and "small.pdf" not in note["body"]


async def test_attachments_outside_the_callers_desks_are_404(client, post_email, admin_headers,
                                                             factory, problem):
    ticket_id = (await post_email(with_files(mail(), ("a.pdf", b"x")))).json()["ticket_id"]
    [attachment] = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments",
                                       headers=admin_headers))["items"]
    other = await factory.desk("Other")
    outsider = bearer(await factory.token(["tickets:read"], desk_ids=[other.id]))

    problem(await client.get(f"/v1/attachments/{attachment['id']}", headers=outsider), 404)
    problem(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=outsider), 404)
    problem(await client.get("/v1/attachments/999999", headers=admin_headers), 404)


async def test_attachments_need_tickets_read(client, post_email, factory, problem):
    ticket_id = (await post_email(mail())).json()["ticket_id"]
    headers = bearer(await factory.token(["inbound"]))
    problem(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=headers), 403)


async def test_attachment_list_pages_with_a_cursor(client, post_email, admin_headers):
    files = [(f"f{i}.pdf", b"x") for i in range(3)]
    ticket_id = (await post_email(with_files(mail(), *files))).json()["ticket_id"]

    first = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=admin_headers,
                                params={"limit": 2}))
    rest = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments", headers=admin_headers,
                               params={"limit": 2, "cursor": first["next_cursor"]}))

    assert [a["filename"] for a in first["items"] + rest["items"]] == ["f0.pdf", "f1.pdf", "f2.pdf"]
    assert rest["next_cursor"] is None
