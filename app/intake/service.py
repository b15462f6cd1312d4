"""Email in: the one intake function behind the SMTP listener and the webhook.

`receive()` parses the message, picks the desk owning a recipient, and then, in order:
- a Message-ID the desk has seen → `duplicate` (nothing changes; the first outcome stands);
- machine-written mail (auto-replies, bounces, bulk, mailing lists: `parse.auto_reason`), mail
  from the desk's own address or with an `X-Loop` naming it → `ignored`: recorded, but no
  ticket and no comment, so no auto-reply can answer it and no loop can start (tickets
  therefore need no "auto-generated" marker);
- a reply (`In-Reply-To`/`References` naming a message of the desk, or a `[#number]` subject
  token from the requester or a colleague in an organization sharing tickets) → `threaded`: a
  public comment by the sender on that ticket, which reopens a `pending` or `solved` ticket;
- else → `created`: a new ticket (`source=email`); a reply to a closed ticket lands here too,
  with an internal note naming the closed one.
Attachments up to `max_attachment_bytes` are kept; larger ones are named in an internal note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Literal

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import TicketStatus
from app.core.errors import Conflict, invalid
from app.core.scope import DeskScope, SystemSubject, desk_scope
from app.customers import service as customers
from app.customers.schemas import normalize_email
from app.desks import service as desks
from app.intake import attachments
from app.intake.parse import UNTITLED, ParsedEmail, parse
from app.models import Comment, Customer, Desk, InboundMessage, Organization, Ticket
from app.tickets import service as tickets
from app.tickets.schemas import CommentCreate, RequesterIn, TicketCreate, TicketSource, TicketUpdate

Outcome = Literal["created", "threaded", "ignored", "duplicate"]

# The system acting on a ticket for the mail (reopening it); events name it as the actor.
SYSTEM = desk_scope(SystemSubject("Switchboard"))
REOPENED_BY_REPLY = {TicketStatus.pending.value, TicketStatus.solved.value}
TICKET_TOKEN = re.compile(r"\[#(\d{1,9})\]")
MAX_TEXT = 65_536
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class IntakeResult:
    ticket_id: int | None
    created: bool
    outcome: Outcome
    desk_id: int
    comment_id: int | None = None
    reason: str | None = None


async def receive(session: AsyncSession, raw: bytes | IO[bytes], *,
                  recipients: Sequence[str] | None, scope: DeskScope | None,
                  max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> IntakeResult:
    """Take one raw RFC 822 message, as bytes or as a binary file (read from its start: a
    large message is best given spooled to disk). `recipients`: the SMTP envelope's (None:
    read the headers); `scope`: the desks the caller may deliver to (None: every desk)."""
    if not isinstance(raw, bytes):
        raw.seek(0)
    with parse(raw) as mail:
        return await _take(session, mail, recipients, scope, max_attachment_bytes)


async def _take(session: AsyncSession, mail: ParsedEmail, recipients: Sequence[str] | None,
                scope: DeskScope | None, max_attachment_bytes: int) -> IntakeResult:
    desk = await find_desk(session, mail.recipients if recipients is None else recipients, scope)
    if desk.archived_at is not None:
        raise Conflict(f"Desk {desk.id} is archived; it takes no email.", desk_id=desk.id)
    row = await _claim(session, desk.id, mail)
    if row is None:
        return await _duplicate(session, desk.id, mail.message_id)
    reason = mail.auto_reason or _own_address(desk, mail)
    if reason is not None:
        row.outcome, row.reason = "ignored", reason
        await session.flush()
        return IntakeResult(None, False, "ignored", desk.id, reason=reason)
    sender = _sender(mail)
    ticket, closed = await _thread_target(session, desk, mail, sender)
    if ticket is not None:
        comment = await _reply(session, ticket, mail, sender)
        row.ticket_id, row.comment_id, row.outcome = ticket.id, comment.id, "threaded"
        await _attach(session, ticket, comment, mail, max_attachment_bytes)
        await session.flush()
        return IntakeResult(ticket.id, False, "threaded", desk.id, comment_id=comment.id)
    ticket = await tickets.create(session, None, TicketCreate(
        desk_id=desk.id, subject=(mail.subject or UNTITLED)[:250],
        description=mail.text[:MAX_TEXT],
        requester=RequesterIn(email=sender, name=mail.from_name[:200]),
        source=TicketSource.email), desk=desk)
    row.ticket_id = ticket.id
    if closed is not None:
        await _note(session, ticket, f"Follow-up to closed ticket #{closed.number} "
                                     f"(id {closed.id}).")
    await _attach(session, ticket, None, mail, max_attachment_bytes)
    await session.flush()  # the row's outcome, for a later reply in this same transaction
    return IntakeResult(ticket.id, True, "created", desk.id)


# --- desk -----------------------------------------------------------------------------------

async def find_desk(session: AsyncSession, addresses: Sequence[str],
                    scope: DeskScope | None) -> Desk:
    """The desk whose `inbound_addresses` holds a recipient (the first recipient that any desk
    owns; active desks before archived ones). None in `scope` → 422, like an unknown one."""
    desk = await desk_for(session, addresses, scope)
    if desk is None:
        shown = ", ".join(list(addresses)[:5]) or "none"
        raise invalid(["body", "recipients"],
                      f"no desk takes email for the recipients ({shown})", "unknown_recipient")
    return desk


async def desk_for(session: AsyncSession, addresses: Sequence[str],
                   scope: DeskScope | None) -> Desk | None:
    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    if not wanted:
        return None
    stmt = select(Desk).where(desks.taking_mail_for(wanted))
    if scope is not None:
        stmt = scope.filter(stmt, Desk.id)
    found = (await session.scalars(stmt.order_by(Desk.id))).all()

    def rank(desk: Desk) -> tuple[bool, int]:
        owned = set(desk.settings.get("inbound_addresses") or [])
        return desk.archived_at is not None, min(i for i, a in enumerate(wanted) if a in owned)

    return min(found, key=rank, default=None)


def _own_address(desk: Desk, mail: ParsedEmail) -> str | None:
    """Mail from one of the desk's own addresses, or marked `X-Loop` by one of them (as
    autoresponders and list servers mark what they send), is its own mail coming back: a loop."""
    own = desk.settings.get("inbound_addresses") or []
    if mail.from_address and mail.from_address in own:
        return "sent from the desk's own address"
    looped = next((a for a in mail.loop_addresses if a in own), None)
    if looped is not None:
        return f"X-Loop: {looped}"
    return None


# --- dedupe ---------------------------------------------------------------------------------

async def _claim(session: AsyncSession, desk_id: int, mail: ParsedEmail) -> InboundMessage | None:
    """Record the message, or None when the desk has it already. The unique key decides, so two
    deliveries at once agree: the second waits for the first to commit, then sees it."""
    return await session.scalar(
        insert(InboundMessage).values(
            desk_id=desk_id, message_id=mail.message_id, from_address=mail.from_address[:320],
            subject=mail.subject, outcome="created", body=mail.text)
        .on_conflict_do_nothing(index_elements=["desk_id", "message_id"])
        .returning(InboundMessage))


async def _duplicate(session: AsyncSession, desk_id: int, message_id: str) -> IntakeResult:
    first = await session.scalar(select(InboundMessage).where(
        InboundMessage.desk_id == desk_id, InboundMessage.message_id == message_id))
    assert first is not None
    return IntakeResult(first.ticket_id, False, "duplicate", desk_id, reason=first.outcome)


def _sender(mail: ParsedEmail) -> str:
    try:
        return normalize_email(mail.from_address)
    except (ValidationError, ValueError) as exc:
        raise invalid(["body", "from"], "the message has no valid From address",
                      "invalid_sender") from exc


# --- threading ------------------------------------------------------------------------------

async def _thread_target(session: AsyncSession, desk: Desk, mail: ParsedEmail,
                         sender: str) -> tuple[Ticket | None, Ticket | None]:
    """(the ticket to comment on, or None; a closed ticket the mail replied to, or None)."""
    ticket = await _by_headers(session, desk.id, mail.references)
    if ticket is None:
        ticket = await _by_token(session, desk.id, mail.subject, sender)
    if ticket is not None and ticket.status == TicketStatus.closed:
        return None, ticket
    return ticket, None


async def _by_headers(session: AsyncSession, desk_id: int, references: list[str]) -> Ticket | None:
    if not references:
        return None
    ticket_id = await session.scalar(
        select(InboundMessage.ticket_id).where(
            InboundMessage.desk_id == desk_id, InboundMessage.message_id.in_(references),
            InboundMessage.ticket_id.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(1))
    if ticket_id is None:
        return None
    return await session.scalar(_locked(select(Ticket).where(Ticket.id == ticket_id)))


async def _by_token(session: AsyncSession, desk_id: int, subject: str, sender: str
                    ) -> Ticket | None:
    """`[#number]` in the subject: the desk's ticket, when the sender may speak on it."""
    match = TICKET_TOKEN.search(subject)
    if match is None:
        return None
    ticket = await session.scalar(_locked(select(Ticket).where(
        Ticket.desk_id == desk_id, Ticket.number == int(match.group(1)))))
    if ticket is None or not await may_reply(session, ticket, sender):
        return None
    return ticket


async def may_reply(session: AsyncSession, ticket: Ticket, sender: str) -> bool:
    """The requester, or a customer of the ticket's organization when it shares tickets. A
    subject token is easy to guess; anyone else starts a ticket of their own."""
    requester = await session.get_one(Customer, ticket.requester_id)
    if requester.email == sender:
        return True
    if ticket.organization_id is None:
        return False
    shared = await session.scalar(
        select(Customer.id)
        .join(Organization, Organization.id == Customer.organization_id)
        .where(Customer.desk_id == ticket.desk_id, Customer.email == sender,
               Organization.id == ticket.organization_id, Organization.shared_tickets))
    return shared is not None


def _locked(stmt: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
    """Locked like a comment through the API locks it: no status change slips in between."""
    return stmt.with_for_update(of=Ticket).execution_options(populate_existing=True)


async def _reply(session: AsyncSession, ticket: Ticket, mail: ParsedEmail,
                 sender: str) -> Comment:
    """The sender's public comment (found or created as a customer of the ticket's desk, which
    a transfer may have changed); a customer's answer reopens a pending or solved ticket."""
    desk = await session.get_one(Desk, ticket.desk_id)
    customer, _ = await customers.find_or_create(session, None, desk, sender,
                                                 name=mail.from_name[:200],
                                                 loc=("body", "from"))
    body = (mail.reply or mail.text or "(no text)")[:MAX_TEXT]
    comment = await tickets.add_comment(session, None, ticket, CommentCreate(body=body),
                                        author_kind="customer", author_id=customer.id)
    if ticket.status in REOPENED_BY_REPLY:
        await tickets.update(session, SYSTEM, ticket.id,
                             TicketUpdate(status=TicketStatus.open), None)
    return comment


# --- attachments and notes ------------------------------------------------------------------

async def _attach(session: AsyncSession, ticket: Ticket, comment: Comment | None,
                  mail: ParsedEmail, max_bytes: int) -> None:
    refused = await attachments.store(session, ticket, comment, mail.attachments, max_bytes)
    if refused:
        names = ", ".join(f"{a.filename} ({a.size} bytes)" for a in refused)
        await _note(session, ticket, f"Attachments not kept, larger than {max_bytes} bytes: "
                                     f"{names}.")


async def _note(session: AsyncSession, ticket: Ticket, text: str) -> Comment:
    return await tickets.add_comment(session, None, ticket,
                                     CommentCreate(body=text[:MAX_TEXT], public=False))


async def remember_sent(session: AsyncSession, ticket: Ticket, message_id: str) -> None:
    """Record a message we sent about `ticket`, so that a reply to it threads by header."""
    await session.execute(
        insert(InboundMessage).values(desk_id=ticket.desk_id, message_id=message_id,
                                      ticket_id=ticket.id, outcome="sent")
        .on_conflict_do_nothing(index_elements=["desk_id", "message_id"]))

