"""`POST /v1/customers/{id}/transfer` and `POST /v1/organizations/{id}/transfer`."""

from __future__ import annotations

from app.core.boundary import api_router
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import PathId
from app.core.principal import CustomersWrite, OrganizationsWrite
from app.customers import service as customers
from app.customers.schemas import CustomerRead, CustomerTransfer
from app.organizations import service as organizations
from app.organizations.schemas import OrganizationRead, OrganizationTransfer
from app.transfers import service

router = api_router()


@router.post("/customers/{customer_id}/transfer", response_model=CustomerRead,
             responses=problem_responses(409), tags=["customers"])
async def transfer_customer(customer_id: PathId, payload: CustomerTransfer, session: Session,
                            scope: CustomersWrite) -> CustomerRead:
    """Move the customer (and, by default, its open tickets) to another desk."""
    return customers.read(await service.transfer_customer(
        session, scope, customer_id, payload.desk_id, payload.move_open_tickets))


@router.post("/organizations/{organization_id}/transfer", response_model=OrganizationRead,
             responses=problem_responses(409), tags=["organizations"])
async def transfer_organization(organization_id: PathId, payload: OrganizationTransfer,
                                session: Session, scope: OrganizationsWrite) -> OrganizationRead:
    """Move the organization, its customers and their open tickets to another desk."""
    return organizations.read(await service.transfer_organization(
        session, scope, organization_id, payload.desk_id))
