"""Readiness follows the database, not NATS: accepted jobs wait in the outbox while NATS is away.

NATS's state is still reported, in the body (``checks.nats``) and in the gauge
``reelhouse_broker_up{service="gateway"}``, measured by a bounded round trip: a
SIGSTOPped server, whose sockets stay open, is reported down as well.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, eventually, running_gateway
from tests.support.nats import NatsServer
from tests.support.scrape import parse, value
from tests.support.tcpproxy import TcpProxy


async def readiness(gateway: Gateway) -> tuple[int, dict[str, object]]:
    response = await gateway.client.get("/readyz")
    return response.status_code, response.json()


async def nats_state(gateway: Gateway, state: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        status, body = await readiness(gateway)
        assert status == 200, body  # never unready because of NATS
        checks = body["checks"]
        assert isinstance(checks, dict)
        return body if checks["nats"] == state else None

    return await eventually(probe, what=f"readyz to report NATS {state}")


async def broker_up(gateway: Gateway) -> float:
    response = await gateway.client.get("/metrics")
    return value(parse(response.text), "reelhouse_broker_up", service="gateway")


async def test_ready_when_database_and_nats_answer(gateway: Gateway) -> None:
    status, body = await readiness(gateway)

    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "nats": "ok"}}
    assert (await gateway.client.get("/healthz")).json() == body
    assert (await gateway.client.get("/livez")).status_code == 200


async def test_stays_ready_while_nats_is_down_and_reports_it(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    nats_server.stop()

    report = await nats_state(gateway, "unavailable")
    assert report == {"status": "ok", "checks": {"database": "ok", "nats": "unavailable"}}
    assert await broker_up(gateway) == 0
    job = await gateway.submit()  # accepted into the outbox meanwhile

    nats_server.start()

    await nats_state(gateway, "ok")
    assert await broker_up(gateway) == 1
    await gateway.wait_for_status(job["id"], "queued")


async def test_a_hung_broker_is_reported_down_and_up_again_when_it_continues(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    nats_server.pause()
    try:
        await nats_state(gateway, "unavailable")
        assert await broker_up(gateway) == 0
    finally:
        nats_server.resume()

    await nats_state(gateway, "ok")


# the database is cut at the network, so this needs a server: PostgreSQL only
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_not_ready_while_the_database_is_unreachable(
    settings: Settings, database_url: str
) -> None:
    target = urlsplit(database_url)
    userinfo, _, _ = target.netloc.rpartition("@")
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        address = f"{proxy.host}:{proxy.port}"
        through_proxy = urlunsplit(
            target._replace(netloc=f"{userinfo}@{address}" if userinfo else address)
        )
        proxied = settings.model_copy(update={"database_url": through_proxy})
        async with running_gateway(proxied) as gateway:
            assert (await readiness(gateway))[0] == 200

            await proxy.close()

            status, body = await readiness(gateway)
            assert status == 503
            assert body["status"] == "unavailable"
            assert body["checks"] == {"database": "unavailable", "nats": "ok"}
            assert (await gateway.client.get("/livez")).status_code == 200


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_connections_the_server_ended_cost_at_most_one_retryable_503(
    gateway: Gateway, database_url: str
) -> None:
    # a restart or an idle-session killer ends the pooled connections under the gateway: no
    # request may fail with anything but a retryable 503 (asyncpg reported such a connection as
    # busy with "another operation", a 500, when connections were not pinged as they left the pool)
    for _ in range(3):
        await gateway.submit()
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended >= 1

    answers = []
    for _ in range(6):
        response = await gateway.client.post(
            "/v1/generations",
            json={"model": "sandbox/text-to-video", "input": {"prompt": "after a restart"}},
            headers=gateway.auth(),
        )
        answers.append((response.status_code, response.json().get("code")))
    assert answers.count((503, "database_unavailable")) <= 1, answers
    assert set(answers) <= {(202, None), (503, "database_unavailable")}, answers
    assert answers[-3:] == [(202, None)] * 3
