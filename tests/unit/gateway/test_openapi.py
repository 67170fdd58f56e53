"""The generated OpenAPI document describes the real responses, problems included."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from reelhouse.common.settings import SigningSettings
from reelhouse.gateway.app import build_app
from reelhouse.gateway.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = Settings(signing=SigningSettings(keys={"k1": SecretStr("x")}))
    return build_app(settings).openapi()


def test_submit_is_documented_as_202_with_the_job(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/generations"]["post"]

    ok = post["responses"]["202"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Generation"}
    # the body guard's 400/413/415, the rate limit's 429 and the database's 503 too
    assert set(post["responses"]) == {"202", "400", "401", "413", "415", "422", "429", "503"}


def test_errors_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path in document["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert set(response["content"]) == {"application/problem+json"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_both_api_key_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"


def test_the_job_schema_lists_status_error_and_outputs(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    generation = schemas["Generation"]["properties"]

    assert {"id", "status", "error", "outputs", "created_at", "updated_at", "links"} <= set(
        generation
    )
    assert schemas["JobStatus"]["enum"] == [
        "queued",
        "submitted",
        "running",
        "downloading",
        "succeeded",
        "failed",
        "canceled",
    ]
    assert "poster_url" in schemas["OutputOut"]["properties"]


def test_cancel_is_documented_as_202_with_the_job_and_409_for_a_final_one(
    document: dict[str, Any],
) -> None:
    post = document["paths"]["/v1/generations/{job_id}/cancel"]["post"]

    ok = post["responses"]["202"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Generation"}
    assert set(post["responses"]) == {"202", "401", "404", "409", "422", "503"}
    assert "job_final" in post["responses"]["409"]["description"]


def test_the_job_schema_shows_cancel_attempts_and_deadlines(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    generation = schemas["Generation"]["properties"]

    assert {
        "cancel_requested",
        "cancel_requested_at",
        "attempts",
        "deadline_seconds",
        "start_deadline_seconds",
    } <= set(generation)
    assert set(schemas["AttemptOut"]["properties"]) == {
        "provider",
        "provider_request_id",
        "status",
        "error",
    }
    assert "provider_detail" in schemas["JobErrorOut"]["properties"]
    assert "cancel" in schemas["GenerationLinks"]["properties"]
    # one variant per catalogue model, each with the deadlines
    variants = schemas["GenerationCreate"]["oneOf"]
    assert variants
    assert all("start_deadline_seconds" in v["properties"] for v in variants)


def test_the_model_schema_lists_routes_defaults_and_price(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    assert {"id", "kind", "providers", "input_schema", "defaults", "price", "description"} <= set(
        schemas["ModelOut"]["properties"]
    )
    assert schemas["PriceOut"]["properties"]["unit"]["enum"] == ["second", "image", "run"]
    assert document["paths"]["/v1/models/{model_id}"]["get"]["responses"]["200"]


def test_probes_and_metrics_are_documented(document: dict[str, Any]) -> None:
    for path in ("/readyz", "/healthz"):
        get = document["paths"][path]["get"]
        assert set(get["responses"]) == {"200", "503"}, path
        assert "outbox" in get["description"], path
    assert set(document["paths"]["/livez"]["get"]["responses"]) == {"200"}
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]
    assert "text/plain" in metrics["content"]
