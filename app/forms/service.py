"""Form definitions: create, read, change (with versions), list; their submissions.

The public side (rendering a published form, taking a submission) is `submissions.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import check_if_match
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.lookup import get_in_scope
from app.core.pagination import PageParams, SortKey, paginate
from app.core.scope import DeskScope
from app.desks import service as desks
from app.fields import service as fields
from app.forms import mapping
from app.forms.schemas import (
    FormCreate,
    FormField,
    FormKind,
    FormRead,
    FormUpdate,
    FormVersionRead,
    SubmissionRead,
)
from app.models import FieldEntity, Form, FormSubmission, FormVersion


def public_path(slug: str) -> str:
    return f"/v1/public/forms/{slug}"


def read(form: Form) -> FormRead:
    return FormRead(id=form.id, desk_id=form.desk_id, name=form.name, slug=form.slug,
                    kind=FormKind(form.kind), description=form.description,
                    published=form.published, version=form.version,
                    fields=parse_fields(form.fields), public_path=public_path(form.slug),
                    created_at=form.created_at, updated_at=form.updated_at)


def parse_fields(stored: list[dict[str, Any]]) -> list[FormField]:
    return [FormField.model_validate(f) for f in stored]


def dump_fields(fields: list[FormField]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json", exclude_none=True, exclude_defaults=False) for f in fields]


async def _check(session: AsyncSession, desk_id: int, kind: FormKind, fields: list[FormField], *,
                 published: bool, honeypot: str) -> None:
    custom = any(f.maps_to and mapping.custom_key(f.maps_to) for f in fields)
    ticket_fields = (await fields_specs(session, desk_id)
                     if custom or (published and kind is FormKind.ticket) else [])
    errors = mapping.check_definition(kind, fields, ticket_fields, published=published,
                                      honeypot=honeypot)
    if errors:
        raise Unprocessable("The form definition is not valid.", errors=errors)


async def fields_specs(session: AsyncSession, desk_id: int) -> list[Any]:
    return await fields.specs(session, desk_id, FieldEntity.ticket)


async def _check_slug(session: AsyncSession, slug: str, form_id: int | None = None) -> None:
    taken = await session.scalar(select(Form.id).where(Form.slug == slug))
    if taken is not None and taken != form_id:
        raise Conflict(f"The slug {slug!r} is taken (slugs are unique across desks).",
                       existing_id=taken)


async def _snapshot(session: AsyncSession, form: Form) -> None:
    """Keep the fields of the version being published (once per version)."""
    await session.execute(insert(FormVersion).values(
        desk_id=form.desk_id, form_id=form.id, version=form.version, fields=form.fields,
    ).on_conflict_do_nothing(index_elements=["form_id", "version"]))


async def _was_published(session: AsyncSession, form: Form) -> bool:
    return await session.scalar(select(FormVersion.id).where(
        FormVersion.form_id == form.id, FormVersion.version == form.version)) is not None


async def create(session: AsyncSession, scope: DeskScope, payload: FormCreate, *,
                 honeypot: str) -> Form:
    desk = await desks.get_active(session, scope, payload.desk_id, manage=True)
    await _check(session, desk.id, payload.kind, payload.fields, published=payload.published,
                 honeypot=honeypot)
    await _check_slug(session, payload.slug)
    form = Form(desk_id=desk.id, slug=payload.slug, name=payload.name, kind=payload.kind.value,
                description=payload.description, published=payload.published, version=1,
                fields=dump_fields(payload.fields))
    session.add(form)
    await session.flush()
    if form.published:
        await _snapshot(session, form)
    await session.refresh(form)
    return form


async def get(session: AsyncSession, scope: DeskScope, form_id: int, *,
              for_update: bool = False) -> Form:
    return await get_in_scope(session, scope, Form, form_id, "Form", for_update=for_update)


async def update(session: AsyncSession, scope: DeskScope, form_id: int, payload: FormUpdate,
                 if_match: str | None, *, honeypot: str) -> Form:
    form = await get(session, scope, form_id, for_update=True)
    await desks.get_active(session, scope, form.desk_id, manage=True)
    check_if_match(if_match, form.revision)
    sent = payload.model_fields_set
    if payload.slug is not None and payload.slug != form.slug:
        await _check_slug(session, payload.slug, form.id)
        form.slug = payload.slug
    if payload.name is not None:
        form.name = payload.name
    if payload.description is not None:
        form.description = payload.description
    published = form.published if payload.published is None else payload.published
    new_fields = parse_fields(form.fields) if payload.fields is None else payload.fields
    if "fields" in sent or "published" in sent:
        await _check(session, form.desk_id, FormKind(form.kind), new_fields,
                     published=published, honeypot=honeypot)
    dumped = dump_fields(new_fields)
    if dumped != form.fields:
        # Submissions may have answered the current fields: keep them as a version of their own.
        if form.published or await _was_published(session, form):
            form.version += 1
        form.fields = dumped
    form.published = published
    await session.flush()
    if form.published:
        await _snapshot(session, form)
    await session.refresh(form)
    return form


async def list_(session: AsyncSession, scope: DeskScope, params: PageParams, *,
                desk_id: int | None = None, kind: FormKind | None = None,
                published: bool | None = None) -> tuple[list[Form], str | None]:
    stmt = scope.filter(select(Form), Form)
    if desk_id is not None:
        scope.check_desk(desk_id)
        stmt = stmt.where(Form.desk_id == desk_id)
    if kind is not None:
        stmt = stmt.where(Form.kind == kind.value)
    if published is not None:
        stmt = stmt.where(Form.published.is_(published))
    return await paginate(session, stmt, params, [SortKey(Form.id)])


def _version_read(form: Form, row: FormVersion) -> FormVersionRead:
    return FormVersionRead(form_id=form.id, version=row.version, fields=parse_fields(row.fields),
                           created_at=row.created_at)


def _draft_read(form: Form) -> FormVersionRead:
    return FormVersionRead(form_id=form.id, version=form.version,
                           fields=parse_fields(form.fields), created_at=None)


async def versions(session: AsyncSession, scope: DeskScope, form_id: int, params: PageParams
                   ) -> tuple[list[FormVersionRead], str | None]:
    """Every published version, oldest first, then (on the last page) the current draft if it
    never was published."""
    form = await get(session, scope, form_id)
    rows, cursor = await paginate(
        session, select(FormVersion).where(FormVersion.form_id == form.id), params,
        [SortKey(FormVersion.version)])
    found = [_version_read(form, r) for r in rows]
    # The last page holds the newest published version, which is the draft's once published.
    if cursor is None and not any(v.version == form.version for v in found):
        found.append(_draft_read(form))
    return found, cursor


async def version(session: AsyncSession, scope: DeskScope, form_id: int,
                  number: int) -> FormVersionRead:
    form = await get(session, scope, form_id)
    row = await session.scalar(select(FormVersion).where(FormVersion.form_id == form.id,
                                                         FormVersion.version == number))
    if row is not None:
        return _version_read(form, row)
    if number == form.version:
        return _draft_read(form)
    raise NotFound(f"Form {form_id} has no version {number}.")


def read_submission(row: FormSubmission) -> SubmissionRead:
    return SubmissionRead(id=row.id, desk_id=row.desk_id, form_id=row.form_id,
                          version=row.version, ticket_id=row.ticket_id, answers=row.answers,
                          created_at=row.created_at)


async def list_submissions(session: AsyncSession, scope: DeskScope, form_id: int,
                           params: PageParams) -> tuple[list[FormSubmission], str | None]:
    """Newest first."""
    form = await get(session, scope, form_id)
    stmt = select(FormSubmission).where(FormSubmission.desk_id == form.desk_id,
                                        FormSubmission.form_id == form.id)
    return await paginate(session, stmt, params, [SortKey(FormSubmission.id, descending=True)])
