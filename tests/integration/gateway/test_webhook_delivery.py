"""Signed webhooks from a real gateway process to a real HTTP receiver.

The gateway runs as ``python -m reelhouse.gateway`` over real NATS and SQLite/PostgreSQL;
the tests move jobs by publishing provider events to NATS (as the dispatcher would) and
verify every signature with the ``standardwebhooks`` package, not with our own signer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reelhouse.common.events import GenerationFailed, JobError
from tests.integration.gateway.harness import event_publisher
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess
from tests.support.webhook_receiver import Received, WebhookReceiver

KEY = "rh_webhook-process-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def gateway_env(database_url: str, nats_server: NatsServer) -> dict[str, str]:
    port = free_port()
    return {
        "REELHOUSE_DATABASE_URL": database_url,
        "REELHOUSE_NATS__URL": nats_server.url,
        "REELHOUSE_HTTP__HOST": "127.0.0.1",
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": "webhook-process-test-signing"}),
        "REELHOUSE_BOOTSTRAP_API_KEY": KEY,
        "REELHOUSE_LOG__JSON": "true",
        "REELHOUSE_WEBHOOKS__ALLOW_LOOPBACK": "true",
        "REELHOUSE_WEBHOOKS__ALLOWED_SCHEMES": json.dumps(["http", "https"]),
        "REELHOUSE_WEBHOOKS__POLL_SECONDS": "0.2",
        "REELHOUSE_WEBHOOKS__RETRY_BASE_SECONDS": "0.3",
        "REELHOUSE_WEBHOOKS__RETRY_MAX_SECONDS": "1",
    }


def base_url(env: dict[str, str]) -> str:
    return env["REELHOUSE_PUBLIC_BASE_URL"]


@pytest.fixture
def start_gateway(
    start_service: Callable[..., ServiceProcess], gateway_env: dict[str, str]
) -> Callable[..., ServiceProcess]:
    def start(**overrides: str) -> ServiceProcess:
        env = {**gateway_env, **overrides}
        return start_service("gateway", env, ready_url=f"{base_url(env)}/readyz")

    return start


async def submit(client: httpx.AsyncClient, **webhook: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}, **webhook},
        headers=AUTH,
    )
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def fail(nats_url: str, job_id: str) -> None:
    """The provider gives up on the job (as the dispatcher would report it)."""
    async with event_publisher(nats_url) as publish:
        await publish(
            GenerationFailed(
                event_id=f"{job_id}:test-failed",
                job_id=job_id,
                error=JobError(stage="provider", code="provider_model_error", message="no"),
            )
        )


async def secret(client: httpx.AsyncClient) -> str:
    response = await client.get("/v1/webhooks/secret", headers=AUTH)
    assert response.status_code == 200, response.text
    value: str = response.json()["secret"]
    return value


def verified(secret_value: str, request: Received) -> Any:
    """The body, once ``standardwebhooks`` accepts the request's signature."""
    return Webhook(secret_value).verify(request.body, request.headers)


async def received(receiver: WebhookReceiver, count: int) -> list[Received]:
    return await asyncio.to_thread(receiver.wait_for, count, timeout=30.0)


async def test_failed_job_is_delivered_signed_after_a_500_with_the_same_webhook_id(
    start_gateway: Callable[..., ServiceProcess],
    gateway_env: dict[str, str],
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    start_gateway()
    receiver.answers.append(500)
    async with httpx.AsyncClient(base_url=base_url(gateway_env), timeout=10) as client:
        job = await submit(client, webhook_url=receiver.url)
        assert job["webhook_url"] == receiver.url
        assert job["webhook_events"] == ["succeeded", "failed", "canceled"]
        key = await secret(client)

        await fail(nats_server.url, job["id"])
        first, second = await received(receiver, 2)

        assert (first.answered, second.answered) == (500, 200)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body
        body = verified(key, second)
        assert body["type"] == "generation.failed"
        assert body["timestamp"].endswith("Z")
        current = (await client.get(f"/v1/generations/{job['id']}", headers=AUTH)).json()
        assert body["data"] == current
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(second.body, second.headers)

        deliveries = await wait_delivered(client, job["id"])
        assert [d["id"] for d in deliveries] == [second.headers["webhook-id"]]
        attempts = deliveries[0]["attempts"]
        assert [a["status_code"] for a in attempts] == [500, 200]
        assert [a["succeeded"] for a in attempts] == [False, True]


async def wait_delivered(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    """The job's deliveries once none is pending any more (bounded)."""
    for _ in range(200):
        response = await client.get(f"/v1/generations/{job_id}/deliveries", headers=AUTH)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        if data and all(d["status"] != "pending" for d in data):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries of {job_id} still pending")


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    start_gateway: Callable[..., ServiceProcess],
    gateway_env: dict[str, str],
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    start_gateway()
    async with httpx.AsyncClient(base_url=base_url(gateway_env), timeout=10) as client:
        old = await secret(client)
        rotated = await client.post("/v1/webhooks/secret/rotate", headers=AUTH)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old
        assert new.startswith("whsec_")
        assert await secret(client) == new

        job = await submit(client, webhook_url=receiver.url, webhook_events=["failed"])
        await fail(nats_server.url, job["id"])
        (request,) = await received(receiver, 1)

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, request)["type"] == "generation.failed"
    assert verified(new, request)["type"] == "generation.failed"


async def test_a_pending_delivery_survives_a_gateway_restart(
    start_gateway: Callable[..., ServiceProcess],
    gateway_env: dict[str, str],
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    receiver.default_status = 503
    first = start_gateway()
    async with httpx.AsyncClient(base_url=base_url(gateway_env), timeout=10) as client:
        job = await submit(client, webhook_url=receiver.url)
        key = await secret(client)
        await fail(nats_server.url, job["id"])
        (refused, *_) = await received(receiver, 1)
        first.terminate()
        receiver.default_status = 200
        seen = len(receiver.received)

        start_gateway()
        later = await received(receiver, seen + 1)
        accepted = later[-1]
        assert accepted.answered == 200
        assert accepted.headers["webhook-id"] == refused.headers["webhook-id"]
        assert verified(key, accepted)["data"]["id"] == job["id"]
        deliveries = await wait_delivered(client, job["id"])
        assert deliveries[0]["status"] == "delivered"


async def test_redeliver_sends_a_delivered_webhook_again(
    start_gateway: Callable[..., ServiceProcess],
    gateway_env: dict[str, str],
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    start_gateway()
    async with httpx.AsyncClient(base_url=base_url(gateway_env), timeout=10) as client:
        job = await submit(client, webhook_url=receiver.url, webhook_events=["status", "failed"])
        await fail(nats_server.url, job["id"])
        requests = await received(receiver, 2)
        assert sorted(r.json()["type"] for r in requests) == [
            "generation.failed",
            "generation.status",
        ]
        (failed,) = [
            d for d in await wait_delivered(client, job["id"]) if d["type"] == "generation.failed"
        ]

        again = await client.post(
            f"/v1/generations/{job['id']}/deliveries/{failed['id']}/redeliver", headers=AUTH
        )
        assert again.status_code == 202, again.text
        resent = (await received(receiver, 3))[2]
        assert resent.headers["webhook-id"] == failed["id"]
        assert resent.json()["type"] == "generation.failed"


async def test_two_gateway_processes_send_each_delivery_once(
    start_gateway: Callable[..., ServiceProcess],
    gateway_env: dict[str, str],
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    start_gateway()
    second_port = free_port()
    start_gateway(
        REELHOUSE_HTTP__PORT=str(second_port),
        REELHOUSE_PUBLIC_BASE_URL=f"http://127.0.0.1:{second_port}",
    )
    jobs = 8
    async with httpx.AsyncClient(base_url=base_url(gateway_env), timeout=10) as client:
        ids = [(await submit(client, webhook_url=receiver.url))["id"] for _ in range(jobs)]
        for job_id in ids:
            await fail(nats_server.url, job_id)
        requests = await received(receiver, jobs)
        for job_id in ids:
            await wait_delivered(client, job_id)

    assert len(receiver.received) == jobs
    assert sorted(r.json()["data"]["id"] for r in requests) == sorted(ids)
    assert len({r.headers["webhook-id"] for r in requests}) == jobs
