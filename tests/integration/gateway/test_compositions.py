"""Compositions at the gateway: parts are ordinary jobs, the composition follows them.

The dispatcher, downloader and assembler are played by hand (their events published on the
real broker), so each policy's branch is driven exactly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
    CompositionReady,
)
from reelhouse.common.events import Asset, CancelRequested, Event, GenerationFailed, JobError
from reelhouse.gateway.db.models import Composition, Job
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import (
    Gateway,
    eventually,
    messages_on,
    publish_raw,
    wait_until_projected,
)
from tests.support.nats import NatsServer
from tests.support.sse import read_all

Publish = Callable[[Event], Awaitable[None]]
SCENE = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}}


async def _compose(gateway: Gateway, **fields: Any) -> dict[str, Any]:
    body = {"scenes": [SCENE, SCENE, SCENE], **fields}
    response = await gateway.client.post("/v1/compositions", json=body, headers=gateway.auth())
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


async def _get(gateway: Gateway, composition_id: str) -> dict[str, Any]:
    response = await gateway.client.get(
        f"/v1/compositions/{composition_id}", headers=gateway.auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _wait_status(gateway: Gateway, composition_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await _get(gateway, composition_id)
        return found if found["status"] == status else None

    return await eventually(probe, what=f"composition {composition_id} to be {status}")


async def _ready_messages(nats_url: str) -> list[CompositionReady]:
    return [
        CompositionReady.model_validate_json(msg.data or b"{}")
        for msg in await messages_on(nats_url, CompositionReady.subject)
    ]


async def _cancels(nats_url: str) -> set[str]:
    return {
        json.loads(msg.data or b"{}")["job_id"]
        for msg in await messages_on(nats_url, CancelRequested.subject)
    }


def _failed(job_id: str, code: str = "provider_model_error") -> GenerationFailed:
    return GenerationFailed(
        event_id=f"{job_id}:failed",
        job_id=job_id,
        error=JobError(stage="provider", code=code, message="the model crashed"),
    )


def _film(composition_id: str, assembly: int) -> CompositionAssembled:
    return CompositionAssembled(
        event_id=f"{composition_id}:assembled:{assembly}",
        job_id=composition_id,
        assembly=assembly,
        method="copy",
        asset=Asset(
            index=0,
            key=f"outputs/{composition_id}/0.mp4",
            content_type="video/mp4",
            size=4096,
            sha256="ef" * 32,
            kind="video",
            duration=9.0,
            width=640,
            height=360,
            fps=24.0,
            poster_key=f"posters/{composition_id}/0.jpg",
        ),
    )


def _assembly_failed(composition_id: str, assembly: int) -> CompositionAssemblyFailed:
    return CompositionAssemblyFailed(
        event_id=f"{composition_id}:assembly_failed:{assembly}",
        job_id=composition_id,
        assembly=assembly,
        error=JobError(stage="assembly", code="assembly_failed", message="scene 1 is bad"),
    )


async def _store_all(publish: Publish, job_ids: list[str]) -> None:
    for job_id in job_ids:
        await publish(job_events.submitted(job_id))
        await publish(job_events.stored(job_id))


async def test_a_composition_is_accepted_with_one_ordinary_job_per_scene(
    gateway: Gateway,
) -> None:
    created = await _compose(gateway, transition={"type": "crossfade", "seconds": 0.5})

    assert created["id"].startswith("cmp_")
    assert created["status"] == "generating"
    assert [s["index"] for s in created["scenes"]] == [0, 1, 2]
    assert created["progress"]["summary"] == "0 of 3 scenes done"
    assert created["transition"] == {"type": "crossfade", "seconds": 0.5}
    assert created["outputs"] == []
    for scene in created["scenes"]:
        job = await gateway.job(scene["job_id"])
        assert job["status"] == "queued"
        assert job["composition_id"] == created["id"]
    listed = await gateway.client.get("/v1/compositions", headers=gateway.auth())
    assert [c["id"] for c in listed.json()["data"]] == [created["id"]]


async def test_a_scene_that_does_not_fit_its_model_writes_nothing(gateway: Gateway) -> None:
    bad = {"model": "sandbox/text-to-video", "input": {"prompt": ""}}
    response = await gateway.client.post(
        "/v1/compositions", json={"scenes": [SCENE, bad]}, headers=gateway.auth()
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["path"] for e in problem["errors"]] == ["scenes.1.input.prompt"]
    async with gateway.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Job))).scalar_one() == 0
        assert (
            await session.execute(select(func.count()).select_from(Composition))
        ).scalar_one() == 0


async def test_an_image_model_or_a_duration_the_model_lacks_is_refused(gateway: Gateway) -> None:
    image = {"model": "sandbox/text-to-image", "input": {"prompt": "a fox"}}
    response = await gateway.client.post(
        "/v1/compositions", json={"scenes": [image]}, headers=gateway.auth()
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "scenes.0.model"

    conflict = {**SCENE, "input": {"prompt": "x", "duration": 2}, "duration": 3}
    response = await gateway.client.post(
        "/v1/compositions", json={"scenes": [conflict]}, headers=gateway.auth()
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "scenes.0.duration"


async def test_scene_durations_become_the_models_input(gateway: Gateway) -> None:
    created = await _compose(gateway, scenes=[{**SCENE, "duration": 2}, {**SCENE, "duration": 4}])
    durations = [(await gateway.job(s["job_id"]))["input"]["duration"] for s in created["scenes"]]
    assert durations == [2, 4]


async def test_every_scene_stored_asks_the_assembler_once_then_the_film_succeeds(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway, width=640, height=360)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await _store_all(publish, list(reversed(jobs)))
    assembling = await _wait_status(gateway, cid, "assembling")

    assert assembling["progress"]["summary"] == "3 of 3 scenes done"
    ready = await eventually(lambda: _first(_ready_messages(nats_server.url)), what="ready")
    assert ready.job_id == cid
    assert ready.assembly == 1
    assert [clip.job_id for clip in ready.scenes] == jobs
    assert [clip.asset.key for clip in ready.scenes] == [f"outputs/{j}/0.mp4" for j in jobs]
    assert ready.output.width == 640
    assert ready.output.fps is None
    assert ready.key == f"outputs/{cid}/0.mp4"

    await publish(_film(cid, 1))
    done = await _wait_status(gateway, cid, "succeeded")
    assert len(done["outputs"]) == 1
    assert done["outputs"][0]["duration"] == 9.0
    assert "/outputs/" in done["outputs"][0]["url"]
    assert done["outputs"][0]["poster_url"]
    assert done["assembly_method"] == "copy"

    # the assembler's answer again (another message id): nothing changes
    await publish_raw(nats_server.url, _film(cid, 1), msg_id="again")
    await publish(_film(cid, 2))  # an assembly never asked for
    await wait_until_projected(nats_server.url)
    assert (await _get(gateway, cid))["outputs"][0]["sha256"] == "ef" * 32
    assert len(await _ready_messages(nats_server.url)) == 1


async def _first(found: Awaitable[list[CompositionReady]]) -> CompositionReady | None:
    messages = await found
    return messages[0] if messages else None


async def test_fail_fast_fails_with_the_scenes_reason_and_cancels_the_rest(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await _store_all(publish, [jobs[0]])
    await publish(_failed(jobs[1]))
    failed = await _wait_status(gateway, cid, "failed")

    assert failed["error"]["code"] == "provider_model_error"
    assert failed["error"]["scene"] == 1
    assert failed["error"]["message"].startswith("scene 1 failed")
    cancels = await eventually(
        lambda: _when(_cancels(nats_server.url), lambda c: jobs[2] in c), what="cascade"
    )
    assert cancels == {jobs[2]}
    assert await _ready_messages(nats_server.url) == []


async def _when(found: Awaitable[set[str]], ok: Callable[[set[str]], bool]) -> set[str] | None:
    value = await found
    return value if ok(value) else None


async def test_best_effort_assembles_the_scenes_that_succeeded(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway, policy="best_effort")
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await publish(_failed(jobs[1]))
    await _store_all(publish, [jobs[0], jobs[2]])
    assembling = await _wait_status(gateway, cid, "assembling")

    assert assembling["missing_scenes"] == [1]
    ready = await eventually(lambda: _first(_ready_messages(nats_server.url)), what="ready")
    assert [clip.index for clip in ready.scenes] == [0, 2]
    assert ready.missing == [1]
    assert await _cancels(nats_server.url) == set()


async def test_best_effort_with_no_scene_left_fails(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway, policy="best_effort", scenes=[SCENE, SCENE])
    for scene in created["scenes"]:
        await publish(_failed(scene["job_id"]))

    failed = await _wait_status(gateway, created["id"], "failed")

    assert failed["error"]["code"] == "no_scene_succeeded"


async def test_cancel_cascades_to_every_scene_still_running(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]
    await _store_all(publish, [jobs[0]])
    await gateway.wait_for_status(jobs[0], "succeeded")

    response = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "canceled"
    again = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert again.status_code == 202

    cancels = await eventually(
        lambda: _when(_cancels(nats_server.url), lambda c: len(c) >= 2), what="cascade"
    )
    assert cancels == {jobs[1], jobs[2]}
    for job_id in jobs[1:]:
        await publish(job_events.canceled(job_id))
        await gateway.wait_for_status(job_id, "canceled")
    # the parts settling afterwards change nothing
    assert (await _get(gateway, cid))["status"] == "canceled"
    assert await _ready_messages(nats_server.url) == []


async def test_a_composition_being_assembled_cannot_be_canceled(
    gateway: Gateway, publish: Publish
) -> None:
    created = await _compose(gateway, scenes=[SCENE])
    await _store_all(publish, [created["scenes"][0]["job_id"]])
    await _wait_status(gateway, created["id"], "assembling")

    response = await gateway.client.post(
        f"/v1/compositions/{created['id']}/cancel", headers=gateway.auth()
    )

    assert response.status_code == 409
    assert response.json()["code"] == "composition_final"


async def test_retry_generates_only_the_failed_scenes_then_assembles_again(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]
    await _store_all(publish, [jobs[0]])
    await publish(_failed(jobs[1]))
    await _wait_status(gateway, cid, "failed")
    early = await gateway.client.post(f"/v1/compositions/{cid}/retry", headers=gateway.auth())
    # scene 2 is still finishing its cancel
    assert early.status_code == 409, early.text
    await publish(job_events.canceled(jobs[2]))
    await gateway.wait_for_status(jobs[2], "canceled")

    response = await gateway.client.post(f"/v1/compositions/{cid}/retry", headers=gateway.auth())

    assert response.status_code == 202, response.text
    retried = response.json()
    assert retried["status"] == "generating"
    assert retried["error"] is None
    scenes = retried["scenes"]
    assert scenes[0]["job_id"] == jobs[0]
    assert scenes[1]["retries"] == [jobs[1]]
    assert scenes[1]["job_id"] != jobs[1]
    assert scenes[2]["retries"] == [jobs[2]]
    assert scenes[2]["job_id"] != jobs[2]
    await _store_all(publish, [scenes[1]["job_id"], scenes[2]["job_id"]])
    await _wait_status(gateway, cid, "assembling")
    ready = await eventually(lambda: _first(_ready_messages(nats_server.url)), what="ready")
    assert ready.assembly == 1
    assert [clip.job_id for clip in ready.scenes] == [
        jobs[0],
        scenes[1]["job_id"],
        scenes[2]["job_id"],
    ]


async def test_a_failed_assembly_fails_it_and_a_retry_assembles_again(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway, scenes=[SCENE, SCENE])
    cid = created["id"]
    await _store_all(publish, [s["job_id"] for s in created["scenes"]])
    await _wait_status(gateway, cid, "assembling")
    await publish(_assembly_failed(cid, 1))
    failed = await _wait_status(gateway, cid, "failed")
    assert failed["error"]["stage"] == "assembly"

    response = await gateway.client.post(f"/v1/compositions/{cid}/retry", headers=gateway.auth())

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "assembling"
    readies = await eventually(
        lambda: _when_list(_ready_messages(nats_server.url), 2), what="second ready"
    )
    assert [r.assembly for r in readies] == [1, 2]
    await publish(_film(cid, 2))
    await _wait_status(gateway, cid, "succeeded")


async def _when_list(
    found: Awaitable[list[CompositionReady]], n: int
) -> list[CompositionReady] | None:
    value = await found
    return value if len(value) >= n else None


async def test_the_same_idempotency_key_answers_the_same_composition(gateway: Gateway) -> None:
    body = {"scenes": [SCENE]}
    headers = {**gateway.auth(), "Idempotency-Key": "film-1"}
    first = await gateway.client.post("/v1/compositions", json=body, headers=headers)
    second = await gateway.client.post("/v1/compositions", json=body, headers=headers)

    assert first.status_code == second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    async with gateway.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Job))).scalar_one() == 1


async def test_the_event_stream_shows_each_change_and_ends_when_final(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await _compose(gateway, scenes=[SCENE])
    cid = created["id"]
    await _store_all(publish, [created["scenes"][0]["job_id"]])
    await _wait_status(gateway, cid, "assembling")
    await publish(_film(cid, 1))
    await _wait_status(gateway, cid, "succeeded")

    response = await gateway.client.get(
        f"/v1/compositions/{cid}/events",
        headers={**gateway.auth(), "Accept": "text/event-stream"},
    )

    events = await read_all(response)
    assert [e.event for e in events] == ["composition"]
    assert events[0].data["status"] == "succeeded"
    assert events[0].data["outputs"][0]["url"]


async def test_another_owner_sees_no_composition(gateway: Gateway) -> None:
    created = await _compose(gateway, scenes=[SCENE])
    other = await gateway.new_key("someone-else")

    for method, path in (
        ("GET", f"/v1/compositions/{created['id']}"),
        ("POST", f"/v1/compositions/{created['id']}/cancel"),
        ("POST", f"/v1/compositions/{created['id']}/retry"),
        ("GET", f"/v1/compositions/{created['id']}/events"),
    ):
        response = await gateway.client.request(method, path, headers=gateway.auth(other))
        assert response.status_code == 404, (path, response.text)
    listed = await gateway.client.get("/v1/compositions", headers=gateway.auth(other))
    assert listed.json()["data"] == []
