"""Cancel: flagged at once, one ``gen.cancel.v1`` through the outbox, decided once by the provider."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from reelhouse.common.events import CancelRequested, Event
from reelhouse.gateway.db.models import JobOutput, OutboxMessage
from reelhouse.gateway.outbox import repository as outbox
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import (
    Gateway,
    eventually,
    messages_on,
    wait_until_projected,
)
from tests.support.nats import NatsServer

Publish = Callable[[Event], Awaitable[None]]


async def _drained(gateway: Gateway) -> None:
    async def probe() -> bool | None:
        async with gateway.sessions() as session:
            return True if await outbox.count_pending(session) == 0 else None

    await eventually(probe, what="the outbox to drain")


async def _cancel_messages(nats_url: str) -> list[dict[str, Any]]:
    return [
        {"headers": msg.headers or {}, "body": json.loads(msg.data or b"{}")}
        for msg in await messages_on(nats_url, CancelRequested.subject)
    ]


async def _cancel_rows(gateway: Gateway) -> int:
    async with gateway.sessions() as session:
        query = select(func.count()).where(OutboxMessage.subject == CancelRequested.subject)
        return int((await session.execute(query)).scalar_one())


async def test_cancel_flags_the_job_and_publishes_one_cancel_event(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit()

    response = await gateway.cancel(job["id"])

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"] == job["id"]
    assert body["status"] == "queued"
    assert body["cancel_requested"] is True
    assert body["cancel_requested_at"] is not None
    assert body["links"]["cancel"].endswith(f"/v1/generations/{job['id']}/cancel")

    async def published() -> list[dict[str, Any]] | None:
        return await _cancel_messages(nats_server.url) or None

    [message] = await eventually(published, what="gen.cancel.v1")
    assert message["headers"]["Nats-Msg-Id"] == f"{job['id']}:cancel"
    assert message["headers"]["ce-type"] == CancelRequested.event_type
    assert message["body"]["job_id"] == job["id"]
    assert message["body"]["owner_id"] == "dev"
    reread = await gateway.job(job["id"])
    assert (reread["cancel_requested"], reread["cancel_requested_at"]) == (
        True,
        body["cancel_requested_at"],
    )
    history = await gateway.events(job["id"])
    assert [e["type"] for e in history] == [
        "reelhouse.generation.requested.v1",
        CancelRequested.event_type,
    ]
    assert history[1]["status"] is None


async def test_a_second_cancel_answers_the_same_and_sends_nothing_more(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit()
    first = (await gateway.cancel(job["id"])).json()

    again = await gateway.cancel(job["id"])

    assert again.status_code == 202
    assert again.json()["cancel_requested_at"] == first["cancel_requested_at"]
    await _drained(gateway)
    await wait_until_projected(nats_server.url)
    assert len(await _cancel_messages(nats_server.url)) == 1
    assert await _cancel_rows(gateway) == 1


async def test_canceling_a_finished_job_is_a_409_and_publishes_nothing(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await gateway.submit()
    await publish(job_events.stored(job["id"]))
    await gateway.wait_for_status(job["id"], "succeeded")

    response = await gateway.cancel(job["id"])

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "job_final"
    assert problem["status"] == 409
    assert "succeeded" in problem["detail"]
    assert await _cancel_rows(gateway) == 0
    await _drained(gateway)
    assert await _cancel_messages(nats_server.url) == []
    reread = await gateway.job(job["id"])
    assert (reread["status"], reread["cancel_requested"]) == ("succeeded", False)


async def test_another_owners_job_cannot_be_canceled(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit()
    stranger = await gateway.new_key("mallory")

    response = await gateway.cancel(job["id"], key=stranger)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (await gateway.job(job["id"]))["cancel_requested"] is False
    assert await _cancel_rows(gateway) == 0


async def test_canceling_an_unknown_job_is_a_404(gateway: Gateway) -> None:
    for job_id in ("gen_" + "0" * 32, "not-a-job-id"):
        response = await gateway.cancel(job_id)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_the_dispatchers_confirmation_ends_the_job_canceled_without_outputs(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(job_events.submitted(job_id))
    await gateway.wait_for_status(job_id, "submitted")
    await gateway.cancel(job_id)

    await publish(job_events.canceled(job_id))
    job = await gateway.wait_for_status(job_id, "canceled")
    assert job["cancel_requested"] is True
    assert [a["status"] for a in job["attempts"]] == ["canceled"]

    # the provider finished anyway and the downloader stored it: too late, ignored
    await publish(job_events.output(job_id))
    await publish(job_events.stored(job_id))
    await wait_until_projected(nats_server.url)

    job = await gateway.job(job_id)
    assert job["status"] == "canceled"
    assert job["outputs"] == []
    async with gateway.sessions() as session:
        rows = await session.execute(select(JobOutput).where(JobOutput.job_id == job_id))
        assert rows.first() is None
    assert (await gateway.cancel(job_id)).status_code == 202  # canceled: asking again is fine


async def test_when_the_provider_finishes_first_the_job_succeeds_and_a_late_cancel_is_ignored(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(job_events.submitted(job_id))
    await gateway.cancel(job_id)

    await publish(job_events.output(job_id))
    await publish(job_events.stored(job_id))
    await gateway.wait_for_status(job_id, "succeeded")
    await publish(job_events.canceled(job_id))
    await gateway.wait_for_event(job_id, f"{job_id}:canceled")

    job = await gateway.job(job_id)
    assert job["status"] == "succeeded"
    assert job["cancel_requested"] is True
    assert len(job["outputs"]) == 1
    assert [a["status"] for a in job["attempts"]] == ["succeeded"]
    statuses = {e["id"]: e["status"] for e in await gateway.events(job_id)}
    assert statuses[f"{job_id}:canceled"] is None
    assert (await gateway.cancel(job_id)).status_code == 409
