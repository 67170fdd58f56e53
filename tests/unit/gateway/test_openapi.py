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
    assert set(post["responses"]) == {
        "202",
        "400",
        "401",
        "402",
        "403",
        "409",
        "413",
        "415",
        "422",
        "429",
        "503",
    }


def test_errors_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path in document["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                if status == "400":  # the HTTP server's own refusal is plain text
                    assert set(response["content"]) <= {"application/problem+json", "text/plain"}
                elif status.startswith("4"):
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
    assert set(post["responses"]) == {"202", "400", "401", "403", "404", "409", "422", "503"}
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
        "redownload_of",
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
    assert schemas["PriceOut"]["properties"]["unit"]["enum"] == [
        "second",
        "image",
        "run",
        "prediction_second",
    ]
    assert document["paths"]["/v1/models/{model_id}"]["get"]["responses"]["200"]


def test_probes_and_metrics_are_documented(document: dict[str, Any]) -> None:
    for path in ("/readyz", "/healthz"):
        get = document["paths"][path]["get"]
        assert set(get["responses"]) == {"200", "503"}, path
        assert "outbox" in get["description"], path
    assert set(document["paths"]["/livez"]["get"]["responses"]) == {"200"}
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]
    assert "text/plain" in metrics["content"]


def test_submit_documents_the_idempotency_key_and_its_problems(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/generations"]["post"]

    headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert "Idempotent-Replayed" in post["responses"]["202"]["headers"]
    assert "idempotency_key_invalid" in post["responses"]["400"]["description"]
    assert "idempotency_key_in_flight" in post["responses"]["409"]["description"]
    assert "idempotency_key_reused" in post["responses"]["422"]["description"]
    assert "insufficient_scope" in post["responses"]["403"]["description"]


def test_the_keys_api_is_documented(document: dict[str, Any]) -> None:
    keys = document["paths"]["/v1/keys"]
    revoke = document["paths"]["/v1/keys/{key_id}"]["delete"]
    created = document["components"]["schemas"]["KeyCreated"]["properties"]
    listed = document["components"]["schemas"]["KeyOut"]["properties"]

    # the body guard's 400/413/415 on a body, the database's 503 on every authenticated one
    assert set(keys["post"]["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "413",
        "415",
        "422",
        "503",
    }
    assert set(keys["get"]["responses"]) == {"200", "400", "401", "403", "422", "503"}
    assert set(revoke["responses"]) == {"204", "400", "401", "403", "404", "422", "503"}
    assert {"id", "key", "owner", "scopes", "expires_at", "name", "prefix"} <= set(created)
    assert "key" not in listed
    assert {"prefix", "name", "owner", "scopes", "created_at", "last_used_at", "expires_at"} <= set(
        listed
    )


def test_event_streams_are_documented_as_text_event_stream(document: dict[str, Any]) -> None:
    for path in ("/v1/events", "/v1/generations/{job_id}/events"):
        get = document["paths"][path]["get"]
        assert "text/event-stream" in get["responses"]["200"]["content"]
        assert {"400", "401", "422", "429"} <= set(get["responses"])
        headers = {p["name"] for p in get["parameters"] if p["in"] == "header"}
        assert "Last-Event-ID" in headers
    job_events = document["paths"]["/v1/generations/{job_id}/events"]["get"]["responses"]
    assert "application/json" in job_events["200"]["content"]
    assert {"204", "404"} <= set(job_events)


def test_uploads_are_documented_as_multipart_with_their_problems(
    document: dict[str, Any],
) -> None:
    create = document["paths"]["/v1/uploads"]["post"]
    body = create["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"]
    assert body["properties"]["file"]["format"] == "binary"
    assert {"201", "401", "403", "413", "415", "422"} <= set(create["responses"])
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Upload"
    )
    assert "upload_too_large" in create["responses"]["413"]["description"]
    assert "unsupported_media" in create["responses"]["415"]["description"]
    assert "corrupt_media" in create["responses"]["422"]["description"]
    one = document["paths"]["/v1/uploads/{upload_id}"]
    assert "404" in one["get"]["responses"]
    assert {"204", "404"} <= set(one["delete"]["responses"])
    upload = document["components"]["schemas"]["Upload"]["properties"]
    for name in ("id", "kind", "sha256", "url", "reference", "expires_at", "duration"):
        assert name in upload
