from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.domains import InvalidDomain, normalize_domain
from app.core.errors import invalid, problem_responses
from app.core.ids import INT4_MAX, PathId
from app.core.pagination import Page, Pagination
from app.core.principal import OrganizationsRead, OrganizationsWrite
from app.core.text import Text
from app.organizations import service
from app.organizations.schemas import (
    ClaimResult,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)

router = api_router(prefix="/organizations", tags=["organizations"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganizationRead,
             responses=problem_responses(409))
async def create_organization(payload: OrganizationCreate, session: Session,
                              scope: OrganizationsWrite, response: Response) -> OrganizationRead:
    org = await service.create(session, scope, payload)
    set_created(response, f"/v1/organizations/{org.id}", org.version)
    return service.read(org)


@router.get("", response_model=Page[OrganizationRead])
async def list_organizations(
    session: Session, scope: OrganizationsRead, page: Pagination,
    desk_id: Annotated[int | None, Query(ge=1, le=INT4_MAX, description="Only this desk's.")]
    = None,
    name: Annotated[Text | None, Query(max_length=200, description="Name prefix, any case.")] = None,
    domain: Annotated[Text | None, Query(max_length=300, description="Owns this domain.")] = None,
) -> Page[OrganizationRead]:
    if domain is not None:
        try:
            domain = normalize_domain(domain)
        except InvalidDomain as exc:
            raise invalid(["query", "domain"], str(exc)) from exc
    orgs, cursor = await service.list_(session, scope, page, desk_id=desk_id, name=name,
                                       domain=domain)
    return Page(items=[service.read(o) for o in orgs], next_cursor=cursor)


@router.get("/{organization_id}", response_model=OrganizationRead)
async def get_organization(organization_id: PathId, session: Session, scope: OrganizationsRead,
                           response: Response) -> OrganizationRead:
    org = await service.get(session, scope, organization_id)
    set_etag(response, org.version)
    return service.read(org)


@router.patch("/{organization_id}", response_model=OrganizationRead,
              responses=problem_responses(409, 412))
async def update_organization(organization_id: PathId, payload: OrganizationUpdate,
                              session: Session, scope: OrganizationsWrite, response: Response,
                              if_match: IfMatch = None) -> OrganizationRead:
    org = await service.update(session, scope, organization_id, payload, if_match)
    set_etag(response, org.version)
    return service.read(org)


@router.delete("/{organization_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(organization_id: PathId, session: Session,
                              scope: OrganizationsWrite) -> None:
    """Its customers stay, without an organization."""
    await service.delete(session, scope, organization_id)


@router.post("/{organization_id}/claim-customers", response_model=ClaimResult)
async def claim_customers(organization_id: PathId, session: Session,
                          scope: OrganizationsWrite) -> ClaimResult:
    """Customers of the organization's domains who have no organization join it."""
    ids = await service.claim_customers(session, scope, organization_id)
    return ClaimResult(organization_id=organization_id, claimed=len(ids), customer_ids=ids)
