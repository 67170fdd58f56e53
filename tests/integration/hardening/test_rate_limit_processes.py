"""The per-owner submit rate limit holds across two gateway processes sharing the database.

Both gateways serve the module (one database: PostgreSQL with TEST_DATABASE_URL, else SQLite);
each test submits as an owner of its own, so each has a count of its own.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.integration.hardening.gateway_process import GatewayProcess, start_gateway
from tests.support.nats import NatsServer
from tests.support.processes import ServiceRunner

pytestmark = pytest.mark.timeout(180)

SUBMIT = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}}
RATE = 3
UNLIMITED = "dev"  # the bootstrap key's owner


@pytest.fixture(scope="module")
def gateways(
    module_services: ServiceRunner,
    module_nats_server: NatsServer,
    module_process_database_url: str,
) -> tuple[GatewayProcess, GatewayProcess]:
    limits = {
        "REELHOUSE_LIMITS__SUBMIT_RATE": str(RATE),
        # one long window: the tests do not straddle two of them
        "REELHOUSE_LIMITS__RATE_WINDOW_SECONDS": "86400",
        "REELHOUSE_LIMITS__OWNERS": json.dumps({UNLIMITED: {"submit_rate": 0}}),
    }
    first, second = (
        start_gateway(
            module_services.start,
            database_url=module_process_database_url,
            nats_url=module_nats_server.url,
            extra=limits,
        )
        for _ in range(2)
    )
    return first, second


def new_owner(gateway: GatewayProcess) -> dict[str, str]:
    """The headers of a new owner with no override (made with the bootstrap admin key)."""
    created = httpx.post(
        f"{gateway.url}/v1/keys",
        json={"owner": f"owner-{uuid.uuid4().hex[:12]}"},
        headers=gateway.auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


def test_the_rate_limit_is_shared_by_every_gateway_process(
    gateways: tuple[GatewayProcess, GatewayProcess],
) -> None:
    first, second = gateways
    auth = new_owner(first)

    statuses = []
    for gateway in (first, second, first, second):
        response = httpx.post(
            f"{gateway.url}/v1/generations", json=SUBMIT, headers=auth, timeout=10
        )
        statuses.append(response.status_code)

    assert statuses == [202, 202, 202, 429]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 86_400
    # reading is not limited
    listed = httpx.get(f"{first.url}/v1/generations", headers=auth, timeout=10)
    assert listed.status_code == 200
    assert len(listed.json()["data"]) == RATE


def test_an_owner_override_lifts_the_limit(
    gateways: tuple[GatewayProcess, GatewayProcess],
) -> None:
    gateway, _ = gateways

    statuses = [
        httpx.post(
            f"{gateway.url}/v1/generations", json=SUBMIT, headers=gateway.auth, timeout=10
        ).status_code
        for _ in range(RATE + 1)
    ]

    assert statuses == [202] * (RATE + 1)
