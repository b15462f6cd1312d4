"""The ASGI application: routers, middleware, error handlers, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.auth.router import public_router as auth_public_router
from app.auth.router import router as auth_router
from app.core.clients import parse_proxies
from app.core.config import Settings, get_settings
from app.core.docs import install_docs
from app.core.errors import install_error_handlers
from app.core.heap import freeze_startup_heap
from app.core.logging import configure_logging
from app.core.methods import MethodGuardMiddleware
from app.core.middleware import (
    BodySizeLimitMiddleware,
    MetricsMiddleware,
    SecurityHeadersMiddleware,
)
from app.core.openapi import install_openapi, operation_id
from app.core.resources import Resources
from app.customers.router import router as customers_router
from app.desks.router import router as desks_router
from app.events.router import router as events_router
from app.fields.router import router as fields_router
from app.forms.cors import PublicCORSMiddleware, parse_origins
from app.forms.public import public_router as forms_public_router
from app.forms.router import router as forms_router
from app.forms.survey_router import router as forms_survey_router
from app.health.router import public_router as health_public_router
from app.intake.router import attachments_router
from app.intake.router import router as intake_router
from app.organizations.router import router as organizations_router
from app.routing.router import router as routing_rules_router
from app.routing.runs_router import router as routing_runs_router
from app.staff.router import router as staff_router
from app.tickets.router import router as tickets_router
from app.transfers.router import router as transfers_router
from app.views.router import router as views_router
from app.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)

DESCRIPTION = """
Switchboard is an API-first ticketing backend. Every error is an RFC 9457
`application/problem+json` document; every list is `{items, next_cursor}`; `POST` accepts
`Idempotency-Key`; `PATCH` honours `If-Match`. Request bodies are `application/json` (any
`+json` type too) unless an operation says otherwise: another media type, or none, is a 415. A
method a path does not serve is a 405 whose `Allow` lists every method it does; a `204` has
no body and no `Content-Type`.
Each operation says the scope it needs: `admin` implies every scope, and a `:write`
scope implies its `:read`.
"""

# Every tag an operation uses, in the order the reference shows them (tests/test_openapi.py).
TAGS = [
    {"name": "tickets", "description": "Tickets: create, list and search, update with "
     "`If-Match`, transfer, comments, history, the board and the CSV export."},
    {"name": "auth", "description": "Sign in (`POST /v1/auth/token`), who is calling "
     "(`GET /v1/me`) and API tokens."},
    {"name": "public", "description": "Unauthenticated endpoints for end users: public forms, "
     "their submissions and satisfaction surveys (rate-limited per address)."},
    {"name": "desks", "description": "Desks (standard or sandbox), their members and teams; "
     "a sandbox desk can be reset."},
    {"name": "custom fields", "description": "Typed custom fields a desk defines for its "
     "organizations, customers and tickets."},
    {"name": "staff", "description": "Staff users and teams (admin only)."},
    {"name": "organizations", "description": "Customer organizations of a desk, their routing "
     "actions and domain-based customer claims."},
    {"name": "customers", "description": "End customers (requesters), CSV import and moves "
     "between desks."},
    {"name": "views", "description": "Saved ticket views: named filters, columns and sort."},
    {"name": "events", "description": "The event feed: every change, in order, with a cursor "
     "to resume from."},
    {"name": "forms", "description": "Intake forms: versioned definitions, JSON Schema and "
     "submissions."},
    {"name": "surveys", "description": "Satisfaction survey links for a ticket and their "
     "answers."},
    {"name": "inbound", "description": "Inbound email (raw RFC 5322 message) becoming tickets "
     "and comments."},
    {"name": "attachments", "description": "Files that arrived with tickets."},
    {"name": "routing", "description": "Routing rules of a desk, their order, dry runs and a "
     "ticket's routing record."},
    {"name": "webhooks", "description": "Webhook subscriptions, signed deliveries, retries, "
     "redelivery and sample payloads."},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
]


def create_app(settings: Settings | None = None, *, manage_resources: bool = True) -> FastAPI:
    """Build the app. Tests pass `manage_resources=False` and set `app.state` themselves."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not manage_resources:
            yield
            return
        resources = Resources.open(settings)
        app.state.sessionmaker = resources.sessionmaker
        app.state.redis = app.state.arq = resources.redis
        freeze_startup_heap()
        try:
            yield
        finally:
            await resources.close()

    app = FastAPI(
        title="Switchboard",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        openapi_tags=TAGS,
        servers=[{"url": "/", "description": "This deployment (paths are relative to it)."}],
        contact={"name": "The operators of this Switchboard deployment"},
        generate_unique_id_function=operation_id,
        docs_url=None,  # install_docs serves both pages with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.redis = app.state.arq = None

    # Each domain router hangs straight off the app: every level of nesting costs a full
    # route match per request in FastAPI's router, so the tree is kept one level deep. FastAPI
    # tries routes in order (about 25 calls each), so the hottest domain, tickets, comes first;
    # none of the routers it now precedes serves a path under /v1/tickets. Each router says
    # itself whether it authenticates (`api_router`); only the `public_router`s do not.
    for router in (tickets_router, auth_public_router, forms_public_router, auth_router,
                   desks_router, fields_router, staff_router, organizations_router,
                   customers_router, transfers_router, views_router, events_router, forms_router,
                   forms_survey_router, intake_router, attachments_router, routing_rules_router,
                   routing_runs_router, webhooks_router):
        app.include_router(router, prefix="/v1")
    app.include_router(health_public_router)
    install_docs(app)

    install_error_handlers(app)
    app.add_middleware(MethodGuardMiddleware)  # innermost: it reads the routes in place
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       overrides={"/v1/customers/import": settings.max_import_bytes,
                                  "/v1/inbound/email": settings.max_email_bytes})
    if portal_origins := parse_origins(settings.portal_origins):
        app.add_middleware(PublicCORSMiddleware, origins=portal_origins)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.add_middleware(SecurityHeadersMiddleware)  # error answers get them too
    if proxies := parse_proxies(settings.trusted_proxies):
        # Outermost: whatever reads the client address sees the one a trusted proxy named.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    install_openapi(app)
    return app


def app_factory() -> FastAPI:  # pragma: no cover - uvicorn --factory entry point
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
