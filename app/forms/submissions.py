"""Public forms: a published form as visitors see it, and a submission becoming a ticket.

A submission is checked field by field (422 naming each bad answer at `["body", key]`), its
text kept as plain text, its requester found or created (joining an organization by domain),
and a ticket opened with `source=web_form` as the system. The answers are kept as submitted,
with the version they answered, and `form.submitted` is written in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.fields import FieldType, validate_values
from app.core.outbox import EventType
from app.core.text import plain_text
from app.forms import mapping
from app.forms.jsonschema import submission_schema
from app.forms.schemas import FormField, FormKind, PublicForm
from app.forms.service import parse_fields, public_path, read_submission
from app.models import Desk, Form, FormSubmission
from app.tickets import service as tickets
from app.tickets.schemas import TicketCreate, TicketSource

PLAIN_TEXT_TYPES = {FieldType.text, FieldType.textarea}


async def published(session: AsyncSession, slug: str) -> tuple[Form, Desk]:
    """The published form at `slug` and its desk (404 for an unknown or unpublished one)."""
    row = (await session.execute(select(Form, Desk).join(Desk, Desk.id == Form.desk_id)
                                 .where(Form.slug == slug, Form.published.is_(True)))).first()
    if row is None:
        raise NotFound(f"No published form at {slug!r}.")
    return row[0], row[1]


def public(form: Form) -> PublicForm:
    path = public_path(form.slug)
    return PublicForm(slug=form.slug, name=form.name, description=form.description,
                      kind=FormKind(form.kind), version=form.version,
                      fields=[f.spec() for f in parse_fields(form.fields)],
                      schema_path=f"{path}/schema", submit_path=f"{path}/submissions")


def schema(form: Form) -> dict[str, Any]:
    return submission_schema(form.name, form.description,
                             [f.spec() for f in parse_fields(form.fields)])


def ip_hash(secret: str, ip: str) -> str:
    return hmac.new(secret.encode(), f"form-ip:{ip}".encode(), hashlib.sha256).hexdigest()


def is_bot(body: dict[str, Any], honeypot: str) -> bool:
    """Whether the hidden honeypot input came back filled (people never see it)."""
    value = body.pop(honeypot, None)
    return value not in (None, "", False, [])


def clean_answers(fields: list[FormField], body: dict[str, Any]) -> dict[str, Any]:
    """Validated answers in form order (plain text; left-out optional ones take their default),
    or 422 naming every bad one."""
    kinds = {f.key: f.type for f in fields}
    sent = {k: plain_text(v) if kinds.get(k) in PLAIN_TEXT_TYPES and isinstance(v, str) else v
            for k, v in body.items()}
    clean, errors = validate_values([f.spec() for f in fields], sent, ["body"])
    if errors:
        raise Unprocessable("Some answers are not valid.", errors=errors)
    answers: dict[str, Any] = {}
    for field in fields:
        value = clean.get(field.key)
        if value is None and field.key not in sent and field.default is not None:
            value = field.default
        if value is not None:
            answers[field.key] = value
    return answers


async def submit(session: AsyncSession, form: Form, desk: Desk, body: dict[str, Any], *,
                 honeypot: str, ip_digest: str | None) -> int | None:
    """Take a submission; the ticket's number (None for a survey form)."""
    if desk.archived_at is not None:
        raise Conflict("This form's desk is archived and takes no submissions.")
    if is_bot(body, honeypot):
        return await _decoy_number(session, form, desk)
    fields = parse_fields(form.fields)
    answers = clean_answers(fields, body)
    ticket = None
    if form.kind == FormKind.ticket:
        ticket = await _open_ticket(session, form, desk, fields, answers)
    row = FormSubmission(desk_id=desk.id, form_id=form.id, version=form.version,
                         ticket_id=ticket.id if ticket else None, answers=answers,
                         ip_hash=ip_digest)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    outbox.record(session, type=EventType.form_submitted, desk_id=desk.id, subject_type="form",
                  subject_id=form.id, scope=None,
                  data={**read_submission(row).model_dump(mode="json"),
                        "ticket_number": ticket.number if ticket else None})
    return ticket.number if ticket else None


async def _open_ticket(session: AsyncSession, form: Form, desk: Desk, fields: list[FormField],
                       answers: dict[str, Any]) -> Any:
    values, locs = mapping.ticket_values(form.name, fields, answers)
    try:
        payload = TicketCreate(desk_id=desk.id, source=TicketSource.web_form, **values)
    except ValidationError as exc:
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors()]
        raise Unprocessable("Some answers cannot fill the ticket.",
                            errors=mapping.relocate(errors, locs)) from exc
    try:
        return await tickets.create(session, None, payload, desk=desk, form_id=form.id)
    except Unprocessable as exc:
        exc.errors = mapping.relocate(exc.errors, locs)
        raise


async def _decoy_number(session: AsyncSession, form: Form, desk: Desk) -> int | None:
    """What a real submission would answer, without opening anything: a bot cannot tell."""
    if form.kind != FormKind.ticket:
        return None
    last = await session.scalar(select(tickets.last_number(desk.id)))
    return (last or 0) + 1
