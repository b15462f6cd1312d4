"""Satisfaction surveys: a signed, expiring link per solved ticket, answered once.

The link's token is a JWT (HS256) whose key is derived from SECRET_KEY for this one purpose
and whose audience is `survey`, so neither a staff token nor a survey token passes for the
other. It carries the ticket and desk ids and its expiry; nothing is stored until the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.core.enums import TicketStatus
from app.core.errors import AppError, Conflict, NotFound
from app.core.outbox import EventType
from app.core.scope import DeskScope
from app.core.security import JWT_ALGORITHM, JWT_ISSUER
from app.forms.schemas import PublicSurvey, SurveyAnswer, SurveyLink, SurveyRead, SurveyThanks
from app.models import SurveyResponse, Ticket
from app.tickets import service as tickets

AUDIENCE = "survey"
SURVEYABLE = {TicketStatus.solved, TicketStatus.closed}


class Gone(AppError):
    status, slug = 410, "gone"


@dataclass(frozen=True)
class SurveyClaims:
    ticket_id: int
    desk_id: int
    expires_at: datetime


def _key(secret: str) -> OctKey:
    return OctKey.import_key(hmac.new(secret.encode(), b"switchboard:survey-link",
                                      hashlib.sha256).digest())


def issue_token(ticket_id: int, desk_id: int, secret: str, ttl: int, *,
                now: float | None = None) -> tuple[str, datetime]:
    issued = int(time.time() if now is None else now)
    claims = {"iss": JWT_ISSUER, "aud": AUDIENCE, "sub": str(ticket_id), "desk": desk_id,
              "iat": issued, "exp": issued + ttl}
    token = jwt.encode({"alg": JWT_ALGORITHM}, claims, _key(secret))
    return token, datetime.fromtimestamp(issued + ttl, UTC)


def verify_token(token: str, secret: str, *, now: float | None = None) -> SurveyClaims:
    """The claims of a genuine link; 404 for a forged or garbled one, 410 once expired."""
    try:
        decoded = jwt.decode(token, _key(secret), algorithms=[JWT_ALGORITHM])
        jwt.JWTClaimsRegistry(
            now=int(now) if now is not None else None,
            iss={"essential": True, "value": JWT_ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True}, exp={"essential": True},
        ).validate(decoded.claims)
        claims = decoded.claims
        return SurveyClaims(int(claims["sub"]), int(claims["desk"]),
                            datetime.fromtimestamp(int(claims["exp"]), UTC))
    except ExpiredTokenError as exc:
        raise Gone("This survey link has expired.") from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise NotFound("This survey link is not valid.") from exc


def url_path(token: str) -> str:
    return f"/v1/public/surveys/{token}"


async def _response(session: AsyncSession, ticket_id: int) -> SurveyResponse | None:
    return await session.scalar(select(SurveyResponse).where(SurveyResponse.ticket_id == ticket_id))


async def issue_link(session: AsyncSession, scope: DeskScope, ticket_id: int, *, secret: str,
                     ttl: int) -> SurveyLink:
    ticket = await tickets.get(session, scope, ticket_id)
    if ticket.status not in SURVEYABLE:
        raise Conflict(f"Ticket {ticket_id} is {ticket.status}; surveys follow solved tickets.")
    if await _response(session, ticket.id) is not None:
        raise Conflict(f"Ticket {ticket_id}'s survey is already answered.")
    token, expires_at = issue_token(ticket.id, ticket.desk_id, secret, ttl)
    return SurveyLink(token=token, url_path=url_path(token), expires_at=expires_at)


async def _ticket(session: AsyncSession, claims: SurveyClaims) -> Ticket:
    ticket = await session.get(Ticket, claims.ticket_id)
    if ticket is None:
        raise NotFound("This survey link is not valid.")
    return ticket


async def describe(session: AsyncSession, token: str, secret: str) -> PublicSurvey:
    claims = verify_token(token, secret)
    ticket = await _ticket(session, claims)
    return PublicSurvey(ticket_number=ticket.number, subject=ticket.subject,
                        answered=await _response(session, ticket.id) is not None,
                        expires_at=claims.expires_at)


def read(row: SurveyResponse) -> SurveyRead:
    return SurveyRead(ticket_id=row.ticket_id, desk_id=row.desk_id, rating=row.rating,
                      comment=row.comment, created_at=row.created_at)


async def answer(session: AsyncSession, token: str, secret: str,
                 payload: SurveyAnswer) -> SurveyThanks:
    """Record the rating once: a second answer is a 409 (two at once: the unique key decides)."""
    claims = verify_token(token, secret)
    ticket = await _ticket(session, claims)
    if await _response(session, ticket.id) is not None:
        raise Conflict("This survey is already answered; thank you.")
    row = SurveyResponse(desk_id=ticket.desk_id, ticket_id=ticket.id, rating=payload.rating,
                         comment=payload.comment)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    outbox.record(session, type=EventType.survey_answered, desk_id=ticket.desk_id, subject_type="ticket",
                  subject_id=ticket.id, data=read(row), scope=None)
    return SurveyThanks(ticket_number=ticket.number, rating=row.rating, comment=row.comment,
                        created_at=row.created_at)


async def get_answer(session: AsyncSession, scope: DeskScope, ticket_id: int) -> SurveyResponse:
    ticket = await tickets.get(session, scope, ticket_id)
    row = await _response(session, ticket.id)
    if row is None:
        raise NotFound(f"Ticket {ticket_id} has no survey answer.")
    return row
