"""The catalogue tells the truth: unavailable models say why and refuse jobs; URI inputs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from reelhouse.gateway.db.models import Job, OutboxMessage
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, running_gateway

PNG_DATA_URI = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture
async def sandbox_only(settings: Settings) -> AsyncIterator[Gateway]:
    """A deployment with only the sandbox providers configured (as the embedded mode)."""
    narrowed = settings.model_copy(update={"configured_providers": ["sandbox", "sandbox-fal"]})
    async with running_gateway(narrowed) as gateway:
        yield gateway


async def test_models_without_a_configured_provider_are_listed_unavailable(
    sandbox_only: Gateway,
) -> None:
    response = await sandbox_only.client.get("/v1/models", headers=sandbox_only.auth())

    models = {m["id"]: m for m in response.json()["data"]}
    assert models["sandbox/text-to-video"]["available"] is True
    assert models["sandbox/text-to-video"]["unavailable_reason"] is None
    assert models["sandbox/text-to-video-fallback"]["available"] is True
    assert models["minimax/video-01"]["available"] is False
    assert "replicate" in models["minimax/video-01"]["unavailable_reason"]
    assert models["fal-ai/flux/schnell"]["available"] is False
    one = await sandbox_only.client.get("/v1/models/minimax/video-01", headers=sandbox_only.auth())
    assert one.json()["available"] is False


async def test_a_model_with_one_configured_route_is_available(settings: Settings) -> None:
    only_fal = settings.model_copy(update={"configured_providers": ["sandbox-fal"]})
    async with running_gateway(only_fal) as gateway:
        models = {
            m["id"]: m
            for m in (await gateway.client.get("/v1/models", headers=gateway.auth())).json()["data"]
        }
    assert models["sandbox/text-to-video-fallback"]["available"] is True
    assert models["sandbox/text-to-video"]["available"] is False


async def test_submitting_to_an_unavailable_model_is_refused_before_anything_is_written(
    sandbox_only: Gateway,
) -> None:
    response = await sandbox_only.client.post(
        "/v1/generations",
        json={"model": "minimax/video-01", "input": {"prompt": "a fox"}},
        headers=sandbox_only.auth(),
    )

    assert response.status_code == 422
    assert response.json()["code"] == "model_unavailable"
    assert response.json()["errors"] == [{"path": "model", "message": "model unavailable"}]
    async with sandbox_only.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize(
    "value",
    ["https://images.example.com/first.png", PNG_DATA_URI, PNG_DATA_URI + "A" * 4000],
)
async def test_uri_inputs_take_https_urls_and_small_data_uris(gateway: Gateway, value: str) -> None:
    job = await gateway.submit_to("kwaivgi/kling-v2.1", {"prompt": "x", "start_image": value})

    assert job["input"]["start_image"] == value


@pytest.mark.parametrize(
    "value",
    [
        "http://images.example.com/first.png",
        "file:///etc/passwd",
        "ftp://images.example.com/first.png",
        "https:///no-host.png",
        "data:image/png;base64",
        "/relative/path.png",
    ],
)
async def test_uri_inputs_refuse_anything_else_with_the_field_path(
    gateway: Gateway, value: str
) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "kwaivgi/kling-v2.1", "input": {"prompt": "x", "start_image": value}},
        headers=gateway.auth(),
    )

    assert response.status_code == 422, response.text
    assert "input.start_image" in [e["path"] for e in response.json()["errors"]]


async def test_data_uris_over_the_limit_and_http_when_allowed(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"input_data_uri_max_bytes": 30, "input_allow_http_uris": True}
    )
    async with running_gateway(tuned) as gateway:

        async def submit(value: str) -> Any:
            return await gateway.client.post(
                "/v1/generations",
                json={
                    "model": "kwaivgi/kling-v2.1",
                    "input": {"prompt": "x", "start_image": value},
                },
                headers=gateway.auth(),
            )

        too_big = await submit("data:image/png;base64," + "A" * 40)
        plain_http = await submit("http://127.0.0.1:8010/files/x.png")

    assert too_big.status_code == 422
    assert "30 bytes" in too_big.json()["errors"][0]["message"]
    assert plain_http.status_code == 202, plain_http.text
