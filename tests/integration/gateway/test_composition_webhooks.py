"""A composition's webhooks: recorded with each change of its status, sent signed as a job's.

The parts and the assembler are played by hand (their events published on the real broker);
the deliveries go to a real HTTP receiver and are verified with the ``standardwebhooks``
package, with the owner's secret.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from reelhouse.gateway.compositions.assembly import DURABLE as ANSWERS
from reelhouse.gateway.db.models import WebhookDelivery
from reelhouse.gateway.settings import Settings, WebhookSettings
from tests.integration.gateway import job_events
from tests.integration.gateway.compositions import (
    SCENE,
    Publish,
    assembly_failed,
    compose,
    failure_of,
    film_answer,
    get,
    store_all,
    wait_status,
)
from tests.integration.gateway.harness import (
    Gateway,
    eventually,
    publish_raw,
    running_gateway,
    wait_until_projected,
)
from tests.support.nats import NatsServer
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.timeout(90)

BASE_URL = "http://gateway.test"  # the test client's: links in bodies match GET's


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """Webhooks may reach the receiver on loopback over http, and are retried quickly."""
    webhooks = WebhookSettings(
        allowed_schemes=["http", "https"],
        allow_loopback=True,
        poll_seconds=0.1,
        retry_base_seconds=0.1,
        retry_max_seconds=0.5,
    )
    update = {"webhooks": webhooks, "public_base_url": BASE_URL}
    async with running_gateway(settings.model_copy(update=update)) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


async def _received(receiver: WebhookReceiver, count: int) -> list[Received]:
    return await asyncio.to_thread(receiver.wait_for, count, timeout=20.0)


async def _secret(gateway: Gateway) -> str:
    response = await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())
    assert response.status_code == 200, response.text
    value: str = response.json()["secret"]
    return value


async def _recorded(gateway: Gateway, composition_id: str) -> list[dict[str, Any]]:
    """The bodies of the composition's deliveries, in the order they were recorded."""
    async with gateway.sessions() as session:
        rows = await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.composition_id == composition_id)
            .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        )
        return [json.loads(row.payload) for row in rows]


async def _deliveries(gateway: Gateway, composition_id: str) -> list[dict[str, Any]]:
    response = await gateway.client.get(
        f"/v1/compositions/{composition_id}/deliveries", headers=gateway.auth()
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _delivered(gateway: Gateway, composition_id: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        data = await _deliveries(gateway, composition_id)
        done = len(data) == count and all(d["status"] == "delivered" for d in data)
        return data if done else None

    return await eventually(probe, what=f"{count} deliveries of {composition_id} delivered")


async def test_a_succeeded_composition_is_delivered_once_signed_with_the_film(
    gateway: Gateway, publish: Publish, nats_server: NatsServer, receiver: WebhookReceiver
) -> None:
    created = await compose(gateway, webhook_url=receiver.url)
    cid = created["id"]
    assert created["webhook_events"] == ["succeeded", "failed", "canceled"]
    await store_all(publish, [s["job_id"] for s in created["scenes"]])
    await wait_status(gateway, cid, "assembling")
    await publish(film_answer(cid, 1))

    (request,) = await _received(receiver, 1)

    body = Webhook(await _secret(gateway)).verify(request.body, request.headers)
    assert body["type"] == "composition.succeeded"
    assert body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["id"] == cid
    assert data["status"] == "succeeded"
    (film,) = data["outputs"]
    assert film["sha256"] == "ef" * 32
    assert "/outputs/" in film["url"]
    current = await get(gateway, cid)
    # the signed media URLs are minted per rendering: the rest is GET's view exactly
    assert {k: v for k, v in data.items() if k != "outputs"} == {
        k: v for k, v in current.items() if k != "outputs"
    }
    (delivery,) = await _delivered(gateway, cid, 1)
    assert delivery["id"] == request.headers["webhook-id"]
    assert delivery["event_id"] == f"{cid}:assembled:1"

    # the assembler's answer again (another message id): no second delivery
    await publish_raw(nats_server.url, film_answer(cid, 1), msg_id="again")
    await wait_until_projected(nats_server.url, durable=ANSWERS)
    assert len(await _recorded(gateway, cid)) == 1

    again = await gateway.client.post(
        f"/v1/compositions/{cid}/deliveries/{delivery['id']}/redeliver", headers=gateway.auth()
    )
    assert again.status_code == 202, again.text
    first, second = await _received(receiver, 2)
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body


async def test_fail_fast_delivers_composition_failed_with_the_scenes_reason(
    gateway: Gateway, publish: Publish, receiver: WebhookReceiver
) -> None:
    created = await compose(gateway, webhook_url=receiver.url)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await publish(failure_of(jobs[1]))
    (request,) = await _received(receiver, 1)

    body = Webhook(await _secret(gateway)).verify(request.body, request.headers)
    assert body["type"] == "composition.failed"
    assert body["data"]["status"] == "failed"
    assert body["data"]["error"]["code"] == "provider_model_error"
    assert body["data"]["error"]["scene"] == 1
    (delivery,) = await _delivered(gateway, cid, 1)
    assert delivery["event_id"] == f"{jobs[1]}:failed"
    # the other parts settling afterwards deliver nothing more
    for job_id in (jobs[0], jobs[2]):
        await publish(job_events.canceled(job_id))
        await gateway.wait_for_status(job_id, "canceled")
    assert [b["type"] for b in await _recorded(gateway, cid)] == ["composition.failed"]


async def test_a_canceled_composition_delivers_composition_canceled(
    gateway: Gateway, receiver: WebhookReceiver
) -> None:
    created = await compose(gateway, webhook_url=receiver.url)
    cid = created["id"]

    response = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert response.status_code == 202, response.text
    again = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert again.status_code == 202
    (request,) = await _received(receiver, 1)

    body = Webhook(await _secret(gateway)).verify(request.body, request.headers)
    assert body["type"] == "composition.canceled"
    assert body["data"]["status"] == "canceled"
    assert body["data"]["cancel_requested"] is True
    (delivery,) = await _delivered(gateway, cid, 1)
    assert delivery["event_id"].startswith(f"{cid}:cancel:")


async def test_status_and_progress_follow_every_change_through_a_retry(
    gateway: Gateway, publish: Publish, receiver: WebhookReceiver
) -> None:
    created = await compose(
        gateway,
        scenes=[SCENE, SCENE],
        webhook_url=receiver.url,
        webhook_events=["status", "progress"],
    )
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await store_all(publish, [jobs[0]])
    await gateway.wait_for_status(jobs[0], "succeeded")
    await store_all(publish, [jobs[1]])
    await wait_status(gateway, cid, "assembling")
    await publish(assembly_failed(cid, 1))
    await wait_status(gateway, cid, "failed")
    retried = await gateway.client.post(f"/v1/compositions/{cid}/retry", headers=gateway.auth())
    assert retried.status_code == 202, retried.text
    await publish(film_answer(cid, 2))
    await wait_status(gateway, cid, "succeeded")

    recorded = await _recorded(gateway, cid)
    progress = [b for b in recorded if b["type"] == "composition.progress"]
    status = [b for b in recorded if b["type"] == "composition.status"]
    assert Counter(b["type"] for b in recorded) == {
        "composition.progress": 2,
        "composition.status": 4,
    }
    assert sorted(b["data"]["progress"]["scenes_done"] for b in progress) == [1, 2]
    assert [b["data"]["status"] for b in status] == [
        "assembling",
        "failed",
        "assembling",
        "succeeded",
    ]
    await _delivered(gateway, cid, 6)
    assert len(receiver.received) == 6
