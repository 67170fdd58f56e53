"""Compositions at the gateway: accepted as ordinary jobs, assembled once, read, listed, live.

The dispatcher, downloader and assembler are played by hand (their events published on the
real broker; tests/integration/gateway/compositions.py), so each branch is driven exactly.
"""

from __future__ import annotations

from sqlalchemy import func, select

from reelhouse.gateway.db.models import Composition, Job
from tests.integration.gateway.compositions import (
    SCENE,
    Publish,
    compose,
    film_answer,
    first,
    get,
    ready_messages,
    store_all,
    wait_status,
)
from tests.integration.gateway.harness import Gateway, eventually, publish_raw, wait_until_projected
from tests.support.nats import NatsServer
from tests.support.sse import read_all


async def test_a_composition_is_accepted_with_one_ordinary_job_per_scene(
    gateway: Gateway,
) -> None:
    created = await compose(gateway, transition={"type": "crossfade", "seconds": 0.5})

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
    created = await compose(gateway, scenes=[{**SCENE, "duration": 2}, {**SCENE, "duration": 4}])
    durations = [(await gateway.job(s["job_id"]))["input"]["duration"] for s in created["scenes"]]
    assert durations == [2, 4]


async def test_every_scene_stored_asks_the_assembler_once_then_the_film_succeeds(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway, width=640, height=360)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await store_all(publish, list(reversed(jobs)))
    assembling = await wait_status(gateway, cid, "assembling")

    assert assembling["progress"]["summary"] == "3 of 3 scenes done"
    ready = await eventually(lambda: first(ready_messages(nats_server.url)), what="ready")
    assert ready.job_id == cid
    assert ready.assembly == 1
    assert [clip.job_id for clip in ready.scenes] == jobs
    assert [clip.asset.key for clip in ready.scenes] == [f"outputs/{j}/0.mp4" for j in jobs]
    assert ready.output.width == 640
    assert ready.output.fps is None
    assert ready.key == f"outputs/{cid}/0.mp4"

    await publish(film_answer(cid, 1))
    done = await wait_status(gateway, cid, "succeeded")
    assert len(done["outputs"]) == 1
    assert done["outputs"][0]["duration"] == 9.0
    assert "/outputs/" in done["outputs"][0]["url"]
    assert done["outputs"][0]["poster_url"]
    assert done["assembly_method"] == "copy"

    # the assembler's answer again (another message id): nothing changes
    await publish_raw(nats_server.url, film_answer(cid, 1), msg_id="again")
    await publish(film_answer(cid, 2))  # an assembly never asked for
    await wait_until_projected(nats_server.url)
    assert (await get(gateway, cid))["outputs"][0]["sha256"] == "ef" * 32
    assert len(await ready_messages(nats_server.url)) == 1


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
    created = await compose(gateway, scenes=[SCENE])
    cid = created["id"]
    await store_all(publish, [created["scenes"][0]["job_id"]])
    await wait_status(gateway, cid, "assembling")
    await publish(film_answer(cid, 1))
    await wait_status(gateway, cid, "succeeded")

    response = await gateway.client.get(
        f"/v1/compositions/{cid}/events",
        headers={**gateway.auth(), "Accept": "text/event-stream"},
    )

    events = await read_all(response)
    assert [e.event for e in events] == ["composition"]
    assert events[0].data["status"] == "succeeded"
    assert events[0].data["outputs"][0]["url"]


async def test_another_owner_sees_no_composition(gateway: Gateway) -> None:
    created = await compose(gateway, scenes=[SCENE])
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
