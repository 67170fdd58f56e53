"""The OpenAPI document shows retries, admin bulk operations, list filters and availability."""

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


def test_retry_documents_202_and_its_conflicts(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/generations/{job_id}/retry"]["post"]

    assert set(post["responses"]) == {"202", "400", "401", "402", "403", "404", "409", "422", "503"}
    conflicts = post["responses"]["409"]["description"]
    for code in ("job_not_final", "job_not_retryable", "already_retried"):
        assert code in conflicts
    assert "model_unavailable" in post["responses"]["422"]["description"]


def test_the_list_documents_its_filters(document: dict[str, Any]) -> None:
    params = {p["name"] for p in document["paths"]["/v1/generations"]["get"]["parameters"]}

    assert {"status", "model", "error_code", "created_after", "created_before"} <= params


def test_admin_bulk_operations_are_documented(document: dict[str, Any]) -> None:
    for action in ("retry", "cancel"):
        post = document["paths"][f"/v1/admin/generations/{action}"]["post"]
        assert set(post["responses"]) >= {"200", "401", "422"}
    body = document["components"]["schemas"]["BulkRequest"]["properties"]
    assert {"status", "error_code", "model", "created_after", "owner", "dry_run", "limit"} <= set(
        body
    )


def test_models_and_jobs_show_the_new_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    assert {"available", "unavailable_reason"} <= set(schemas["ModelOut"]["properties"])
    assert {"retry_of", "retried_by"} <= set(schemas["Generation"]["properties"])
    assert "retry" in schemas["GenerationLinks"]["properties"]
    submit = document["paths"]["/v1/generations"]["post"]["responses"]["422"]["description"]
    assert "model_unavailable" in submit
