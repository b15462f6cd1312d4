"""Web forms: the authenticated definitions (the public endpoints are in `public.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId, QueryId
from app.core.pagination import Page, Pagination
from app.core.principal import FormsRead, FormsWrite
from app.forms import service, submissions
from app.forms.schemas import (
    FormCreate,
    FormKind,
    FormRead,
    FormUpdate,
    FormVersionRead,
    SubmissionRead,
)

router = api_router(prefix="/forms", tags=["forms"])

SCHEMA_RESPONSE = {200: {"description": "JSON Schema (2020-12) of a submission body",
                         "content": {"application/json": {"schema": {"type": "object"}}}}}


def _honeypot(request: Request) -> str:
    return request.app.state.settings.form_honeypot_field


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FormRead,
             responses=problem_responses(409))
async def create_form(payload: FormCreate, request: Request, session: Session, scope: FormsWrite,
                      response: Response) -> FormRead:
    """Define a form. Slugs are unique across desks (409); a field mapped onto a ticket member
    of another type, or a published ticket form without a required `requester.email` field,
    is a 422 at the field."""
    form = await service.create(session, scope, payload, honeypot=_honeypot(request))
    set_created(response, f"/v1/forms/{form.id}", form.revision)
    return service.read(form)


@router.get("", response_model=Page[FormRead])
async def list_forms(session: Session, scope: FormsRead, page: Pagination,
                     desk_id: QueryId | None = None, kind: FormKind | None = None,
                     published: bool | None = None) -> Page[FormRead]:
    forms, cursor = await service.list_(session, scope, page, desk_id=desk_id, kind=kind,
                                        published=published)
    return Page(items=[service.read(f) for f in forms], next_cursor=cursor)


@router.get("/{form_id}", response_model=FormRead)
async def get_form(form_id: PathId, session: Session, scope: FormsRead,
                   response: Response) -> FormRead:
    form = await service.get(session, scope, form_id)
    set_etag(response, form.revision)
    return service.read(form)


@router.patch("/{form_id}", response_model=FormRead, responses=problem_responses(409, 412))
async def update_form(form_id: PathId, payload: FormUpdate, request: Request, session: Session,
                      scope: FormsWrite, response: Response, if_match: IfMatch = None) -> FormRead:
    """A change of a published form's `fields` makes a new `version` (the old one is kept for
    the submissions that answered it)."""
    form = await service.update(session, scope, form_id, payload, if_match,
                                honeypot=_honeypot(request))
    set_etag(response, form.revision)
    return service.read(form)


@router.get("/{form_id}/schema", responses=SCHEMA_RESPONSE)
async def form_schema(form_id: PathId, session: Session, scope: FormsRead) -> dict[str, Any]:
    """The submission body as JSON Schema 2020-12: types, formats, bounds, options, required."""
    return submissions.schema(await service.get(session, scope, form_id))


@router.get("/{form_id}/versions", response_model=Page[FormVersionRead])
async def list_versions(form_id: PathId, session: Session, scope: FormsRead,
                        page: Pagination) -> Page[FormVersionRead]:
    """Every version the form was published with, oldest first; the last page ends with the
    current draft when that was never published (`created_at` null)."""
    versions, cursor = await service.versions(session, scope, form_id, page)
    return Page(items=versions, next_cursor=cursor)


@router.get("/{form_id}/versions/{version}", response_model=FormVersionRead)
async def get_version(form_id: PathId, version: PathId, session: Session,
                      scope: FormsRead) -> FormVersionRead:
    return await service.version(session, scope, form_id, version)


@router.get("/{form_id}/submissions", response_model=Page[SubmissionRead])
async def list_submissions(form_id: PathId, session: Session, scope: FormsRead,
                           page: Pagination) -> Page[SubmissionRead]:
    """Answers as submitted, newest first, each with the version it answered and its ticket."""
    rows, cursor = await service.list_submissions(session, scope, form_id, page)
    return Page(items=[service.read_submission(r) for r in rows], next_cursor=cursor)


