"""Nothing a client sends gives a 500: one rule for undecodable bodies, bounded bodies and echoes.

400 ``malformed_body``: not UTF-8, not JSON, or a lone surrogate; 415 for a non-JSON type;
413 over the size limit; 422 ``validation_error`` for JSON that does not fit the schema —
and no problem quotes more than a short prefix of what was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, running_gateway

MODEL = "sandbox/text-to-video"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"model": "sandbox/text-to-video", "input": {"prompt": "\\ud800"}}', "surrogate"),
        (b'{"model": "sandbox/text-to-video", "input": {"\\udfff": "x"}}', "surrogate"),
        (b'{"model": "sandbox/text-to-video", "input": {"prompt": "\xed\xa0\x80"}}', "UTF-8"),
        (b'{"model": "sandbox/text-to-video", "input": {"prompt": "\xff"}}', "UTF-8"),
        (b'{"model": "sandbox/text-to-video", ', "JSON"),
        (b"model=sandbox", "JSON"),
    ],
)
async def test_undecodable_bodies_are_400_malformed_body(
    gateway: Gateway, body: bytes, why: str
) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        content=body,
        headers={**gateway.auth(), "Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "malformed_body"
    assert why in problem["detail"]


async def test_curls_form_type_with_bad_json_is_the_same_400(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        content=b'{"model": ',
        headers={**gateway.auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_a_non_json_type_is_415(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        content=b'{"model": "sandbox/text-to-video"}',
        headers={**gateway.auth(), "Content-Type": "text/plain"},
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


async def test_a_body_over_the_limit_is_413_before_it_is_read(gateway: Gateway) -> None:
    big = b'{"model": "' + b"x" * (gateway.settings.max_body_bytes + 1) + b'"}'
    response = await gateway.client.post(
        "/v1/generations",
        content=big,
        headers={**gateway.auth(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_chunked_body_over_the_limit_is_413(gateway: Gateway) -> None:
    limit = gateway.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65_536 + 2):
            yield b" " * 65_536

    response = await gateway.client.post(
        "/v1/generations",
        content=chunks(),
        headers={**gateway.auth(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.fixture
async def small_limit_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with running_gateway(settings.model_copy(update={"max_body_bytes": 2048})) as running:
        yield running


async def test_the_limit_is_configurable(small_limit_gateway: Gateway) -> None:
    gateway = small_limit_gateway
    fits = {"model": MODEL, "input": {"prompt": "x" * 1000}}
    too_big = {"model": MODEL, "input": {"prompt": "x" * 3000}}

    ok = await gateway.client.post("/v1/generations", json=fits, headers=gateway.auth())
    refused = await gateway.client.post("/v1/generations", json=too_big, headers=gateway.auth())

    assert ok.status_code == 202, ok.text
    assert refused.status_code == 413


async def test_a_huge_value_is_not_echoed_whole(gateway: Gateway) -> None:
    prompt = "y" * 500_000  # within the body limit, far over the prompt's maxLength
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": MODEL, "input": {"prompt": prompt, "z" * 5000: 1}},
        headers=gateway.auth(),
    )

    assert response.status_code == 422
    assert len(response.content) < 4000
    assert "y" * 100 not in response.text


async def test_schema_faults_stay_422_validation_error(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/generations", json={"model": MODEL, "nope": 1}, headers=gateway.auth()
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
