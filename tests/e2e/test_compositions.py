"""Compositions end to end on the running system: scenes generated in parallel by the sandbox,
joined by the assembler, served by the media service; each policy, cancel, and a redelivered
assembly."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import av
import httpx
import nats
import numpy as np
import pytest

from reelhouse.common.composition_events import CompositionAssembled, CompositionReady
from reelhouse.common.events import STREAM_NAME
from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.media_checks import top_level_boxes
from tests.support.still_images import quadrant_png

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FINAL = {"succeeded", "failed", "canceled"}
SIZE = {"width": 320, "height": 180}
FPS = 24


def _scene(prompt: str, seconds: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "model": "sandbox/text-to-video",
        "input": {"prompt": prompt, **SIZE, "fps": FPS, **extra},
        "duration": seconds,
    }


def _compose(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/compositions", json=body)
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


def _wait(
    client: httpx.Client, composition_id: str, statuses: set[str] = FINAL, timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/v1/compositions/{composition_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        if found["status"] in statuses:
            return found
        time.sleep(0.2)
    raise AssertionError(f"composition {composition_id} not {statuses} after {timeout}s")


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/generations/{job_id}").json()
        if job["status"] in FINAL:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not final after {timeout}s")


def _film(found: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    assert found["status"] == "succeeded", found
    [output] = found["outputs"]
    with httpx.Client(timeout=30.0) as browser:
        response = browser.get(output["url"])
    assert response.status_code == 200
    return output, response.content


def _video_frames(data: bytes) -> list[tuple[int, int]]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [(f.width, f.height) for f in container.decode(video=0)]


def _audio(data: bytes) -> tuple[int, np.ndarray, int]:
    """How many audio streams, and the first one's samples (mono mix) and rate."""
    with av.open(io.BytesIO(data), mode="r") as container:
        streams = len(container.streams.audio)
        if not streams:
            return 0, np.zeros(0), 0
        rate = container.streams.audio[0].rate
        chunks = [
            frame.to_ndarray().astype(np.float64).reshape(-1, frame.samples).mean(axis=0)
            for frame in container.decode(audio=0)
        ]
    return streams, np.concatenate(chunks), rate


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


@pytest.fixture(scope="module")
def http(system: EmbeddedSystem) -> Any:
    with system.client() as client:
        yield client


@pytest.fixture(scope="module")
def film(http: httpx.Client) -> dict[str, Any]:
    """Three scenes (one image-to-video from an upload) and a generated score, crossfaded."""
    uploaded = http.post("/v1/uploads", files={"file": ("still.png", quadrant_png(320, 180))})
    assert uploaded.status_code == 201, uploaded.text
    still = {
        "model": "sandbox/image-to-video",
        "input": {"prompt": "the still, moving", "image": uploaded.json()["reference"], **SIZE},
        "duration": 2,
    }
    created = _compose(
        http,
        {
            "scenes": [_scene("dawn"), still, _scene("dusk")],
            "audio": {"model": "sandbox/text-to-music", "prompt": "a calm theme"},
            "transition": {"type": "crossfade", "seconds": 0.5},
            "width": 320,
            "height": 180,
            "fps": FPS,
        },
    )
    assert created["status"] == "generating"
    assert len(created["scenes"]) == 3
    assert created["audio"]["part"]["job_id"]
    return _wait(http, created["id"])


def test_three_scenes_and_a_score_become_one_film(film: dict[str, Any]) -> None:
    output, data = _film(film)

    assert film["progress"]["summary"] == "3 of 3 scenes done"
    assert film["missing_scenes"] == []
    assert film["assembly_method"] == "reencode"
    # 2 + 2 + 2 seconds less two crossfades of 0.5 s, within a frame per transition
    assert output["duration"] == pytest.approx(5.0, abs=2 / FPS + 0.05)
    assert (output["width"], output["height"]) == (320, 180)
    boxes = top_level_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat")
    frames = _video_frames(data)
    assert set(frames) == {(320, 180)}
    assert len(frames) == pytest.approx(5.0 * FPS, abs=2)


def test_the_film_has_one_continuous_track_faded_in_and_out(film: dict[str, Any]) -> None:
    output, data = _film(film)
    streams, samples, rate = _audio(data)

    assert streams == 1
    assert samples.size / rate == pytest.approx(output["duration"], abs=0.15)
    edge = rate // 20  # 50 ms
    middle = samples.size // 2
    loud = _rms(samples[middle - edge : middle + edge])
    assert loud > 0
    assert _rms(samples[:edge]) < 0.3 * loud
    assert _rms(samples[-edge:]) < 0.3 * loud


def test_the_film_has_a_poster(film: dict[str, Any]) -> None:
    output, _ = _film(film)
    with httpx.Client(timeout=30.0) as browser:
        poster = browser.get(output["poster_url"])
    assert poster.status_code == 200
    assert poster.content[:3] == b"\xff\xd8\xff"


def test_the_film_is_served_with_ranges(film: dict[str, Any]) -> None:
    output, data = _film(film)
    with httpx.Client(timeout=30.0) as browser:
        part = browser.get(output["url"], headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["accept-ranges"] == "bytes"
    assert part.content == data[1000:2000]


def test_the_cost_sums_the_parts(film: dict[str, Any]) -> None:
    cost = film["cost"]
    assert cost["assembly_usd"] == 0.0
    assert cost["simulated"] is True
    assert cost["estimate_usd"] is not None


def test_a_redelivered_assembly_stores_the_film_once(
    system: EmbeddedSystem, http: httpx.Client, film: dict[str, Any]
) -> None:
    # the one run's film: outputs/<id>/0.<run>.mp4 (ADR 0014)
    [stored] = list(system.data_dir.rglob(f"outputs/{film['id']}/0.*.mp4"))
    before = stored.stat().st_mtime_ns

    async def redeliver() -> None:
        nc = await nats.connect(system.nats_url, connect_timeout=5, max_reconnect_attempts=0)
        try:
            js = nc.jetstream()
            ready = await js.get_last_msg(STREAM_NAME, CompositionReady.subject)
            event = CompositionReady.model_validate_json(ready.data or b"{}")
            assert event.job_id == film["id"]
            headers = {**event.ce_headers("test"), "Nats-Msg-Id": f"{event.event_id}:again"}
            await js.publish(event.subject, ready.data or b"", headers=headers)
        finally:
            await nc.close()

    asyncio.run(redeliver())
    deadline = time.monotonic() + 60
    while _replays(system) < 1:
        assert time.monotonic() < deadline, "the assembler never handled the redelivery"
        time.sleep(0.2)

    assert _replays(system) == 1
    assert stored.stat().st_mtime_ns == before
    assert list(system.data_dir.rglob(f"outputs/{film['id']}/0.*.mp4")) == [stored]
    again = http.get(f"/v1/compositions/{film['id']}").json()
    assert again["outputs"][0]["sha256"] == film["outputs"][0]["sha256"]
    assert again["status"] == "succeeded"
    assert _assembled_messages(system) == 1


def _replays(system: EmbeddedSystem) -> int:
    text = httpx.get(f"{system.assembler}/metrics", timeout=10.0).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("reelhouse_assemblies_total{") and 'outcome="replayed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _assembled_messages(system: EmbeddedSystem) -> int:
    async def count() -> int:
        nc = await nats.connect(system.nats_url, connect_timeout=5, max_reconnect_attempts=0)
        try:
            info = await nc.jetstream().stream_info(STREAM_NAME, subjects_filter=">")
            return int((info.state.subjects or {}).get(CompositionAssembled.subject, 0))
        finally:
            await nc.close()

    return asyncio.run(count())


def test_scenes_of_other_sizes_are_normalised_to_the_first(http: httpx.Client) -> None:
    square = _scene("square", 1)
    square["input"].update(width=240, height=240)
    created = _compose(http, {"scenes": [_scene("wide", 1), square]})

    output, data = _film(_wait(http, created["id"]))

    assert (output["width"], output["height"]) == (320, 180)
    assert set(_video_frames(data)) == {(320, 180)}
    assert output["duration"] == pytest.approx(2.0, abs=1 / FPS + 0.05)


def test_matching_scenes_are_joined_without_re_encoding(http: httpx.Client) -> None:
    created = _compose(http, {"scenes": [_scene("one", 1), _scene("two", 1)]})

    found = _wait(http, created["id"])
    output, data = _film(found)

    assert found["assembly_method"] == "copy"
    assert output["duration"] == pytest.approx(2.0, abs=1 / FPS + 0.05)
    assert len(_video_frames(data)) == pytest.approx(2 * FPS, abs=1)


def test_fail_fast_fails_with_the_scenes_reason_and_cancels_the_rest(http: httpx.Client) -> None:
    created = _compose(
        http,
        {
            "scenes": [
                _scene("slow", 1, sandbox_delay=60),
                _scene("broken", 1, sandbox_fault="model_error"),
            ],
            "policy": "fail_fast",
        },
    )

    failed = _wait(http, created["id"])

    assert failed["status"] == "failed"
    assert failed["error"]["scene"] == 1
    assert failed["error"]["code"] == "provider_model_error"
    slow = _wait_job(http, created["scenes"][0]["job_id"])
    assert slow["status"] == "canceled"


def test_best_effort_assembles_the_scenes_that_succeeded(http: httpx.Client) -> None:
    created = _compose(
        http,
        {
            "scenes": [
                _scene("first", 1),
                _scene("broken", 1, sandbox_fault="model_error"),
                _scene("third", 1),
            ],
            "policy": "best_effort",
        },
    )

    found = _wait(http, created["id"])
    output, _ = _film(found)

    assert found["missing_scenes"] == [1]
    assert found["scenes"][1]["error"]["code"] == "provider_model_error"
    assert output["duration"] == pytest.approx(2.0, abs=1 / FPS + 0.05)


def test_cancel_cascades_to_every_scene(http: httpx.Client) -> None:
    slow = [_scene("slow", 1, sandbox_delay=60), _scene("slower", 1, sandbox_delay=60)]
    created = _compose(http, {"scenes": slow})

    response = http.post(f"/v1/compositions/{created['id']}/cancel")

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "canceled"
    for scene in created["scenes"]:
        assert _wait_job(http, scene["job_id"])["status"] == "canceled"
