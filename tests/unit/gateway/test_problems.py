"""RFC 9457 problem details: one shape for every refusal, framework ones included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from reelhouse.gateway.problems import (
    PROBLEM_JSON,
    FieldError,
    ProblemError,
    build_problem,
    field_path,
    install_problem_handlers,
    problem_responses,
)


class Body(BaseModel):
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refuse")
    async def refuse() -> None:
        raise ProblemError(
            "unknown_model", "no such model", errors=[FieldError(path="model", message="unknown")]
        )

    @app.post("/body")
    async def body(payload: Body) -> Body:
        return payload

    @app.get("/db-down")
    async def db_down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("bug")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def test_a_problem_carries_the_catalogue_status_and_code() -> None:
    problem = build_problem("invalid_cursor", instance="/v1/generations")

    assert problem.model_dump(exclude_none=True) == {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "The pagination cursor is not valid.",
        "code": "invalid_cursor",
        "instance": "/v1/generations",
    }


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "input", "prompt"), "input.prompt"),
        (("body", "items", 0), "items.0"),
        (("query", "limit"), "query.limit"),
        (("body",), "body"),
    ],
)
def test_field_paths_are_dotted_and_relative_to_the_body(
    loc: tuple[str | int, ...], path: str
) -> None:
    assert field_path(loc) == path


async def test_raised_problem_becomes_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/refuse")

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "no such model",
        "code": "unknown_model",
        "instance": "/refuse",
        "errors": [{"path": "model", "message": "unknown"}],
    }


async def test_request_validation_errors_use_the_same_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/body", json={"count": "many"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["path"] for e in problem["errors"]] == ["count"]


async def test_unparseable_json_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/body", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/nowhere", 404, "not_found"), ("DELETE", "/refuse", 405, "method_not_allowed")],
)
async def test_framework_errors_are_problems(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == code


async def test_an_unexpected_exception_is_a_500_problem_without_details(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/crash")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "bug" not in response.text


async def test_an_unreachable_database_is_a_retryable_503(client: httpx.AsyncClient) -> None:
    response = await client.get("/db-down")

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "5"


def test_documented_responses_group_codes_by_status() -> None:
    responses = problem_responses("unauthorized", "validation_error", "unknown_model")

    assert sorted(responses) == [401, 422]
    assert "unknown_model" in responses[422]["description"]
    assert "validation_error" in responses[422]["description"]
