"""Pure MIME parsing: bodies, charsets, headers, quoted replies, attachments, loop safety."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from app.intake.parse import html_to_text, parse, trim_reply
from tests.intake.conftest import ADDRESS, mail


def raw_text(body: bytes, charset: str, *, subject: str = "Hello", extra: str = "") -> bytes:
    head = (f"From: ana@acme.example\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode() + body


# --- charsets and headers -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "charset"), [
    ("Olé, señor", "iso-8859-1"),
    ("“Smart quotes” – 50 €", "windows-1252"),
    ("プリンターが燃えています", "shift_jis"),
    ("Привет", "koi8-r"),
    ("plain utf-8 ✓", "utf-8"),
])
def test_body_is_decoded_from_its_declared_charset(text, charset):
    assert parse(raw_text(text.encode(charset), charset)).text == text


def test_unknown_charset_falls_back_to_utf8():
    assert parse(raw_text("naïve".encode(), "x-unheard-of")).text == "naïve"


def test_bytes_invalid_in_every_guess_become_replacement_characters():
    assert parse(raw_text(b"caf\xe9 \xff!", "utf-8")).text == "caf\ufffd \ufffd!"


def test_utf8_declared_as_ascii_is_read_as_utf8():
    assert parse(raw_text("naïve".encode(), "us-ascii")).text == "naïve"


def test_nul_characters_never_reach_the_text():
    parsed = parse(raw_text(b"a\x00b", "utf-8", subject="x\x00y"))
    assert "\x00" not in parsed.text and "\x00" not in parsed.subject


def test_rfc2047_subject_and_sender_name_are_decoded():
    raw = raw_text(b"x", "utf-8", subject="=?utf-8?b?w4ljbGFpciDimJU=?=").replace(
        b"From: ana@acme.example", b"From: =?iso-8859-1?q?Jos=E9?= <Jose@ACME.example>")
    parsed = parse(raw)
    assert (parsed.subject, parsed.from_name, parsed.from_address) == (
        "Éclair ☕", "José", "jose@acme.example")


def test_recipients_come_from_to_cc_and_delivery_headers_lower_cased():
    message = mail(to="A <Support@Help.example>, b@x.example",
                   headers={"Cc": "c@x.example", "X-Original-To": "orig@x.example",
                            "Delivered-To": "support@help.example"})
    assert parse(message.as_bytes()).recipients == [
        "support@help.example", "b@x.example", "c@x.example", "orig@x.example"]


def test_message_ids_lose_their_brackets_and_references_come_newest_first():
    message = mail(message_id="<Me@acme.example>", headers={
        "In-Reply-To": "<b@x>", "References": "<a@x> <b@x>"})
    parsed = parse(message.as_bytes())
    assert parsed.message_id == "Me@acme.example"
    assert parsed.references == ["b@x", "a@x"]


def test_missing_message_id_is_derived_from_the_bytes():
    raw = mail(message_id=None).as_bytes()
    assert parse(raw).message_id == parse(raw).message_id
    assert parse(raw).message_id.startswith("sha256:")
    assert parse(raw + b"more").message_id != parse(raw).message_id


def test_overlong_message_id_is_hashed_to_fit():
    parsed = parse(mail(message_id=f"<{'x' * 400}@acme.example>").as_bytes())
    assert parsed.message_id.startswith("sha256:") and len(parsed.message_id) < 255


@pytest.mark.parametrize("raw", [
    b"", b"garbage without headers", b"From: <<<>>>\r\nSubject: =?bogus?x?zz?=\r\n\r\nbody",
    b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n--nope\r\nbroken",
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
])
def test_malformed_messages_parse_without_raising(raw):
    parse(raw)


# --- bodies ---------------------------------------------------------------------------------

def test_plain_part_is_preferred_over_html():
    message = mail("plain")
    message.add_alternative("<p>html</p>", subtype="html")
    assert parse(message.as_bytes()).text == "plain"


def test_html_only_body_is_converted_to_text():
    message = mail()
    message.set_content("<html><body><p>Hi <b>there</b></p><script>x</script></body></html>",
                        subtype="html")
    assert parse(message.as_bytes()).text.startswith("Hi **there**")


def test_html_conversion_keeps_links_and_drops_images():
    text = html_to_text('<p><a href="https://acme.example/x">link</a><img src="a.png"></p>')
    assert text == "[link](https://acme.example/x)"


# --- quoted replies -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Support <s@x.example> wrote:\n> old\n> text",
    "Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Support <s@x.example>\nwrote:\n> old",
    "Thanks!\n\nAm 01.01.2024 um 10:00 schrieb Support <s@x.example>:\n> alt",
    "Thanks!\n\nLe lun. 1 janv. 2024, Support <s@x.example> a écrit :\n> ancien",
    "Thanks!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold",
    "Thanks!\n\n________________________________\nFrom: Support\nSent: Monday\nold",
    "Thanks!\n\nFrom: Support <s@x.example>\nSent: Monday, 1 January 2024\nTo: Ana\n\nold",
    "Thanks!\n> quoted line\n>> deeper",
    "Thanks!\n\n-- \nAna Lima\nAcme",
])
def test_quoted_reply_is_trimmed(text):
    assert trim_reply(text) == "Thanks!"


def test_inline_answers_between_quotes_are_kept():
    assert trim_reply("> question one\nanswer one\n> question two\nanswer two") == (
        "answer one\nanswer two")


def test_from_line_without_a_header_block_is_kept():
    assert trim_reply("From: the accounts team we heard nothing") == (
        "From: the accounts team we heard nothing")


def test_a_message_that_is_all_quote_keeps_its_whole_text():
    parsed = parse(mail("> only a quote\n> nothing new").as_bytes())
    assert parsed.reply == parsed.text == "> only a quote\n> nothing new"


# --- attachments ----------------------------------------------------------------------------

def test_attachments_keep_name_type_and_bytes():
    message = mail("see attached")
    message.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf",
                           filename="invoice.pdf")
    message.add_attachment("a,b\n1,2\n", subtype="csv", filename="rows.csv")
    parsed = parse(message.as_bytes())
    assert parsed.text == "see attached"
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4 data"),
        ("rows.csv", "text/csv", b"a,b\n1,2\n")]
    assert parsed.attachments[0].size == len(b"%PDF-1.4 data")


def test_encoded_filenames_are_decoded_and_paths_stripped():
    message = mail()
    message.add_attachment(b"x", maintype="application", subtype="octet-stream",
                           filename="../../etc/Résumé.txt")
    message.add_attachment(b"y", maintype="application", subtype="octet-stream",
                           filename="C:\\Users\\ana\\notes.txt")
    assert [a.filename for a in parse(message.as_bytes()).attachments] == [
        "Résumé.txt", "notes.txt"]


def test_inline_image_without_a_name_gets_one():
    message = mail()
    message.add_alternative("<p>logo: <img src='cid:logo'></p>", subtype="html")
    html = message.get_payload()[1]
    html.add_related(b"\x89PNG", maintype="image", subtype="png", cid="<logo>")
    [image] = parse(message.as_bytes()).attachments
    assert (image.filename, image.content_type, image.content) == (
        "attachment-1.png", "image/png", b"\x89PNG")


def test_forwarded_message_is_kept_whole_as_an_eml_file():
    inner = mail("the original", subject="Original")
    message = mail("forwarding this")
    message.add_attachment(inner)
    [forwarded] = parse(message.as_bytes()).attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename.endswith(".eml")
    assert b"the original" in forwarded.content


def test_overlong_filename_is_shortened_keeping_its_extension():
    message = mail()
    message.add_attachment(b"x", maintype="application", subtype="pdf",
                           filename="a" * 300 + ".pdf")
    [attachment] = parse(message.as_bytes()).attachments
    assert len(attachment.filename) == 255 and attachment.filename.endswith(".pdf")


# --- loop safety ----------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "sender"), [
    ({"Auto-Submitted": "auto-replied"}, None),
    ({"Auto-Submitted": "auto-generated; type=vacation"}, None),
    ({"Precedence": "Bulk"}, None),
    ({"Precedence": "junk"}, None),
    ({"Precedence": "list"}, None),
    ({"X-Auto-Response-Suppress": "DR, AutoReply"}, None),
    ({"X-Autoreply": "yes"}, None),
    ({"Return-Path": "<>"}, None),
    ({}, "MAILER-DAEMON@mx.example"),
    ({}, "Postmaster <postmaster@acme.example>"),
    ({"List-Id": "Printers <printers.lists.acme.example>"}, None),
    ({"List-Unsubscribe": "<mailto:leave@lists.acme.example>"}, None),
    ({"X-Autogenerated": "Reply"}, None),
    ({"X-Precedence": "bulk"}, None),
    ({"Precedence": "auto_reply"}, None),
    ({"X-Autorespond": "1"}, None),
])
def test_machine_written_mail_is_recognised(headers, sender):
    message = mail(headers=headers, sender=sender or "ana@acme.example")
    assert parse(message.as_bytes()).auto_reason is not None


@pytest.mark.parametrize("subject", [
    "Automatic reply: Printer on fire",
    "AUTOMATIC REPLY: Printer on fire",
    "Auto-Reply: Printer on fire",
    "AutoReply: Printer on fire",
    "Auto Response: Printer on fire",
    "Out of Office: Printer on fire",
    "Out of Office AutoReply: Printer on fire",
    "Out of the office",
    "Ana Lima is out of the office.",
    "Abwesenheitsnotiz: Drucker brennt",
    "Automatische Antwort: Drucker brennt",
    "Réponse automatique : L'imprimante brûle",
    "Respuesta automática: La impresora arde",
    "Risposta automatica: La stampante brucia",
    "Automatisch antwoord: Printer in brand",
    "Resposta automática: Impressora",
    "Autosvar: Skrivaren brinner",
    "Автоматический ответ: Принтер",
    "自动回复: 打印机着火了",
])
def test_automatic_reply_subjects_are_recognised(subject):
    assert parse(mail(subject=subject).as_bytes()).auto_reason is not None


@pytest.mark.parametrize("subject", [
    "Printer on fire", "Re: automatic replies do not work", "My out of office is broken",
    "Reply needed: invoice", "Office printer", "Auto-renewal failed",
])
def test_subjects_people_write_are_not_flagged(subject):
    assert parse(mail(subject=subject).as_bytes()).auto_reason is None


def test_x_loop_addresses_are_read_lower_cased():
    parsed = parse(mail(headers={"X-Loop": "Support@Help.example"}).as_bytes())
    assert (parsed.loop_addresses, parsed.auto_reason) == (["support@help.example"], None)


def test_delivery_reports_are_recognised():
    message = EmailMessage()
    message["From"] = "mx@acme.example"
    message.set_content("failed")
    message.make_mixed()
    message.set_type("multipart/report")
    assert parse(message.as_bytes()).auto_reason is not None


@pytest.mark.parametrize("headers", [
    {}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"},
    {"X-Auto-Response-Suppress": "OOF"}, {"Return-Path": "<ana@acme.example>"},
    {"X-Precedence": "normal"}, {"X-Loop": "someone@else.example"},
])
def test_mail_written_by_a_person_is_not_flagged(headers):
    assert parse(mail(headers=headers).as_bytes()).auto_reason is None


def test_the_topmost_return_path_decides():
    message = mail(headers={"Return-Path": "<>"})
    raw = b"Return-Path: <ana@acme.example>\r\n" + message.as_bytes()
    assert parse(raw).auto_reason is None


def test_nul_in_headers_and_media_types_never_reaches_the_database():
    raw = (b"From: ana@acme.example\r\nMessage-ID: <a\x00b@acme.example>\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain\r\n\r\nbody\r\n--XX\r\n"
           b"Content-Type: application/x\x00y; name=\"f\x00.bin\"\r\n\r\ndata\r\n--XX--\r\n")
    parsed = parse(raw)
    [attachment] = parsed.attachments
    assert "\x00" not in parsed.message_id + attachment.filename + attachment.content_type
    assert attachment.content_type == "application/octet-stream"
