"""SSE on a job's ``/events`` and on ``/v1/events``, in process: replay, resume, refusals.

``httpx.ASGITransport`` hands over a response only once it is complete, so these tests use
jobs that already reached a final state; live delivery across processes is in
``test_sse_processes.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from reelhouse.common.events import Event, GenerationProgressed
from tests.integration.gateway.harness import Gateway, wait_until_projected
from tests.integration.gateway.job_events import canceled, stored, submitted
from tests.support.nats import NatsServer
from tests.support.sse import read_all

Publish = Callable[[Event], Awaitable[None]]
SSE = {"Accept": "text/event-stream"}


def _progress(job_id: str, n: int) -> GenerationProgressed:
    return GenerationProgressed(
        event_id=f"{job_id}:progress:{n}",
        job_id=job_id,
        provider_status="processing",
        running=True,
        queue_position=None,
        percent=10.0 * n,
        logs=f"step {n}",
    )


async def _finished_job(gateway: Gateway, publish: Publish, nats: NatsServer) -> dict[str, Any]:
    job = await gateway.submit()
    for event in (submitted(job["id"]), _progress(job["id"], 1), _progress(job["id"], 2)):
        await publish(event)
    await publish(stored(job["id"]))
    await wait_until_projected(nats.url)
    await gateway.wait_for_status(job["id"], "succeeded")
    return job


async def _stream(
    gateway: Gateway, path: str, headers: dict[str, str] | None = None, key: str | None = None
) -> httpx.Response:
    auth = gateway.auth(key) if key else gateway.auth()
    return await gateway.client.get(path, headers={**auth, **SSE, **(headers or {})})


async def test_finished_job_streams_its_history_with_status_after_each_event_then_closes(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    history = await gateway.events(job["id"])

    response = await _stream(gateway, f"/v1/generations/{job['id']}/events")

    assert response.status_code == 200
    received = await read_all(response)
    assert [e.id for e in received] == [e["id"] for e in history]
    assert [e.event for e in received] == [e["type"] for e in history]
    assert [e.data["status"] for e in received] == [
        "queued",
        "submitted",
        "running",
        "running",
        "succeeded",
    ]
    assert {e.data["job_id"] for e in received} == {job["id"]}
    assert received[3].data["percent"] == 20.0
    assert received[3].data["logs"] == "step 2"
    assert "queue_position" in received[3].data


async def test_without_the_accept_header_events_stay_a_json_list(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    response = await gateway.client.get(
        f"/v1/generations/{job['id']}/events", headers=gateway.auth()
    )
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()["data"]) == 5


async def test_last_event_id_resumes_right_after_that_event(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    history = [e["id"] for e in await gateway.events(job["id"])]

    by_header = await read_all(
        await _stream(gateway, f"/v1/generations/{job['id']}/events", {"Last-Event-ID": history[1]})
    )
    by_query = await read_all(
        await _stream(gateway, f"/v1/generations/{job['id']}/events?last_event_id={history[2]}")
    )

    assert [e.id for e in by_header] == history[2:]
    assert [e.id for e in by_query] == history[3:]


async def test_resuming_after_the_final_event_answers_204(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    last = (await gateway.events(job["id"]))[-1]["id"]
    response = await _stream(
        gateway, f"/v1/generations/{job['id']}/events", {"Last-Event-ID": last}
    )
    assert response.status_code == 204


async def test_unknown_last_event_id_is_a_400_problem(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    other = await gateway.submit()

    for path, event_id in (
        (f"/v1/generations/{job['id']}/events", "no-such-event"),
        # an event of another job is not one of this stream's
        (f"/v1/generations/{job['id']}/events", (await gateway.events(other["id"]))[0]["id"]),
        ("/v1/events", "no-such-event"),
    ):
        response = await _stream(gateway, path, {"Last-Event-ID": event_id})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unknown_last_event_id"


async def test_another_owners_job_stream_is_404_and_their_event_ids_unknown(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    first = (await gateway.events(job["id"]))[0]["id"]
    mallory = await gateway.new_key("mallory")

    response = await _stream(gateway, f"/v1/generations/{job['id']}/events", key=mallory)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"

    response = await _stream(gateway, "/v1/events", {"Last-Event-ID": first}, key=mallory)
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_last_event_id"


async def test_stream_limit_per_owner_answers_429_too_many_streams(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await _finished_job(gateway, publish, nats_server)
    hub = gateway.services.hub
    held = [
        hub.open(owner_id="dev", job_id=None)
        for _ in range(gateway.settings.sse.max_streams_per_owner)
    ]
    try:
        for path in (f"/v1/generations/{job['id']}/events", "/v1/events"):
            response = await _stream(gateway, path)
            assert response.status_code == 429, response.text
            assert response.json()["code"] == "too_many_streams"
            assert int(response.headers["Retry-After"]) >= 1
        # another owner is not limited by dev's streams
        other = await gateway.new_key("erin")
        response = await _stream(gateway, f"/v1/generations/{job['id']}/events", key=other)
        assert response.status_code == 404
    finally:
        for listener in held:
            listener.close()
    assert hub.open_streams("dev") == 0


async def test_canceled_job_stream_ends_with_canceled_status(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job = await gateway.submit()
    await publish(submitted(job["id"]))
    await publish(canceled(job["id"]))
    await wait_until_projected(nats_server.url)
    await gateway.wait_for_status(job["id"], "canceled")

    received = await read_all(await _stream(gateway, f"/v1/generations/{job['id']}/events"))

    assert received[-1].data["status"] == "canceled"
    assert received[0].retry is not None
