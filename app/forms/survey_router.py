"""`/v1/tickets/{id}/survey-link` and `/v1/tickets/{id}/survey`: surveys seen from the ticket."""

from __future__ import annotations

from fastapi import Request

from app.core.boundary import api_router
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId
from app.core.principal import TicketsRead, TicketsWrite
from app.forms import surveys
from app.forms.schemas import SurveyLink, SurveyRead

router = api_router(prefix="/tickets", tags=["surveys"])


@router.post("/{ticket_id}/survey-link", response_model=SurveyLink,
             responses=problem_responses(409))
async def create_survey_link(ticket_id: PathId, request: Request, session: Session,
                             scope: TicketsWrite) -> SurveyLink:
    """A signed link for the requester to rate a solved (or closed) ticket; it expires after
    SURVEY_LINK_TTL_SECONDS and takes one answer. Unsolved or already answered → 409."""
    settings = request.app.state.settings
    return await surveys.issue_link(session, scope, ticket_id, secret=settings.secret_key,
                                    ttl=settings.survey_link_ttl_seconds)


@router.get("/{ticket_id}/survey", response_model=SurveyRead)
async def get_survey_answer(ticket_id: PathId, session: Session, scope: TicketsRead) -> SurveyRead:
    """The requester's rating and comment (404 until they answer)."""
    return surveys.read(await surveys.get_answer(session, scope, ticket_id))
