"""`/docs` (Swagger UI) and `/redoc`, served with their assets from this process.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank offline and under a
CSP that allows only this origin. The assets come from the `fastapi-offline` package (MIT; it
bundles Swagger UI, Apache-2.0, and ReDoc, MIT, with their licence headers), mounted with
Starlette's `StaticFiles(packages=...)`; the pages are FastAPI's, pointed at them. The routes are
added last so they cost the API's hot paths no route match (tests/test_docs.py).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"


def install_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Add the two pages and their assets; the app must be made with docs_url=redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"

    # Plain Starlette routes, as FastAPI's own docs routes are: no dependencies, no boundary.
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon.png"),
            with_google_fonts=False,
        )

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    if app.swagger_ui_oauth2_redirect_url:
        app.add_route(app.swagger_ui_oauth2_redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
