"""The OpenAPI document, with problem responses under ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reelhouse.common.errors import lookup
from reelhouse.gateway.problems import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"


def _problem_media_types(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref") == PROBLEM_REF:
                    content[PROBLEM_JSON] = content.pop("application/json")


# problems any operation of a kind may answer with, whoever wrote the route: the body guard's
# (body_guard.py), authentication's and the database's
BODY_PROBLEMS = (
    "malformed_body",
    "payload_too_large",
    "unsupported_media_type",
    "validation_error",
)
AUTHENTICATED_PROBLEMS = ("unauthorized", "database_unavailable")
PARAMETER_PROBLEMS = ("validation_error",)


def _add_problem(responses: dict[str, Any], code: str) -> None:
    status = str(lookup(code).status)
    response = responses.get(status)
    if response is None:
        responses[status] = {
            "description": f"{HTTPStatus(int(status)).phrase} (code: {code})",
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        return
    description: str = response.get("description", "")
    if code not in description:
        if description.endswith(")") and "(code: " in description:
            response["description"] = f"{description[:-1]}, {code})"
        else:
            response["description"] = f"{description} (code: {code})".strip()


# the HTTP server itself refuses a request line or headers it cannot parse or that are too
# large (a query string of many kilobytes), before the API sees it: 400, plain text
SERVER_REFUSAL = "400"
SERVER_REFUSAL_TEXT = {"schema": {"type": "string"}, "example": "Invalid HTTP request received."}


def _server_refusal(responses: dict[str, Any]) -> None:
    response = responses.setdefault(
        SERVER_REFUSAL,
        {"description": "Bad Request (the request line or headers are malformed or too large)"},
    )
    response.setdefault("content", {})["text/plain"] = SERVER_REFUSAL_TEXT


def _guard_responses(document: dict[str, Any]) -> None:
    """Document the statuses the middlewares and dependencies add to every operation."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            codes: list[str] = []
            if "requestBody" in operation:
                codes.extend(BODY_PROBLEMS)
            if operation.get("security"):
                codes.extend(AUTHENTICATED_PROBLEMS)
            if operation.get("parameters"):
                codes.extend(PARAMETER_PROBLEMS)
            for code in codes:
                _add_problem(responses, code)
            if operation.get("parameters") or operation.get("security"):
                _server_refusal(responses)
            operation["responses"] = dict(sorted(responses.items()))


def install_openapi(
    app: FastAPI, *, describe: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """The document, with problems as problem+json; ``describe`` refines it further."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            _problem_media_types(document)
            _guard_responses(document)
            if describe is not None:
                describe(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise
