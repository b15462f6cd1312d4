"""`POST /v1/inbound/email` through HTTP: tickets from raw messages, threading, dedupe, loop
safety, the desk's addresses and the token's scope."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from tests.conftest import bearer
from tests.customers.helpers import ok
from tests.intake.conftest import ADDRESS, mail, reply_to


async def ticket(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int) -> dict[str, Any]:
    return ok(await client.get(f"/v1/tickets/{ticket_id}", headers=headers))


async def comments(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int,
                   **params: Any) -> list[dict[str, Any]]:
    return ok(await client.get(f"/v1/tickets/{ticket_id}/comments", headers=headers,
                               params=params))["items"]


async def desk_tickets(client: httpx.AsyncClient, headers: dict[str, str],
                       desk_id: int) -> list[dict[str, Any]]:
    return ok(await client.get("/v1/tickets", headers=headers,
                               params={"desk_id": desk_id}))["items"]


async def created(post_email, message: EmailMessage | bytes) -> int:
    response = await post_email(message)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


# --- new tickets ----------------------------------------------------------------------------

async def test_message_creates_an_email_ticket_requested_by_the_sender(client, post_email,
                                                                      admin_headers, desk):
    response = await post_email(mail())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"ticket_id": body["ticket_id"], "created": True}
    assert response.headers["Location"] == f"/v1/tickets/{body['ticket_id']}"
    assert response.headers["X-Switchboard-Outcome"] == "created"
    found = await ticket(client, admin_headers, body["ticket_id"])
    assert (found["desk_id"], found["source"], found["subject"], found["description"]) == (
        desk.id, "email", "Printer on fire", "Smoke everywhere")
    requester = ok(await client.get(f"/v1/customers/{found['requester_id']}",
                                    headers=admin_headers))
    assert (requester["email"], requester["name"]) == ("ana@acme.example", "Ana Lima")


async def test_text_plain_content_type_is_accepted_too(post_email):
    response = await post_email(mail(), content_type="text/plain; charset=utf-8")
    assert response.status_code == 201, response.text


async def test_multipart_alternative_takes_the_plain_part(client, post_email, admin_headers):
    message = mail("Plain words")
    message.add_alternative("<p>HTML <b>words</b></p>", subtype="html")

    found = await ticket(client, admin_headers, await created(post_email, message))

    assert found["description"] == "Plain words"


async def test_html_only_message_becomes_text(client, post_email, admin_headers):
    message = mail()
    message.set_content("<h1>Help</h1><p>The <b>printer</b> is on fire</p>", subtype="html")

    found = await ticket(client, admin_headers, await created(post_email, message))

    assert "<" not in found["description"]
    assert "Help" in found["description"] and "**printer** is on fire" in found["description"]


async def test_latin1_body_and_encoded_subject_are_decoded(client, post_email, admin_headers):
    raw = ("From: =?iso-8859-1?q?Jos=E9_P=E9rez?= <jose@acme.example>\r\n"
           f"To: {ADDRESS}\r\nSubject: =?iso-8859-1?q?Caf=E9_fr=EDo?=\r\n"
           "Message-ID: <latin1@acme.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "Olé, señor\r\n".encode("latin-1")

    found = await ticket(client, admin_headers, await created(post_email, raw))

    assert (found["subject"], found["description"]) == ("Café frío", "Olé, señor")
    requester = ok(await client.get(f"/v1/customers/{found['requester_id']}",
                                    headers=admin_headers))
    assert requester["name"] == "José Pérez"


async def test_unknown_charset_and_broken_bytes_still_make_a_ticket(client, post_email,
                                                                   admin_headers):
    raw = (f"From: ana@acme.example\r\nTo: {ADDRESS}\r\nSubject: odd\r\n"
           "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n").encode() + (
        b"caf\xe9 \xff\x00 ok\r\n")

    found = await ticket(client, admin_headers, await created(post_email, raw))

    assert found["description"].startswith("caf") and found["description"].endswith(" ok")
    assert "\x00" not in found["description"]


async def test_missing_subject_gets_a_placeholder(client, post_email, admin_headers):
    found = await ticket(client, admin_headers, await created(post_email, mail(subject=None)))
    assert found["subject"] == "(no subject)"


async def test_delivered_to_names_the_desk_when_to_is_a_list(post_email):
    message = mail(to="everyone@lists.example", headers={"Delivered-To": ADDRESS})
    assert (await post_email(message)).status_code == 201


# --- threading ------------------------------------------------------------------------------

async def test_reply_by_in_reply_to_becomes_a_public_customer_comment(client, post_email,
                                                                     admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    reply = mail("Still smoking\n\n> Smoke everywhere", subject="Re: Printer on fire",
                 headers={"In-Reply-To": first["Message-ID"]})

    response = await post_email(reply)

    assert response.status_code == 200, response.text
    assert response.json() == {"ticket_id": ticket_id, "created": False}
    assert response.headers["X-Switchboard-Outcome"] == "threaded"
    found = await ticket(client, admin_headers, ticket_id)
    [comment] = await comments(client, admin_headers, ticket_id)
    assert comment["body"] == "Still smoking"  # the quoted part trimmed
    assert comment["public"] is True
    assert comment["author"] == {"kind": "customer", "id": found["requester_id"]}


async def test_reply_by_references_threads_onto_the_ticket(client, post_email, admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    reply = mail("Any news?", subject="Re: something else",
                 headers={"References": f"<unrelated@x.example> {first['Message-ID']}"})

    response = await post_email(reply)

    assert response.json() == {"ticket_id": ticket_id, "created": False}
    assert [c["body"] for c in await comments(client, admin_headers, ticket_id)] == ["Any news?"]


async def test_reply_to_a_reply_threads_onto_the_same_ticket(client, post_email, admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    second = reply_to(first, "Second")
    assert (await post_email(second)).json()["ticket_id"] == ticket_id

    third = reply_to(second, "Third")

    assert (await post_email(third)).json() == {"ticket_id": ticket_id, "created": False}
    bodies = [c["body"] for c in await comments(client, admin_headers, ticket_id)]
    assert bodies == ["Second", "Third"]


async def test_subject_token_from_the_requester_threads(client, post_email, admin_headers):
    ticket_id = await created(post_email, mail())
    number = (await ticket(client, admin_headers, ticket_id))["number"]

    response = await post_email(mail("More smoke", subject=f"Re: [#{number}] Printer"))

    assert response.json() == {"ticket_id": ticket_id, "created": False}


async def test_subject_token_from_a_stranger_starts_a_new_ticket(client, post_email,
                                                                admin_headers):
    ticket_id = await created(post_email, mail())
    number = (await ticket(client, admin_headers, ticket_id))["number"]

    response = await post_email(mail("Me too", subject=f"[#{number}] Printer",
                                     sender="eve@elsewhere.example"))

    assert response.status_code == 201
    assert response.json()["ticket_id"] != ticket_id
    assert await comments(client, admin_headers, ticket_id) == []


@pytest.mark.parametrize(("shared", "threads"), [(True, True), (False, False)])
async def test_subject_token_from_a_colleague_threads_when_the_organization_shares_tickets(
        client, post_email, admin_headers, desk, shared, threads):
    ok(await client.post("/v1/organizations", headers=admin_headers, json={
        "desk_id": desk.id, "name": "Acme", "domains": ["acme.example"],
        "shared_tickets": shared}), 201)
    ticket_id = await created(post_email, mail())
    number = (await ticket(client, admin_headers, ticket_id))["number"]
    await created(post_email, mail("Hi", subject="Colleague", sender="bob@acme.example"))

    response = await post_email(mail("Same here", subject=f"[#{number}]",
                                     sender="bob@acme.example"))

    assert (response.json()["ticket_id"] == ticket_id) is threads


@pytest.mark.parametrize("status", ["pending", "solved"])
async def test_customer_reply_reopens_a_waiting_ticket(client, post_email, admin_headers, status):
    first = mail()
    ticket_id = await created(post_email, first)
    ok(await client.patch(f"/v1/tickets/{ticket_id}", headers=admin_headers,
                          json={"status": status}))

    await post_email(reply_to(first))

    assert (await ticket(client, admin_headers, ticket_id))["status"] == "open"


async def test_customer_reply_leaves_an_on_hold_ticket_on_hold(client, post_email, admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    ok(await client.patch(f"/v1/tickets/{ticket_id}", headers=admin_headers,
                          json={"status": "on_hold"}))

    await post_email(reply_to(first))

    assert (await ticket(client, admin_headers, ticket_id))["status"] == "on_hold"


async def test_reply_to_a_closed_ticket_starts_a_follow_up_naming_it(client, post_email,
                                                                    admin_headers):
    first = mail()
    closed_id = await created(post_email, first)
    ok(await client.patch(f"/v1/tickets/{closed_id}", headers=admin_headers,
                          json={"status": "closed"}))
    closed = await ticket(client, admin_headers, closed_id)

    response = await post_email(reply_to(first))

    assert response.status_code == 201
    follow_up = response.json()["ticket_id"]
    [note] = await comments(client, admin_headers, follow_up)
    assert note["public"] is False
    assert f"#{closed['number']}" in note["body"] and f"id {closed_id}" in note["body"]
    assert await comments(client, admin_headers, closed_id) == []


# --- dedupe ---------------------------------------------------------------------------------

async def test_same_message_id_twice_makes_one_ticket(client, post_email, admin_headers, desk):
    message = mail()
    ticket_id = await created(post_email, message)

    again = await post_email(message)

    assert again.status_code == 200
    assert again.json() == {"ticket_id": ticket_id, "created": False}
    assert again.headers["X-Switchboard-Outcome"] == "duplicate"
    assert len(await desk_tickets(client, admin_headers, desk.id)) == 1


async def test_repeated_reply_makes_one_comment(client, post_email, admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    reply = reply_to(first)

    await post_email(reply)
    again = await post_email(reply)

    assert again.json() == {"ticket_id": ticket_id, "created": False}
    assert len(await comments(client, admin_headers, ticket_id)) == 1


async def test_message_without_message_id_is_deduplicated_by_its_bytes(client, post_email,
                                                                      admin_headers, desk):
    message = mail(message_id=None)
    ticket_id = await created(post_email, message)

    assert (await post_email(message)).json() == {"ticket_id": ticket_id, "created": False}
    assert (await post_email(mail("Other words", message_id=None))).status_code == 201
    assert len(await desk_tickets(client, admin_headers, desk.id)) == 2


# --- loop safety ----------------------------------------------------------------------------

AUTOMATED = {
    "auto-submitted": {"headers": {"Auto-Submitted": "auto-replied"}},
    "auto-generated": {"headers": {"Auto-Submitted": "auto-generated"}},
    "precedence-bulk": {"headers": {"Precedence": "bulk"}},
    "precedence-junk": {"headers": {"Precedence": "junk"}},
    "precedence-list": {"headers": {"Precedence": "list"}},
    "auto-response-suppress": {"headers": {"X-Auto-Response-Suppress": "All"}},
    "mailer-daemon": {"sender": "Mail Delivery System <MAILER-DAEMON@mx.acme.example>"},
    "postmaster": {"sender": "postmaster@acme.example"},
    "empty-return-path": {"headers": {"Return-Path": "<>"}},
    "list-id": {"headers": {"List-Id": "<news.lists.acme.example>"}},
    "list-unsubscribe": {"headers": {"List-Unsubscribe": "<https://acme.example/leave>"}},
    "x-autogenerated": {"headers": {"X-Autogenerated": "Reply"}},
    "x-precedence-bulk": {"headers": {"X-Precedence": "bulk"}},
    "x-loop-desk-address": {"headers": {"X-Loop": ADDRESS.upper()}},
    "automatic-reply-subject": {"subject": "Automatic reply: Printer on fire"},
    "out-of-office-subject": {"subject": "Out of Office: Printer on fire"},
    "abwesenheitsnotiz-subject": {"subject": "Abwesenheitsnotiz: Drucker brennt"},
    "reponse-automatique-subject": {"subject": "Réponse automatique : Imprimante"},
}


@pytest.mark.parametrize("kind", AUTOMATED)
async def test_machine_written_mail_makes_no_ticket(client, post_email, admin_headers, desk, kind):
    response = await post_email(mail(**AUTOMATED[kind]))

    assert response.status_code == 200, response.text
    assert response.json() == {"ticket_id": None, "created": False}
    assert response.headers["X-Switchboard-Outcome"] == "ignored"
    assert await desk_tickets(client, admin_headers, desk.id) == []


async def test_delivery_report_makes_no_ticket(client, post_email, admin_headers, desk):
    report = mail("Delivery failed", sender="bounces@mx.acme.example")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")

    response = await post_email(report)

    assert response.json() == {"ticket_id": None, "created": False}
    assert await desk_tickets(client, admin_headers, desk.id) == []


async def test_auto_reply_to_a_ticket_adds_no_comment(client, post_email, admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)

    response = await post_email(reply_to(first, "I am out of office",
                                         headers={"Auto-Submitted": "auto-replied"}))

    assert response.json() == {"ticket_id": None, "created": False}
    assert await comments(client, admin_headers, ticket_id) == []


async def test_automatic_reply_subject_to_a_ticket_adds_no_comment(client, post_email,
                                                                  admin_headers):
    first = mail()
    ticket_id = await created(post_email, first)
    auto = reply_to(first, "I am away until Monday")
    auto.replace_header("Subject", "Automatic reply: Printer on fire")

    response = await post_email(auto)

    assert response.json() == {"ticket_id": None, "created": False}
    assert response.headers["X-Switchboard-Outcome"] == "ignored"
    assert await comments(client, admin_headers, ticket_id) == []


async def test_x_loop_naming_another_address_still_makes_a_ticket(post_email):
    response = await post_email(mail(headers={"X-Loop": "helpdesk@elsewhere.example"}))
    assert response.status_code == 201, response.text


async def test_auto_submitted_no_is_a_person_writing(post_email):
    response = await post_email(mail(headers={"Auto-Submitted": "no"}))
    assert response.status_code == 201


# --- refusals -------------------------------------------------------------------------------

async def test_unknown_recipient_is_422(post_email, problem):
    body = problem(await post_email(mail(to="nobody@help.example")), 422)
    assert body["errors"][0]["loc"] == ["body", "recipients"]


async def test_token_without_inbound_scope_is_403(post_email, factory, problem):
    headers = bearer(await factory.token(["tickets:write"]))
    problem(await post_email(mail(), headers=headers), 403)


async def test_desk_outside_the_tokens_desks_is_an_unknown_recipient(post_email, factory,
                                                                     problem):
    other = await factory.desk("Other")
    headers = bearer(await factory.token(["inbound"], desk_ids=[other.id]))

    problem(await post_email(mail(), headers=headers), 422)


async def test_archived_desk_refuses_mail_with_409(client, post_email, admin_headers, desk,
                                                   problem):
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await post_email(mail()), 409)


async def test_message_without_a_sender_is_422(post_email, problem):
    body = problem(await post_email(mail(sender=None)), 422)
    assert body["errors"][0]["loc"] == ["body", "from"]


async def test_empty_body_is_422(post_email, problem):
    body = problem(await post_email(b"  \r\n"), 422)
    assert body["errors"][0]["loc"] == ["body"]


async def test_json_body_is_415(post_email, problem):
    problem(await post_email(b'{"subject": "x"}', content_type="application/json"), 415)


async def test_a_large_message_is_not_held_to_the_default_body_limit(client, post_email,
                                                                    admin_headers):
    message = mail()
    message.add_attachment(b"x" * (2 * 1024 * 1024), maintype="application",
                           subtype="octet-stream", filename="big.bin")

    ticket_id = await created(post_email, message)

    [attachment] = ok(await client.get(f"/v1/tickets/{ticket_id}/attachments",
                                       headers=admin_headers))["items"]
    assert attachment["size"] == 2 * 1024 * 1024
