"""A MIME message read as a stream: its tree of parts, each part's content decoded into a
temporary file, never the whole message in memory.

`email.message_from_bytes` holds a message several times over while it parses (the raw bytes,
their text, each part's lines and their join, the encoded payload and the decoded one): about
eight times its size at the peak. Here the message is read a line at a time from a binary file;
each part's headers are parsed by the email package (`BytesHeaderParser`, so RFC 2047/2231, the
media type and the file name are read exactly as before) and its content is decoded from its
transfer encoding (base64, quoted-printable, or as is) into a `SpooledTemporaryFile`: in memory
up to `SPOOL_BYTES`, on disk past that. Boundaries follow the email package's rules: a line
`--boundary` (or `--boundary--`, trailing blanks allowed) of the part or of any part enclosing
it ends the part, and the line break before it belongs to the boundary.

A pure module (files and bytes only).
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from tempfile import SpooledTemporaryFile
from typing import IO

LINE_BYTES = 64 * 1024  # read at most this much at once (a longer line comes in pieces)
SPOOL_BYTES = 512 * 1024  # a part's content is held in memory up to this, then on disk
MAX_HEADER_BYTES = 256 * 1024  # of one part's header block; header lines past it are dropped
BATCH_BYTES = 256 * 1024  # of a part's lines decoded at once
MAX_DEPTH = 20  # nested multiparts; deeper ones are read as plain content
HEADER_LINE = re.compile(rb"^([\041-\071\073-\176]+:|[ \t])")
NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")

_HEADERS = BytesHeaderParser(policy=policy.default)


@dataclass
class Part:
    headers: EmailMessage  # the headers only (no payload): the email package's accessors work
    children: list[Part] = field(default_factory=list)  # a multipart's parts
    content: IO[bytes] | None = None  # a leaf's decoded content, at position 0
    size: int = 0  # bytes of `content`

    @property
    def is_multipart(self) -> bool:
        return self.content is None

    def walk(self) -> Iterator[Part]:
        yield self
        for child in self.children:
            yield from child.walk()

    def read(self, limit: int = -1) -> bytes:
        """The content (up to `limit` bytes); b'' for a multipart."""
        if self.content is None:
            return b""
        self.content.seek(0)
        data = self.content.read(limit)
        self.content.seek(0)
        return data

    def close(self) -> None:
        for part in self.walk():
            if part.content is not None:
                part.content.close()


@dataclass
class Message:
    root: Part
    sha256: str  # of every byte read: the message's identity when it has no Message-ID

    def close(self) -> None:
        self.root.close()


def read(fp: IO[bytes]) -> Message:
    """Read a whole message from a binary file (from its current position to its end)."""
    reader = _Reader(fp)
    root, _ = reader.part("text/plain")
    reader.drain()
    return Message(root, reader.digest.hexdigest())


# What ends a part: a boundary line (its index in the reader's stack, closing `--b--`), or END.
Stop = tuple[int, bool]
END: Stop = (-1, True)


class _Reader:
    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.digest = hashlib.sha256()
        self.at_line_start = True
        self.boundaries: list[bytes] = []  # of the enclosing multiparts, outermost first

    def line(self) -> tuple[bytes, bool]:
        """The next line (or piece of a long one) and whether it starts a line; b'' at the end."""
        piece = self.fp.readline(LINE_BYTES)
        starts = self.at_line_start
        self.at_line_start = piece.endswith(b"\n")
        self.digest.update(piece)
        return piece, starts

    def drain(self) -> None:
        while chunk := self.fp.read(LINE_BYTES):
            self.digest.update(chunk)

    def stop(self, piece: bytes, starts: bool) -> Stop | None:
        """(index, closing) when the line is a boundary of an enclosing multipart, else None."""
        if not starts or not piece.startswith(b"--") or not self.boundaries:
            return None
        line = piece.rstrip(b"\r\n").rstrip(b" \t")
        for index in range(len(self.boundaries) - 1, -1, -1):
            delimiter = b"--" + self.boundaries[index]
            if line == delimiter:
                return index, False
            if line == delimiter + b"--":
                return index, True
        return None

    def part(self, default_type: str) -> tuple[Part, Stop]:
        """One part from its first header line to the boundary (or the end) that closes it."""
        block, first_body_line, stop = self._header_block()
        headers = _HEADERS.parsebytes(block + b"\r\n")
        assert isinstance(headers, EmailMessage)
        if headers.get_default_type() != default_type:
            headers.set_default_type(default_type)
        node = Part(headers)
        if stop is not None:  # no content at all
            node.content = SpooledTemporaryFile(max_size=SPOOL_BYTES)
            return node, stop
        boundary = _boundary(headers)
        if (headers.get_content_maintype() == "multipart" and boundary
                and len(self.boundaries) < MAX_DEPTH):
            return node, self._multipart(node, boundary, first_body_line)
        return node, self._leaf(node, first_body_line)

    def _header_block(self) -> tuple[bytes, tuple[bytes, bool] | None, Stop | None]:
        """(the header lines, the body's first line when no blank line came first, a boundary
        or the end met inside the header block, else None)."""
        lines: list[bytes] = []
        size = 0
        while True:
            piece, starts = self.line()
            if not piece:
                return b"".join(lines), None, END
            stop = self.stop(piece, starts)
            if stop is not None:
                return b"".join(lines), None, stop
            if starts and piece in (b"\r\n", b"\n"):
                return b"".join(lines), None, None
            if starts and not HEADER_LINE.match(piece) and not (
                    not lines and piece.startswith(b"From ")):
                return b"".join(lines), (piece, starts), None  # no blank line: body starts
            if size + len(piece) <= MAX_HEADER_BYTES:
                lines.append(piece)
                size += len(piece)

    def _multipart(self, node: Part, boundary: bytes,
                   first: tuple[bytes, bool] | None) -> Stop:
        self.boundaries.append(boundary)
        depth = len(self.boundaries) - 1
        try:
            stop = self._skip(first)  # the preamble
            child_type = ("message/rfc822" if node.headers.get_content_subtype() == "digest"
                          else "text/plain")
            while stop == (depth, False):
                child, stop = self.part(child_type)
                node.children.append(child)
            if stop == (depth, True):
                self.boundaries.pop()
                return self._skip(None)  # the epilogue, up to an enclosing boundary
            return stop  # the end, or an enclosing boundary: this multipart ends too
        finally:
            del self.boundaries[depth:]

    def _skip(self, first: tuple[bytes, bool] | None) -> Stop:
        while True:
            piece, starts = first if first is not None else self.line()
            first = None
            if not piece:
                return END
            stop = self.stop(piece, starts)
            if stop is not None:
                return stop

    def _leaf(self, node: Part, first: tuple[bytes, bool] | None) -> Stop:
        sink = _sink(node.headers)
        held = b""  # the last line break: before a boundary it is the boundary's
        batch: list[bytes] = []  # lines given to the sink together (far fewer calls)
        batched = 0
        while True:
            piece, starts = first if first is not None else self.line()
            first = None
            if not piece:
                batch.append(held)
                stop = END
                break
            found = self.stop(piece, starts)
            if found is not None:
                stop = found
                break
            body = piece.rstrip(b"\r\n")
            batch += (held, body)
            held = piece[len(body):]
            batched += len(piece)
            if batched >= BATCH_BYTES:
                sink.write(b"".join(batch))
                batch, batched = [], 0
        sink.write(b"".join(batch))
        node.content, node.size = sink.finish()
        return stop


def _boundary(headers: EmailMessage) -> bytes | None:
    try:
        value = headers.get_boundary()
    except Exception:  # a malformed parameter: no boundary
        return None
    return value.encode("utf-8", "surrogateescape") if value else None


def _sink(headers: EmailMessage) -> _Sink:
    try:
        encoding = headers.get("Content-Transfer-Encoding", "")
        encoding = str(encoding).strip().lower()
    except Exception:
        encoding = ""
    if encoding == "base64":
        return _Base64Sink()
    if encoding == "quoted-printable":
        return _QuotedPrintableSink()
    return _Sink()


class _Sink:
    """Content as it comes (7bit, 8bit, binary, anything unknown)."""

    def __init__(self) -> None:
        self.file: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)
        self.size = 0

    def write(self, data: bytes) -> None:
        if data:
            self.file.write(data)
            self.size += len(data)

    def finish(self) -> tuple[IO[bytes], int]:
        self.file.seek(0)
        return self.file, self.size


class _Base64Sink(_Sink):
    """Decodes as it goes, whole quanta of four characters at a time; characters outside the
    alphabet (line breaks, stray ones) are skipped and a short last quantum is padded, as the
    email package's lenient decoder does."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: bytes | None = b""

    def write(self, data: bytes) -> None:
        if self.pending is None:  # past the padding
            return
        head, eq, _ = data.partition(b"=")  # padding: the data ends here
        chars = self.pending + NOT_BASE64.sub(b"", head)
        whole = len(chars) - len(chars) % 4
        self._decode(chars[:whole])
        self.pending = chars[whole:]
        if eq:
            self._close()

    def _decode(self, chars: bytes) -> None:
        if chars:
            try:
                super().write(binascii.a2b_base64(chars))
            except binascii.Error:
                pass

    def _close(self) -> None:
        if self.pending and len(self.pending) % 4 != 1:  # one character left makes no byte
            self._decode(self.pending + b"=" * (-len(self.pending) % 4))
        self.pending = None

    def finish(self) -> tuple[IO[bytes], int]:
        if self.pending is not None:
            self._close()
        return super().finish()


class _QuotedPrintableSink(_Sink):
    """Decodes whole lines (a soft break `=` at a line's end joins it to the next); the
    unfinished last line waits for the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.rest = b""

    def write(self, data: bytes) -> None:
        data = self.rest + data
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) > LINE_BYTES:  # a line without end: decoded as it is
            end = len(data)
        super().write(binascii.a2b_qp(data[:end]))
        self.rest = data[end:]

    def finish(self) -> tuple[IO[bytes], int]:
        if self.rest:
            super().write(binascii.a2b_qp(self.rest))
            self.rest = b""
        return super().finish()
