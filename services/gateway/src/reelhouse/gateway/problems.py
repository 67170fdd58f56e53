"""RFC 9457 problem details: the one error shape of the API, with a catalogued ``code``.

Every refusal — ours, FastAPI's request validation, Starlette's 404/405 and any
unexpected exception — leaves as ``application/problem+json``::

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "...", "code": "validation_error", "instance": "/v1/generations",
     "errors": [{"path": "input.duration", "message": "..."}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from reelhouse.common.errors import lookup
from reelhouse.common.metrics import VALIDATION_FAILURES
from reelhouse.gateway.metrics import SERVICE

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

# the database cannot be reached (connection refused or lost, pool exhausted, a connection the
# server ended that the driver reports as an internal error: db/engine.py): retryable
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.TimeoutError,
    ConnectionError,
)


# an error quotes at most this much of anything the client sent (a 10 MB prompt must not
# come back in a 10 MB problem), and lists at most this many field errors
MAX_QUOTED_CHARS = 200
MAX_FIELD_ERRORS = 20


def clipped(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis says it was cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FieldError(BaseModel):
    """One invalid field: a dotted path into the request and what is wrong with it."""

    path: str = Field(examples=["input.duration"])
    message: str = Field(examples=["11 is greater than the maximum of 10"])

    @field_validator("path", "message")
    @classmethod
    def _clip(cls, value: str) -> str:
        return clipped(value)


class Problem(BaseModel):
    """RFC 9457 problem details, extended with a machine-readable ``code``."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["The request is not valid."])
    code: str = Field(examples=["validation_error"], description="One of the error catalogue codes")
    instance: str | None = Field(default=None, examples=["/v1/generations"])
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raised anywhere below a route to answer with a problem of a catalogued ``code``."""

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        entry = lookup(code)
        self.code = code
        self.status = entry.status
        self.detail = clipped(detail or entry.message, 4 * MAX_QUOTED_CHARS)
        self.errors = list(errors)[:MAX_FIELD_ERRORS] if errors is not None else None
        self.headers = headers
        super().__init__(f"{code}: {self.detail}")


def build_problem(
    code: str,
    *,
    detail: str | None = None,
    instance: str | None = None,
    errors: Sequence[FieldError] | None = None,
) -> Problem:
    entry = lookup(code)
    return Problem(
        title=HTTPStatus(entry.status).phrase,
        status=entry.status,
        detail=clipped(detail or entry.message, 4 * MAX_QUOTED_CHARS),
        code=code,
        instance=clipped(instance) if instance is not None else None,
        errors=list(errors)[:MAX_FIELD_ERRORS] if errors is not None else None,
    )


def problem_response(problem: Problem, *, headers: dict[str, str] | None = None) -> JSONResponse:
    if problem.status == HTTPStatus.UNPROCESSABLE_ENTITY:
        VALIDATION_FAILURES.labels(SERVICE, problem.code).inc()
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def field_path(loc: Iterable[int | str]) -> str:
    """``("body", "input", "prompt")`` → ``input.prompt``; other locations keep their prefix."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(raw: Sequence[Any]) -> list[FieldError]:
    """FastAPI/pydantic error dicts → field errors (never their ``input``: it may be huge)."""
    return [
        FieldError(path=field_path(err.get("loc", ())), message=str(err.get("msg", "invalid")))
        for err in raw[:MAX_FIELD_ERRORS]
    ]


_STATUS_CODES = {
    400: "malformed_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def code_for_status(status: int) -> str:
    """The catalogue code for a framework-raised HTTP status (404, 405, …)."""
    if status in _STATUS_CODES:
        return _STATUS_CODES[status]
    return "internal_error" if status >= 500 else "validation_error"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    problem = build_problem(
        exc.code, detail=exc.detail, instance=request.url.path, errors=exc.errors
    )
    return problem_response(problem, headers=exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problem = build_problem(
        "validation_error", instance=request.url.path, errors=validation_errors(exc.errors())
    )
    return problem_response(problem)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = code_for_status(exc.status_code)
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    problem = build_problem(code, detail=detail, instance=request.url.path)
    # keep the framework's status (e.g. 405) even when the code is a generic one
    problem = problem.model_copy(
        update={"status": exc.status_code, "title": HTTPStatus(exc.status_code).phrase}
    )
    return problem_response(problem, headers=dict(exc.headers or {}))


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("http.database_unavailable", path=request.url.path, error=repr(exc))
    problem = build_problem("database_unavailable", instance=request.url.path)
    return problem_response(problem, headers={"Retry-After": "5"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unhandled_error", path=request.url.path, error=repr(exc))
    return problem_response(build_problem("internal_error", instance=request.url.path))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for database_down in DATABASE_DOWN:
        app.add_exception_handler(database_down, _on_database_down)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problems a route may answer with."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(lookup(code).status, []).append(code)
    return {
        status: {
            "model": Problem,
            "description": f"{HTTPStatus(status).phrase} (code: {', '.join(sorted(names))})",
        }
        for status, names in sorted(by_status.items())
    }
