"""The endpoints anyone may call (no credential): published forms, submissions, survey answers.

Abuse defences, in order: a per-IP rate limit (and one per form) counted in Redis (429 with
`Retry-After`), a body limit (`FORM_MAX_BODY_BYTES`, 413), a honeypot input that drops bots
without telling them, and every text answer stored as plain text.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Path, Request, status

from app.core import ratelimit
from app.core.boundary import api_router
from app.core.clients import client_ip
from app.core.config import Settings
from app.core.db import Session
from app.core.errors import BadRequest, PayloadTooLarge, invalid, problem_responses
from app.forms import submissions, surveys
from app.forms.schemas import (
    SLUG_PATTERN,
    SUBMISSION_BODY,
    PublicForm,
    PublicSurvey,
    SubmissionAccepted,
    SurveyAnswer,
    SurveyThanks,
)

public_router = api_router(authenticated=False, prefix="/public", tags=["public"])

SlugPath = Annotated[str, Path(max_length=100, pattern=SLUG_PATTERN)]
TokenPath = Annotated[str, Path(min_length=1, max_length=2048, description="From the survey link.")]


async def limit(request: Request, identity: str, per_minute: int) -> None:
    settings: Settings = request.app.state.settings
    state = await ratelimit.hit(request.app.state.redis, settings.redis_namespace, identity,
                                per_minute)
    if state is not None:
        request.state.ratelimit = state


async def read_json(request: Request, max_bytes: int) -> Any:
    """The body as JSON: 413 past `max_bytes` (declared or sent), 400 when it is not JSON."""
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    raw = await request.body()
    if len(raw) > max_bytes:
        raise too_large
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("The request body is not valid JSON.", errors=[{
            "loc": ["body"], "msg": "Invalid JSON", "type": "json_invalid"}]) from exc


@public_router.get("/forms/{slug}", response_model=PublicForm)
async def get_public_form(slug: SlugPath, session: Session) -> PublicForm:
    """A published form: its fields, types and constraints (no desk, no mappings)."""
    form, _ = await submissions.published(session, slug)
    return submissions.public(form)


@public_router.get("/forms/{slug}/schema", responses={200: {"description": "JSON Schema 2020-12"}})
async def get_public_schema(slug: SlugPath, session: Session) -> dict[str, Any]:
    """The submission body as JSON Schema 2020-12 (the same as `GET /v1/forms/{id}/schema`)."""
    form, _ = await submissions.published(session, slug)
    return submissions.schema(form)


@public_router.post("/forms/{slug}/submissions", status_code=status.HTTP_201_CREATED,
             response_model=SubmissionAccepted, openapi_extra={"requestBody": SUBMISSION_BODY},
             responses=problem_responses(409, 429))
async def submit_form(slug: SlugPath, request: Request, session: Session) -> SubmissionAccepted:
    """Submit answers: `{key: value}` as the form's schema describes. A ticket form finds or
    creates the requester and opens a ticket (`source: web_form`); the answer is its number.
    Invalid answers → 422 with one error per field at `["body", key]`; an archived desk → 409."""
    settings: Settings = request.app.state.settings
    await limit(request, f"form-ip:{client_ip(request)}", settings.form_rate_limit_per_ip)
    body = await read_json(request, settings.form_max_body_bytes)
    if not isinstance(body, dict):
        raise invalid(["body"], "must be a JSON object of answers", "dict_type")
    form, desk = await submissions.published(session, slug)
    await limit(request, f"form:{form.id}", settings.form_rate_limit_per_form)
    number = await submissions.submit(
        session, form, desk, body, honeypot=settings.form_honeypot_field,
        ip_digest=submissions.ip_hash(settings.secret_key, client_ip(request)))
    return SubmissionAccepted(number=number)


@public_router.get("/surveys/{token}", response_model=PublicSurvey, responses=problem_responses(410))
async def get_survey(token: TokenPath, request: Request, session: Session) -> PublicSurvey:
    """What a survey link asks about; a forged link → 404, an expired one → 410."""
    return await surveys.describe(session, token, request.app.state.settings.secret_key)


@public_router.post("/surveys/{token}", status_code=status.HTTP_201_CREATED, response_model=SurveyThanks,
             responses=problem_responses(409, 410, 429))
async def answer_survey(token: TokenPath, payload: SurveyAnswer, request: Request,
                        session: Session) -> SurveyThanks:
    """Rate the ticket 1–5 with an optional comment, once (a second answer → 409)."""
    settings: Settings = request.app.state.settings
    await limit(request, f"form-ip:{client_ip(request)}", settings.form_rate_limit_per_ip)
    return await surveys.answer(session, token, settings.secret_key, payload)
