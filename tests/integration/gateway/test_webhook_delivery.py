"""Signed webhooks from a real gateway process to a real HTTP receiver.

The gateway runs as ``python -m reelhouse.gateway`` over real NATS and one database
(PostgreSQL with TEST_DATABASE_URL, else SQLite); the tests move jobs by publishing provider
events to NATS (as the dispatcher would) and verify every signature with the
``standardwebhooks`` package, not with our own signer. One gateway serves the module, each
test as an owner of its own (its own secret and jobs); the restart test runs its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reelhouse.common.events import GenerationFailed, JobError
from tests.integration.gateway.harness import event_publisher
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess, ServiceRunner
from tests.support.webhook_receiver import Received, WebhookReceiver

KEY = "rh_webhook-process-test-key"

pytestmark = pytest.mark.timeout(90)


@dataclass(frozen=True)
class Deployment:
    """Gateway processes' settings over one database and one NATS server."""

    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.env["REELHOUSE_PUBLIC_BASE_URL"]

    @property
    def nats_url(self) -> str:
        return self.env["REELHOUSE_NATS__URL"]

    def start(
        self, start_service: Callable[..., ServiceProcess], **overrides: str
    ) -> ServiceProcess:
        """One more gateway process (``overrides``: its own port, say)."""
        env = {**self.env, **overrides}
        ready = f"{env['REELHOUSE_PUBLIC_BASE_URL']}/readyz"
        return start_service("gateway", env, ready_url=ready, ready_timeout=60.0)


def deployment(database_url: str, nats_url: str) -> Deployment:
    port = free_port()
    return Deployment(
        env={
            "REELHOUSE_DATABASE_URL": database_url,
            "REELHOUSE_NATS__URL": nats_url,
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
    )


def another_port() -> dict[str, str]:
    """Settings overrides that put a second gateway on a port of its own."""
    port = free_port()
    return {
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }


@pytest.fixture(scope="module")
def shared(
    module_process_database_url: str,
    module_nats_server: NatsServer,
    module_services: ServiceRunner,
) -> Deployment:
    """The module's running gateway."""
    running = deployment(module_process_database_url, module_nats_server.url)
    running.start(module_services.start)
    return running


@asynccontextmanager
async def owner_client(base_url: str, *, admin_key: str = KEY) -> AsyncIterator[httpx.AsyncClient]:
    """A client acting as a new owner of its own (keyed by the bootstrap admin key)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        created = await client.post(
            "/v1/keys",
            json={"owner": f"owner-{uuid.uuid4().hex[:12]}"},
            headers={"Authorization": f"Bearer {admin_key}"},
        )
        assert created.status_code == 201, created.text
        client.headers["Authorization"] = f"Bearer {created.json()['key']}"
        yield client


@pytest.fixture
async def client(shared: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's gateway, as an owner of this test's own."""
    async with owner_client(shared.base_url) as owned:
        yield owned


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


async def submit(client: httpx.AsyncClient, **webhook: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}, **webhook},
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
    response = await client.get("/v1/webhooks/secret")
    assert response.status_code == 200, response.text
    value: str = response.json()["secret"]
    return value


def verified(secret_value: str, request: Received) -> Any:
    """The body, once ``standardwebhooks`` accepts the request's signature."""
    return Webhook(secret_value).verify(request.body, request.headers)


async def received(receiver: WebhookReceiver, count: int) -> list[Received]:
    return await asyncio.to_thread(receiver.wait_for, count, timeout=30.0)


async def wait_delivered(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    """The job's deliveries once none is pending any more (bounded)."""
    for _ in range(200):
        response = await client.get(f"/v1/generations/{job_id}/deliveries")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        if data and all(d["status"] != "pending" for d in data):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries of {job_id} still pending")


async def test_failed_job_is_delivered_signed_after_a_500_with_the_same_webhook_id(
    shared: Deployment, client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.answers.append(500)
    job = await submit(client, webhook_url=receiver.url)
    assert job["webhook_url"] == receiver.url
    assert job["webhook_events"] == ["succeeded", "failed", "canceled"]
    key = await secret(client)

    await fail(shared.nats_url, job["id"])
    first, second = await received(receiver, 2)

    assert (first.answered, second.answered) == (500, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    body = verified(key, second)
    assert body["type"] == "generation.failed"
    assert body["timestamp"].endswith("Z")
    current = (await client.get(f"/v1/generations/{job['id']}")).json()
    assert body["data"] == current
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(second.body, second.headers)

    deliveries = await wait_delivered(client, job["id"])
    assert [d["id"] for d in deliveries] == [second.headers["webhook-id"]]
    attempts = deliveries[0]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 200]
    assert [a["succeeded"] for a in attempts] == [False, True]


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    shared: Deployment, client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    old = await secret(client)
    rotated = await client.post("/v1/webhooks/secret/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert new.startswith("whsec_")
    assert await secret(client) == new

    job = await submit(client, webhook_url=receiver.url, webhook_events=["failed"])
    await fail(shared.nats_url, job["id"])
    (request,) = await received(receiver, 1)

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, request)["type"] == "generation.failed"
    assert verified(new, request)["type"] == "generation.failed"


async def test_a_pending_delivery_survives_a_gateway_restart(
    start_service: Callable[..., ServiceProcess],
    process_database_url: str,
    nats_server: NatsServer,
    receiver: WebhookReceiver,
) -> None:
    # a deployment of its own: no other gateway may deliver while this one is down
    own = deployment(process_database_url, nats_server.url)
    receiver.default_status = 503
    first = own.start(start_service)
    async with owner_client(own.base_url) as client:
        job = await submit(client, webhook_url=receiver.url)
        key = await secret(client)
        await fail(own.nats_url, job["id"])
        (refused, *_) = await received(receiver, 1)
        first.terminate()
        receiver.default_status = 200
        seen = len(receiver.received)

        own.start(start_service)
        later = await received(receiver, seen + 1)
        accepted = later[-1]
        assert accepted.answered == 200
        assert accepted.headers["webhook-id"] == refused.headers["webhook-id"]
        assert verified(key, accepted)["data"]["id"] == job["id"]
        deliveries = await wait_delivered(client, job["id"])
        assert deliveries[0]["status"] == "delivered"


async def test_redeliver_sends_a_delivered_webhook_again(
    shared: Deployment, client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    job = await submit(client, webhook_url=receiver.url, webhook_events=["status", "failed"])
    await fail(shared.nats_url, job["id"])
    requests = await received(receiver, 2)
    assert sorted(r.json()["type"] for r in requests) == [
        "generation.failed",
        "generation.status",
    ]
    (failed,) = [
        d for d in await wait_delivered(client, job["id"]) if d["type"] == "generation.failed"
    ]

    again = await client.post(f"/v1/generations/{job['id']}/deliveries/{failed['id']}/redeliver")
    assert again.status_code == 202, again.text
    resent = (await received(receiver, 3))[2]
    assert resent.headers["webhook-id"] == failed["id"]
    assert resent.json()["type"] == "generation.failed"


async def test_two_gateway_processes_send_each_delivery_once(
    shared: Deployment,
    start_service: Callable[..., ServiceProcess],
    client: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    shared.start(start_service, **another_port())  # the module's gateway and this one
    jobs = 8
    ids = [(await submit(client, webhook_url=receiver.url))["id"] for _ in range(jobs)]
    for job_id in ids:
        await fail(shared.nats_url, job_id)
    requests = await received(receiver, jobs)
    for job_id in ids:
        await wait_delivered(client, job_id)

    assert len(receiver.received) == jobs
    assert sorted(r.json()["data"]["id"] for r in requests) == sorted(ids)
    assert len({r.headers["webhook-id"] for r in requests}) == jobs
