"""CORS and OPTIONS: none by default, any listed origin when configured; OPTIONS never 405."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reelhouse.gateway.cors import CorsSettings
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, running_gateway

APP_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
async def cors_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    configured = settings.model_copy(update={"cors": CorsSettings(allowed_origins=[APP_ORIGIN])})
    async with running_gateway(configured) as running:
        yield running


async def test_options_without_origin_answers_204_with_allow(gateway: Gateway) -> None:
    response = await gateway.client.options("/v1/generations")

    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS, POST"


async def test_options_on_an_unknown_path_is_a_404_problem(gateway: Gateway) -> None:
    response = await gateway.client.options("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_no_origin_is_allowed_by_default(gateway: Gateway) -> None:
    preflight = await gateway.client.options("/v1/generations", headers=PREFLIGHT)
    actual = await gateway.client.get(
        "/v1/generations", headers={**gateway.auth(), "Origin": APP_ORIGIN}
    )

    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in actual.headers


async def test_a_preflight_from_an_allowed_origin_is_answered(cors_gateway: Gateway) -> None:
    response = await cors_gateway.client.options(
        "/v1/generations/job_x/events",
        headers={
            **PREFLIGHT,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id, x-api-key",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["allow"] == "GET, OPTIONS"
    assert response.headers["access-control-allow-methods"] == "GET, OPTIONS"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {
        "authorization",
        "x-api-key",
        "content-type",
        "idempotency-key",
        "last-event-id",
    } <= allowed
    assert int(response.headers["access-control-max-age"]) > 0


async def test_a_preflight_from_another_origin_gets_no_cors_headers(cors_gateway: Gateway) -> None:
    response = await cors_gateway.client.options(
        "/v1/generations", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )

    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["allow"] == "GET, OPTIONS, POST"


async def test_responses_to_an_allowed_origin_expose_the_api_headers(
    cors_gateway: Gateway,
) -> None:
    response = await cors_gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}},
        headers={**cors_gateway.auth(), "Origin": APP_ORIGIN},
    )
    refused = await cors_gateway.client.get("/v1/generations", headers={"Origin": APP_ORIGIN})

    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"location", "retry-after", "idempotent-replayed"} <= exposed
    # problems too: a browser app must be able to read why it was refused
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN
