"""The streaming MIME reader: the email package's boundary and decoding rules, the content
decoded into files (spooled to disk past a size), a message read from a file."""

from __future__ import annotations

import base64
import io
import random
import tempfile

from app.intake import mime
from app.intake.parse import parse
from tests.intake.conftest import mail


def test_a_large_part_is_decoded_to_disk_and_arrives_intact():
    content = random.Random(8).randbytes(3 * mime.SPOOL_BYTES + 17)
    message = mail("see attached")
    message.add_attachment(content, maintype="application", subtype="octet-stream",
                           filename="big.bin")
    with tempfile.TemporaryFile() as fp:
        fp.write(message.as_bytes())
        fp.seek(0)
        with parse(fp) as parsed:
            [attachment] = parsed.attachments
            assert parsed.text == "see attached"
            assert (attachment.size, attachment.content) == (len(content), content)
            assert attachment.file._rolled  # on disk, not in memory


def test_base64_lines_that_split_quanta_and_stray_characters_decode():
    encoded = base64.b64encode(b"printer logs, line after line" * 50).decode()
    lines = "\r\n".join(encoded[i:i + 37] for i in range(0, len(encoded), 37))
    raw = ("From: ana@acme.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           "--B\r\n\r\nhello\r\n--B\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Transfer-Encoding: base64\r\n\r\n{lines}\r\n!!\r\n--B--\r\n").encode()
    [attachment] = parse(raw).attachments
    assert attachment.content == b"printer logs, line after line" * 50


def test_quoted_printable_soft_breaks_join_lines():
    raw = (b"From: ana@acme.example\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"caf=E9 au lait, a very long line that was =\r\nbroken by the sender\r\n")
    assert parse(raw).text == "café au lait, a very long line that was broken by the sender"


def test_an_enclosing_boundary_ends_an_unclosed_inner_multipart():
    raw = (b"From: ana@acme.example\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n"
           b"--OUT\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n"
           b"--IN\r\nContent-Type: text/plain\r\n\r\nthe body\r\n"
           b"--OUT\r\nContent-Type: text/csv; name=rows.csv\r\n\r\na,b\r\n--OUT--\r\n"
           b"epilogue\r\n")
    parsed = parse(raw)
    assert parsed.text == "the body"
    assert [(a.filename, a.content) for a in parsed.attachments] == [("rows.csv", b"a,b")]


def test_the_line_break_before_a_boundary_belongs_to_the_boundary():
    raw = (b"From: ana@acme.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"preamble\r\n--B\r\n\r\nhi\r\n--B\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Disposition: attachment; filename=x.bin\r\n\r\n\r\nab\r\n\r\n--B--")
    [attachment] = parse(raw).attachments
    assert attachment.content == b"\r\nab\r\n"


def test_the_digest_of_every_byte_names_a_message_without_id():
    raw = mail(message_id=None).as_bytes()
    message = mime.read(io.BytesIO(raw))
    assert parse(raw).message_id == "sha256:" + message.sha256
