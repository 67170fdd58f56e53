"""Readiness: the database and NATS, and what the API does while NATS is away."""

from __future__ import annotations

from tests.integration.gateway.harness import Gateway, eventually
from tests.support.nats import NatsServer


async def test_ready_when_database_and_nats_answer(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "nats": "ok"}}


async def test_not_ready_while_nats_is_down_and_ready_again_after(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    nats_server.stop()

    async def unavailable() -> dict[str, object] | None:
        response = await gateway.client.get("/healthz")
        return response.json() if response.status_code == 503 else None

    report = await eventually(unavailable, what="healthz to report NATS down")
    assert report["checks"] == {"database": "ok", "nats": "unavailable"}

    nats_server.start()

    async def available() -> bool | None:
        return True if (await gateway.client.get("/healthz")).status_code == 200 else None

    await eventually(available, what="healthz to recover")
