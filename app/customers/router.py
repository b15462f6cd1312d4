from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request, Response, status

from app.core.boundary import api_router
from app.core.concurrency import IfMatch, set_created, set_etag
from app.core.db import Session
from app.core.errors import problem_responses
from app.core.ids import INT4_MAX, PathId
from app.core.pagination import Page, Pagination
from app.core.principal import CustomersRead, CustomersWrite
from app.core.text import Text
from app.customers import importer, service
from app.customers.schemas import (
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    ImportResult,
)

router = api_router(prefix="/customers", tags=["customers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerRead,
             responses=problem_responses(409))
async def create_customer(payload: CustomerCreate, session: Session, scope: CustomersWrite,
                          response: Response) -> CustomerRead:
    customer = await service.create(session, scope, payload)
    set_created(response, f"/v1/customers/{customer.id}", customer.version)
    return service.read(customer)


@router.get("", response_model=Page[CustomerRead])
async def list_customers(
    session: Session, scope: CustomersRead, page: Pagination,
    desk_id: Annotated[int | None, Query(ge=1, le=INT4_MAX, description="Only this desk's.")]
    = None,
    email: Annotated[Text | None, Query(max_length=320, description="Exact, any case.")] = None,
    organization_id: Annotated[int | None, Query(ge=1, le=INT4_MAX,
                                                 description="Members of this organization.")]
    = None,
    q: Annotated[Text | None, Query(max_length=200, description="In name or email.")] = None,
) -> Page[CustomerRead]:
    customers, cursor = await service.list_(session, scope, page, desk_id=desk_id, email=email,
                                            organization_id=organization_id, q=q)
    return Page(items=[service.read(c) for c in customers], next_cursor=cursor)


@router.post(
    "/import", response_model=ImportResult, responses=problem_responses(409),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
        "type": "string",
        "description": "Header `email,name,organization,phone` plus custom field keys."}}}}},
)
async def import_customers(
    request: Request, session: Session, scope: CustomersWrite,
    desk_id: Annotated[int, Query(ge=1, le=INT4_MAX, description="The desk to import into.")],
    on_existing: Annotated[Literal["error", "skip"], Query(
        description="A row whose email the desk already holds: fail the file, or skip it.")]
    = "error",
) -> ImportResult:
    """All or nothing: any invalid row rejects the file (422 naming each row and column)."""
    return await importer.import_csv(session, scope, desk_id, request.stream(),
                                     on_existing=on_existing)


@router.get("/{customer_id}", response_model=CustomerRead)
async def get_customer(customer_id: PathId, session: Session, scope: CustomersRead,
                       response: Response) -> CustomerRead:
    customer = await service.get(session, scope, customer_id)
    set_etag(response, customer.version)
    return service.read(customer)


@router.patch("/{customer_id}", response_model=CustomerRead,
              responses=problem_responses(409, 412))
async def update_customer(customer_id: PathId, payload: CustomerUpdate, session: Session,
                          scope: CustomersWrite, response: Response,
                          if_match: IfMatch = None) -> CustomerRead:
    customer = await service.update(session, scope, customer_id, payload, if_match)
    set_etag(response, customer.version)
    return service.read(customer)
