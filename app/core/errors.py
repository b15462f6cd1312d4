"""Domain errors and their one rendering: RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_type(slug: str) -> str:
    return f"urn:switchboard:problem:{slug}"


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "name"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem document; extension members may follow."""

    type: str = Field(examples=[problem_type("not-found")])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(None, examples=["Desk 42 does not exist"])
    instance: str | None = Field(None, description="The request path.")
    request_id: str | None = Field(None, description="Echoes the X-Request-ID header.")
    errors: list[ErrorItem] | None = Field(None, description="Validation problems, one per field.")

    model_config = {"extra": "allow"}


class AppError(Exception):
    """Base of every error a service may raise; rendered as problem+json."""

    status: int = 500
    slug: str = "internal-error"
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.default_title())
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extensions = extensions

    @classmethod
    def default_title(cls) -> str:
        return cls.title or HTTPStatus(cls.status).phrase


class BadRequest(AppError):
    status, slug = 400, "bad-request"


class Unauthorized(AppError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status, slug = 403, "forbidden"


class NotFound(AppError):
    status, slug = 404, "not-found"


class Conflict(AppError):
    status, slug = 409, "conflict"


class PreconditionFailed(AppError):
    status, slug = 412, "precondition-failed"


class PayloadTooLarge(AppError):
    status, slug = 413, "payload-too-large"


class Unprocessable(AppError):
    status, slug, title = 422, "validation-error", "Validation Error"


class TooManyRequests(AppError):
    status, slug = 429, "rate-limited"


class ServiceUnavailable(AppError):
    status, slug = 503, "service-unavailable"


_SLUGS = {cls.status: cls.slug for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
    Unprocessable, TooManyRequests, ServiceUnavailable,
)}


def field_error(loc: Iterable[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": type_}


def invalid(loc: Iterable[str | int], msg: str, type_: str = "value_error") -> Unprocessable:
    """A 422 naming one field: `raise invalid(["body", "desk_ids", 0], "not a sandbox desk")`."""
    return Unprocessable(msg, errors=[field_error(loc, msg, type_)])


def problem_response(
    request: Request | None,
    status: int,
    *,
    slug: str,
    title: str | None = None,
    detail: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = correlation_id.get()
    if errors is not None:
        body["errors"] = errors
    if extensions:
        body.update({k: v for k, v in extensions.items() if k not in body})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_MEDIA_TYPE)


def render_app_error(request: Request | None, exc: AppError) -> JSONResponse:
    return problem_response(
        request, exc.status, slug=exc.slug, title=exc.default_title(), detail=exc.detail,
        errors=exc.errors, headers=exc.headers, extensions=exc.extensions,
    )


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int | str) else str(p) for p in loc]


def render_validation_error(request: Request | None, exc: RequestValidationError) -> JSONResponse:
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        errors = [field_error(_clean_loc(e["loc"]), e.get("msg", "Invalid JSON"), "json_invalid")
                  for e in raw if e.get("type") == "json_invalid"]
        return problem_response(request, 400, slug="malformed-json", title="Malformed JSON",
                                detail="The request body is not valid JSON.", errors=errors)
    # Never echo `input`: it may hold a password or a token.
    errors = [field_error(_clean_loc(e["loc"]), e["msg"], e["type"]) for e in raw]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return problem_response(request, 422, slug="validation-error", title="Validation Error",
                            detail=detail, errors=errors)


def render_any(request: Request, exc: Exception) -> JSONResponse:
    """Render any exception a route may raise; unknown ones are a 500 without internals."""
    if isinstance(exc, AppError):
        return render_app_error(request, exc)
    if isinstance(exc, RequestValidationError):
        return render_validation_error(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return problem_response(request, exc.status_code, slug=_http_slug(exc.status_code),
                                detail=exc.detail if isinstance(exc.detail, str) else None,
                                headers=exc.headers)
    log.exception("unhandled error", exc_info=exc)
    return problem_response(request, 500, slug="internal-error",
                            detail="An unexpected error occurred; it has been logged.")


def _http_slug(status: int) -> str:
    """The domain error's slug for its status (413 → payload-too-large), else the phrase."""
    if status in _SLUGS:
        return _SLUGS[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-")
    except ValueError:
        return "http-error"


def install_error_handlers(app: FastAPI) -> None:
    """Errors raised outside routes (unknown path, 405, middleware) render the same way."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return render_any(request, exc)

    app.add_exception_handler(AppError, handle)
    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(StarletteHTTPException, handle)
    app.add_exception_handler(Exception, handle)


def problem_schemas() -> dict[str, Any]:
    """`Problem` and the schemas it refers to, for `components/schemas`."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "Problem": schema}


PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json for the given statuses."""
    return {
        s: {"description": HTTPStatus(s).phrase, "content": PROBLEM_CONTENT}
        for s in statuses
    }
