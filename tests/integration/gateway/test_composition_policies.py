"""Compositions at the gateway: each policy, an uploaded track, cancel cascading to the parts,
and retrying the failed parts (the parts' events published by hand; see compositions.py).
"""

from __future__ import annotations

from tests.integration.gateway import job_events
from tests.integration.gateway.compositions import (
    SCENE,
    Publish,
    assembly_failed,
    cancel_messages,
    compose,
    failure_of,
    film_answer,
    first,
    get,
    ready_messages,
    store_all,
    wait_status,
    when,
    when_list,
)
from tests.integration.gateway.harness import Gateway, eventually
from tests.support.nats import NatsServer
from tests.unit.gateway.upload_samples import audio_bytes, png_bytes


async def test_fail_fast_fails_with_the_scenes_reason_and_cancels_the_rest(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await store_all(publish, [jobs[0]])
    await publish(failure_of(jobs[1]))
    failed = await wait_status(gateway, cid, "failed")

    assert failed["error"]["code"] == "provider_model_error"
    assert failed["error"]["scene"] == 1
    assert failed["error"]["message"].startswith("scene 1 failed")
    cancels = await eventually(
        lambda: when(cancel_messages(nats_server.url), lambda c: jobs[2] in c), what="cascade"
    )
    assert cancels == {jobs[2]}
    assert await ready_messages(nats_server.url) == []


async def test_best_effort_assembles_the_scenes_that_succeeded(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway, policy="best_effort")
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]

    await publish(failure_of(jobs[1]))
    await store_all(publish, [jobs[0], jobs[2]])
    assembling = await wait_status(gateway, cid, "assembling")

    assert assembling["missing_scenes"] == [1]
    ready = await eventually(lambda: first(ready_messages(nats_server.url)), what="ready")
    assert [clip.index for clip in ready.scenes] == [0, 2]
    assert ready.missing == [1]
    assert await cancel_messages(nats_server.url) == set()


async def test_best_effort_with_no_scene_left_fails(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway, policy="best_effort", scenes=[SCENE, SCENE])
    for scene in created["scenes"]:
        await publish(failure_of(scene["job_id"]))

    failed = await wait_status(gateway, created["id"], "failed")

    assert failed["error"]["code"] == "no_scene_succeeded"


async def test_cancel_cascades_to_every_scene_still_running(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]
    await store_all(publish, [jobs[0]])
    await gateway.wait_for_status(jobs[0], "succeeded")

    response = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "canceled"
    again = await gateway.client.post(f"/v1/compositions/{cid}/cancel", headers=gateway.auth())
    assert again.status_code == 202

    cancels = await eventually(
        lambda: when(cancel_messages(nats_server.url), lambda c: len(c) >= 2), what="cascade"
    )
    assert cancels == {jobs[1], jobs[2]}
    for job_id in jobs[1:]:
        await publish(job_events.canceled(job_id))
        await gateway.wait_for_status(job_id, "canceled")
    # the parts settling afterwards change nothing
    assert (await get(gateway, cid))["status"] == "canceled"
    assert await ready_messages(nats_server.url) == []


async def test_a_composition_being_assembled_cannot_be_canceled(
    gateway: Gateway, publish: Publish
) -> None:
    created = await compose(gateway, scenes=[SCENE])
    await store_all(publish, [created["scenes"][0]["job_id"]])
    await wait_status(gateway, created["id"], "assembling")

    response = await gateway.client.post(
        f"/v1/compositions/{created['id']}/cancel", headers=gateway.auth()
    )

    assert response.status_code == 409
    assert response.json()["code"] == "composition_final"


async def test_retry_generates_only_the_failed_scenes_then_assembles_again(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway)
    cid = created["id"]
    jobs = [s["job_id"] for s in created["scenes"]]
    await store_all(publish, [jobs[0]])
    await publish(failure_of(jobs[1]))
    await wait_status(gateway, cid, "failed")
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
    await store_all(publish, [scenes[1]["job_id"], scenes[2]["job_id"]])
    await wait_status(gateway, cid, "assembling")
    ready = await eventually(lambda: first(ready_messages(nats_server.url)), what="ready")
    assert ready.assembly == 1
    assert [clip.job_id for clip in ready.scenes] == [
        jobs[0],
        scenes[1]["job_id"],
        scenes[2]["job_id"],
    ]


async def test_a_failed_assembly_fails_it_and_a_retry_assembles_again(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    created = await compose(gateway, scenes=[SCENE, SCENE])
    cid = created["id"]
    await store_all(publish, [s["job_id"] for s in created["scenes"]])
    await wait_status(gateway, cid, "assembling")
    await publish(assembly_failed(cid, 1))
    failed = await wait_status(gateway, cid, "failed")
    assert failed["error"]["stage"] == "assembly"

    response = await gateway.client.post(f"/v1/compositions/{cid}/retry", headers=gateway.auth())

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "assembling"
    readies = await eventually(
        lambda: when_list(ready_messages(nats_server.url), 2), what="second ready"
    )
    assert [r.assembly for r in readies] == [1, 2]
    await publish(film_answer(cid, 2))
    await wait_status(gateway, cid, "succeeded")


async def test_an_uploaded_track_is_laid_under_the_film(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    track = await gateway.client.post(
        "/v1/uploads",
        files={"file": ("theme.m4a", audio_bytes("m4a"), "audio/mp4")},
        headers=gateway.auth(),
    )
    assert track.status_code == 201, track.text
    created = await compose(gateway, scenes=[SCENE], audio={"upload": track.json()["reference"]})

    assert created["audio"] == {
        "source": "upload",
        "upload_id": track.json()["id"],
        "part": None,
    }
    await store_all(publish, [created["scenes"][0]["job_id"]])
    ready = await eventually(lambda: first(ready_messages(nats_server.url)), what="ready")
    assert ready.audio is not None
    assert ready.audio.source == "upload"
    assert ready.audio.reference == track.json()["id"]
    assert ready.audio.key.startswith("uploads/")


async def test_a_track_that_is_no_audio_upload_is_refused(gateway: Gateway) -> None:
    image = await gateway.client.post(
        "/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers=gateway.auth()
    )
    assert image.status_code == 201, image.text

    for reference in (image.json()["reference"], "upload://upl_" + "0" * 32):
        response = await gateway.client.post(
            "/v1/compositions",
            json={"scenes": [SCENE], "audio": {"upload": reference}},
            headers=gateway.auth(),
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["path"] == "audio.upload"
