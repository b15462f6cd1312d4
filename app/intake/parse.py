"""Raw RFC 822 bytes (or a file of them) → `ParsedEmail`: pure, no database, never raises on
bad mail.

`mime.read` walks the message as a stream (the parts' contents decoded into temporary files,
so a large message costs its parts' files, not several copies of it in memory) and the standard
`email` package reads every part's headers (RFC 2047/2231). This module picks the body (plain
text preferred, HTML converted), decodes it whatever charset it claims, trims the quoted reply,
lists the attachments and says whether the message was written by a machine (loop safety).

Every text the mail brings (body, subject, sender name, file names) leaves as plain text: the
same `core.text.plain_text` normalisation forms use, so no markup is stored, whether it came as
HTML, as entities the HTML conversion decoded (`&lt;script&gt;`) or typed into a header.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr
from types import TracebackType
from typing import IO

import html2text

from app.core.text import plain_text
from app.intake import mime

# Headers naming the recipients, when no SMTP envelope does (the webhook).
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
MAX_MESSAGE_ID = 255
MAX_FILENAME = 255
MAX_BODY_CHARS = 1024 * 1024  # of the body kept as text (tickets keep 64 KiB of it)
MAX_BODY_BYTES = 4 * MAX_BODY_CHARS  # read of the body's part (UTF-8: up to 4 bytes a character)
UNTITLED = "(no subject)"


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    file: IO[bytes]  # the decoded content (a temporary file, closed with the ParsedEmail)
    size: int

    @property
    def content(self) -> bytes:
        """The whole content in memory (small files, tests); `chunks()` to stream it."""
        return b"".join(self.chunks())

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # normalised (no angle brackets); derived from the bytes when missing
    references: list[str]  # In-Reply-To first, then References newest first, normalised
    from_address: str
    from_name: str
    recipients: list[str]  # lower-cased, from the headers in RECIPIENT_HEADERS
    subject: str
    text: str  # the whole body as text
    reply: str  # the body without the quoted reply (the whole body when nothing is left)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reason: str | None = None  # why this looks machine-written; None: a person wrote it
    loop_addresses: list[str] = field(default_factory=list)  # X-Loop's, lower-cased
    parts: mime.Message | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Remove the parts' temporary files (the attachments' contents with them)."""
        if self.parts is not None:
            self.parts.close()

    def __enter__(self) -> ParsedEmail:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def parse(raw: bytes | IO[bytes]) -> ParsedEmail:
    """Parse a message given as bytes or as a binary file (read from its current position)."""
    parts = mime.read(io.BytesIO(raw) if isinstance(raw, bytes) else raw)
    msg = parts.root.headers
    name, address = parseaddr(header(msg, "From"))
    body = _body_part(parts.root)
    text = mail_text(_body_text(body)[:MAX_BODY_CHARS]).strip() if body is not None else ""
    attachments: list[ParsedAttachment] = []
    _collect_attachments(parts.root, body, attachments)
    return ParsedEmail(
        message_id=normalize_message_id(header(msg, "Message-ID")) or "sha256:" + parts.sha256,
        references=list(dict.fromkeys(message_ids(header(msg, "In-Reply-To"))
                                      + message_ids(header(msg, "References"))[::-1])),
        from_address=clean_text(address).strip().lower(),
        from_name=" ".join(mail_text(name).split()),
        recipients=recipients(msg),
        subject=" ".join(mail_text(header(msg, "Subject")).split()),
        text=text,
        reply=trim_reply(text) or text,
        attachments=attachments,
        auto_reason=auto_reason(msg, address),
        loop_addresses=addresses(header(msg, "X-Loop")),
        parts=parts,
    )


# --- headers --------------------------------------------------------------------------------

def header(msg: Message, name: str) -> str:
    """A header's decoded value ('' when missing); a header the parser chokes on is read raw."""
    try:
        values = msg.get_all(name) or []
    except Exception:  # malformed header: the raw text is better than a 500
        values = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
    return ", ".join(str(v) for v in values).replace("\x00", "")


def _first(msg: Message, name: str) -> str | None:
    """The first (topmost: the newest) value of a header, None when missing."""
    try:
        value = msg.get(name)
    except Exception:
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else str(value).strip()


def normalize_message_id(value: str) -> str:
    """`<a@b>` → `a@b`; an id too long for the column is replaced by its hash."""
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = value.strip().strip("<>").strip()
    return _short(bare) if bare and " " not in bare else ""


def message_ids(value: str) -> list[str]:
    """The `<…>` message ids of an In-Reply-To or References header, in order."""
    return [_short(m) for m in re.findall(r"<([^<>\s]+)>", value)]


def _short(message_id: str) -> str:
    if len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def recipients(msg: Message) -> list[str]:
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        found.extend(a for a in addresses(header(msg, name)) if a not in found)
    return found


def addresses(value: str) -> list[str]:
    """The email addresses of a header's value, lower-cased, in order, once each."""
    found: list[str] = []
    for _, address in getaddresses([value]) if value else []:
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address)
    return found


AUTO_LOCAL_PARTS = {"mailer-daemon", "postmaster"}
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
SUPPRESS_TOKENS = {"all", "autoreply"}
# Headers whose mere presence says a machine wrote the mail: a mailing list (RFC 2369, 2919),
# Microsoft's and others' autoresponders.
AUTO_HEADERS = ("List-Id", "List-Unsubscribe", "X-Autogenerated", "X-Autoreply", "X-Autorespond")
# The subjects autoresponders give their replies, in the languages mail clients are set in: the
# phrase opens the subject and is followed by a colon (or a dash, or nothing), as Outlook,
# Exchange, Gmail, Thunderbird and Lotus write them ("Automatic reply: Printer on fire").
AUTO_SUBJECT = re.compile(
    r"^(?:automatic reply|automatic response|auto[- ]?reply|auto[- ]?response|autoresponder"
    r"|out of (?:the )?office(?: auto[- ]?reply| reply)?|abwesenheitsnotiz|automatische antwort"
    r"|r[ée]ponse automatique|absence du bureau|respuesta autom[áa]tica|fuera de la oficina"
    r"|risposta automatica|fuori sede|automatisch antwoord|afwezigheidsbericht"
    r"|resposta autom[áa]tica|autosvar|automaattinen vastaus|odpowied[źz] automatyczna"
    r"|automatická odpověď|автоматический ответ|自动回复|自動回覆|自動応答|自動返信|자동 응답)"
    r"\s*(?:[:：\-–—]|$)"
    r"|\bis out of (?:the )?office\b", re.I)


def auto_reason(msg: Message, from_address: str) -> str | None:
    """Why a message must not become a ticket (auto-replies, bounces, bulk mail, mailing
    lists), or None. (An `X-Loop` naming the desk needs the desk: `service.receive` checks
    `loop_addresses`.)"""
    submitted = header(msg, "Auto-Submitted").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted[:100]}"
    for name in ("Precedence", "X-Precedence"):
        precedence = header(msg, name).strip().lower()
        if precedence in BULK_PRECEDENCE:
            return f"{name}: {precedence}"
    suppress = {t.strip().lower() for t in header(msg, "X-Auto-Response-Suppress").split(",")}
    if suppress & SUPPRESS_TOKENS:
        return "X-Auto-Response-Suppress"
    present = next((name for name in AUTO_HEADERS if header(msg, name).strip()), None)
    if present is not None:
        return present
    subject = " ".join(header(msg, "Subject").split())
    if AUTO_SUBJECT.search(subject):
        return f"an automatic reply's subject: {subject[:100]}"
    if from_address.partition("@")[0].strip().lower() in AUTO_LOCAL_PARTS:
        return f"sender {from_address.strip().lower()[:100]}"
    if _first(msg, "Return-Path") in {"<>", ""}:
        return "empty Return-Path (a bounce)"
    if msg.get_content_type() == "multipart/report":
        return "multipart/report (a delivery or read report)"
    return None


# --- body -----------------------------------------------------------------------------------

def _body_part(root: mime.Part) -> mime.Part | None:
    """The body as the email package's `get_body(("plain", "html"))` picks it: the first plain
    text part that is no attachment (through multipart/related only its start part), else the
    first HTML one."""
    best: mime.Part | None = None
    best_rank = 2
    try:
        for rank, part in _body_candidates(root):
            if rank < best_rank:
                best, best_rank = part, rank
                if rank == 0:
                    break
    except Exception:  # headers the package cannot read: no body rather than a 500
        return best
    return best


BODY_SUBTYPES = ("plain", "html")


def _body_candidates(part: mime.Part) -> Iterator[tuple[int, mime.Part]]:
    if part.headers.is_attachment():
        return
    maintype, subtype = part.headers.get_content_type().split("/", 1)
    if maintype == "text":
        if subtype in BODY_SUBTYPES:
            yield BODY_SUBTYPES.index(subtype), part
        return
    if maintype != "multipart" or not part.is_multipart:
        return
    if subtype != "related":
        for child in part.children:
            yield from _body_candidates(child)
        return
    start = part.headers.get_param("start")
    candidate = next((c for c in part.children if start and c.headers["content-id"] == start),
                     part.children[0] if part.children else None)
    if candidate is not None:
        yield from _body_candidates(candidate)


def _body_text(part: mime.Part) -> str:
    text = decode(part.read(MAX_BODY_BYTES), part.headers)
    if part.headers.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def decode(payload: bytes, headers: Message) -> str:
    """A text part's content as str, whatever charset it claims: the declared one when the
    bytes fit it, else UTF-8, else the declared (or replacement) characters."""
    charset = _charset(headers)
    for candidate, errors in ((charset, "strict"), ("utf-8", "strict"), (charset, "replace")):
        try:
            return payload.decode(candidate, errors)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode("utf-8", "replace")


def _charset(part: Message) -> str:
    try:
        charset = part.get_content_charset() or "us-ascii"
    except Exception:
        return "utf-8"
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "utf-8"


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.unicode_snob = True
    try:
        return converter.handle(html).strip()
    except Exception:  # html2text on pathological markup
        return re.sub(r"<[^>]*>", "", html)


def clean_text(value: str) -> str:
    """What PostgreSQL can store: no NUL; line ends as `\\n`."""
    return value.replace("\x00", "\ufffd").replace("\r\n", "\n").replace("\r", "\n")


# `<ana@acme.example>` and `<https://…>` in mail text are addresses, not tags (plain text mail
# quotes senders so, html2text writes links so): unwrapped, they survive `plain_text`, which
# would drop them as unknown tags. Unwrapping removes angle brackets only, so it makes no tag.
AUTOLINK = re.compile(r"<((?:[a-z][a-z0-9+.-]*:|[^\s<>@\"']+@)[^\s<>\"']+)>", re.I)


def mail_text(value: str) -> str:
    """Text from mail as plain text: storable (`clean_text`) and without markup (`plain_text`,
    as for forms), addresses and links in angle brackets kept."""
    return plain_text(AUTOLINK.sub(r"\1", clean_text(value)))


# --- quoted reply ---------------------------------------------------------------------------

# A line where the quoted previous message starts; everything from it on is dropped.
QUOTE_STARTS = [
    re.compile(r"^-{2,}\s*original message\s*-{2,}\s*$", re.I),
    re.compile(r"^-{2,}\s*forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^_{10,}\s*$"),  # Outlook: a rule, then From:/Sent:/To:
]
WROTE = re.compile(r"^(on|am|le|el|il|op)\s.{0,200}\b(wrote|schrieb|a écrit|escribió|ha scritto|"
                   r"schreef)\b.{0,200}:\s*$", re.I)
QUOTED_FROM = re.compile(r"^from:\s.+$", re.I)  # the header block of a quoted message
SIGNATURE = "-- "


def trim_reply(text: str) -> str:
    """The new part of a reply: stops at the first quote marker (or the signature) and drops
    `>` lines. Empty when nothing new is left."""
    lines = text.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line == SIGNATURE or _starts_quote(lines, i):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if any(marker.match(line) for marker in QUOTE_STARTS) or WROTE.match(line):
        return True
    if QUOTED_FROM.match(line):  # "From: …" counts when Sent:/Date: follows
        following = " ".join(x.strip().lower() for x in lines[i + 1:i + 4])
        return "sent:" in following or "date:" in following
    # "On Mon, 1 Jan 2024 at 10:00, Ana <ana@acme.example>" / "wrote:" split over two lines
    if i + 1 < len(lines) and re.match(r"^(on|am|le)\s", line, re.I):
        return bool(WROTE.match(line + " " + lines[i + 1].strip()))
    return False


# --- attachments ----------------------------------------------------------------------------

def _collect_attachments(part: mime.Part, body: mime.Part | None,
                         out: list[ParsedAttachment]) -> None:
    if part is body:
        return
    ctype = part.headers.get_content_type()
    if part.content is not None and ctype == "message/rfc822":  # forwarded: kept whole (.eml)
        out.append(ParsedAttachment(_filename(part.headers, len(out), ".eml"), ctype,
                                    part.content, part.size))
        return
    if part.content is None:
        for sub in part.children:
            _collect_attachments(sub, body, out)
        return
    if not _is_attachment(part.headers):
        return
    out.append(ParsedAttachment(_filename(part.headers, len(out)), _media_type(ctype),
                                part.content, part.size))


def _media_type(value: str) -> str:
    """A media type fit to store and to serve again: `type/subtype` of token characters."""
    return value if re.fullmatch(r"[\w.+-]{1,100}/[\w.+-]{1,150}", value) else (
        "application/octet-stream")


def _is_attachment(part: Message) -> bool:
    """Files: a part marked attachment or named, or any non-text leaf (inline images); an
    unnamed text part is an alternative of the body, not a file."""
    try:
        disposition, filename = part.get_content_disposition(), part.get_filename()
    except Exception:
        disposition, filename = "attachment", None
    return disposition == "attachment" or bool(filename) or part.get_content_maintype() != "text"


def _filename(part: Message, index: int, extension: str | None = None) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = safe_filename(str(name))
    if not name:
        extension = extension or mimetypes.guess_extension(part.get_content_type()) or ".bin"
        name = f"attachment-{index + 1}{extension}"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else (
            name[:MAX_FILENAME])
    return name


def safe_filename(name: str) -> str:
    """A name fit to store and to offer as a download: plain text (no markup), no control or
    format characters (line breaks, bidi overrides that disguise `exe` as `txt`), no path (only
    the part after the last `/` or `\\`), no leading dots. '' when nothing is left."""
    name = "".join(c for c in mail_text(name) if unicodedata.category(c)[0] != "C")
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".").strip()
