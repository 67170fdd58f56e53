"""The per-owner submit rate limit holds across two gateway processes sharing the database."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.integration.hardening.gateway_process import start_gateway
from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.timeout(180)

SUBMIT = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}}


def test_the_rate_limit_is_shared_by_every_gateway_process(
    start_service: Callable[..., ServiceProcess], nats_server: NatsServer, database_url: str
) -> None:
    limits = {
        "REELHOUSE_LIMITS__SUBMIT_RATE": "3",
        # one long window: the test does not straddle two of them
        "REELHOUSE_LIMITS__RATE_WINDOW_SECONDS": "86400",
    }
    first, second = (
        start_gateway(
            start_service, database_url=database_url, nats_url=nats_server.url, extra=limits
        )
        for _ in range(2)
    )

    statuses = []
    for gateway in (first, second, first, second):
        response = httpx.post(
            f"{gateway.url}/v1/generations", json=SUBMIT, headers=gateway.auth, timeout=10
        )
        statuses.append(response.status_code)

    assert statuses == [202, 202, 202, 429]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 86_400
    # reading is not limited
    listed = httpx.get(f"{first.url}/v1/generations", headers=first.auth, timeout=10)
    assert listed.status_code == 200
    assert len(listed.json()["data"]) == 3


def test_an_owner_override_lifts_the_limit(
    start_service: Callable[..., ServiceProcess], nats_server: NatsServer, database_url: str
) -> None:
    gateway = start_gateway(
        start_service,
        database_url=database_url,
        nats_url=nats_server.url,
        extra={
            "REELHOUSE_LIMITS__SUBMIT_RATE": "1",
            "REELHOUSE_LIMITS__OWNERS": json.dumps({"dev": {"submit_rate": 0}}),
        },
    )

    statuses = [
        httpx.post(
            f"{gateway.url}/v1/generations", json=SUBMIT, headers=gateway.auth, timeout=10
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [202, 202, 202]
