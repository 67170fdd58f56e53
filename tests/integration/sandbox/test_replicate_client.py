"""The official ``replicate`` client, unmodified, drives the sandbox through a whole prediction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from reelhouse.sandbox.models import MODELS
from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(60)

SMALL: dict[str, Any] = {
    "prompt": "a paper boat on a pond",
    "width": 160,
    "height": 90,
    "duration": 1,
}
ORDER = ["starting", "processing", "succeeded"]


def poll(client: Client, prediction_id: str, *, until: set[str]) -> list[Prediction]:
    """Every prediction seen while polling until a status in ``until`` (bounded)."""
    seen: list[Prediction] = []
    for _ in range(600):
        seen.append(client.predictions.get(prediction_id))
        if seen[-1].status in until:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{prediction_id} never reached {until}; last {seen[-1].status}")


def decode(url: str, tmp_path: Path) -> tuple[str, str, float]:
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    target = tmp_path / "out.mp4"
    target.write_bytes(response.content)
    with av.open(str(target)) as container:
        assert container.duration is not None
        return (
            container.streams.video[0].codec_context.name,
            container.streams.audio[0].codec_context.name,
            container.duration / av.time_base,
        )


def test_created_prediction_is_starting_with_string_urls(client: Client) -> None:
    prediction = client.models.predictions.create(model="sandbox/text-to-video", input=SMALL)
    assert prediction.status == "starting"
    assert prediction.model == "sandbox/text-to-video"
    assert prediction.version == "hidden"
    assert prediction.output is None
    assert prediction.urls is not None
    assert set(prediction.urls) == {"get", "cancel", "web"}


def test_polling_walks_forward_to_succeeded_with_one_output_url(
    client: Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(model="sandbox/text-to-video", input=SMALL)
    seen = poll(client, created.id, until={"succeeded", "failed", "canceled"})
    statuses = [p.status for p in seen]
    assert statuses[-1] == "succeeded"
    assert [ORDER.index(s) for s in statuses] == sorted(ORDER.index(s) for s in statuses)
    done = seen[-1]
    assert done.output is not None
    assert len(done.output) == 1
    assert done.output[0].startswith(f"{sandbox.url}/files/{done.id}/output.mp4?exp=")
    assert done.metrics is not None
    assert isinstance(done.metrics["predict_time"], float)
    assert done.started_at is not None
    assert done.completed_at is not None
    assert done.logs is not None
    assert "Using seed" in done.logs
    assert done.progress is not None
    assert done.progress.percentage == 1.0


def test_wait_then_download_gives_a_decodable_h264_aac_video(
    client: Client, tmp_path: Path
) -> None:
    prediction = client.models.predictions.create(model="sandbox/text-to-video", input=SMALL)
    prediction.wait()
    assert prediction.status == "succeeded"
    assert prediction.output is not None
    video, audio, duration = decode(prediction.output[0], tmp_path)
    assert (video, audio) == ("h264", "aac")
    assert duration == pytest.approx(1.0, abs=0.2)


def test_run_holds_with_prefer_wait_and_returns_the_output(client: Client, tmp_path: Path) -> None:
    output = client.run("sandbox/text-to-video", input=SMALL, use_file_output=False)
    assert isinstance(output, list)
    assert decode(output[0], tmp_path)[0] == "h264"


def test_run_polls_when_the_hold_expires_before_the_end(client: Client) -> None:
    output = client.run(
        "sandbox/text-to-video",
        input={**SMALL, "sandbox_delay": 2.5},
        wait=1,
        use_file_output=False,
    )
    assert isinstance(output, list)
    assert len(output) == 1


def test_expired_hold_answers_starting_never_processing_without_output(
    http: httpx.Client,
) -> None:
    response = http.post(
        "/v1/models/sandbox/text-to-video/predictions",
        json={"input": {**SMALL, "sandbox_delay": 0.1, "sandbox_fault": "never_finishes"}},
        headers={"Prefer": "wait=1"},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "starting"
    assert response.json()["output"] is None
    assert http.get(f"/v1/predictions/{response.json()['id']}").json()["status"] == "processing"


def test_version_form_and_version_ref_work(client: Client) -> None:
    version_id = MODELS["sandbox/text-to-video"].version_id
    created = client.predictions.create(version=version_id, input=SMALL)
    assert created.version == version_id
    created.wait()
    assert created.status == "succeeded"
    # an owner/name:version ref makes run() fetch the version's schema first
    output = client.run(f"sandbox/text-to-video:{version_id}", input=SMALL, use_file_output=False)
    assert isinstance(output, list)


def test_text_to_image_makes_a_png(client: Client, tmp_path: Path) -> None:
    output = client.run(
        "sandbox/text-to-image",
        input={"prompt": "a kite", "width": 128, "height": 96},
        use_file_output=False,
    )
    assert isinstance(output, list)
    response = httpx.get(output[0], timeout=30)
    assert response.headers["content-type"] == "image/png"
    (tmp_path / "i.png").write_bytes(response.content)
    with Image.open(tmp_path / "i.png") as image:
        assert image.size == (128, 96)


def test_cancel_a_running_prediction_then_again_is_unchanged(client: Client) -> None:
    created = client.models.predictions.create(
        model="sandbox/text-to-video",
        input={**SMALL, "sandbox_delay": 0.1, "sandbox_fault": "never_finishes"},
    )
    poll(client, created.id, until={"processing"})
    canceled = client.predictions.cancel(created.id)
    assert canceled.status == "canceled"
    assert canceled.completed_at is not None
    again = client.predictions.cancel(created.id)
    assert (again.status, again.completed_at) == ("canceled", canceled.completed_at)
    assert client.predictions.get(created.id).status == "canceled"


def test_cancel_after_success_leaves_it_succeeded(client: Client) -> None:
    prediction = client.models.predictions.create(model="sandbox/text-to-video", input=SMALL)
    prediction.wait()
    after = client.predictions.cancel(prediction.id)
    assert after.status == "succeeded"
    assert after.output == prediction.output


def test_prediction_cancel_method_on_the_object(client: Client) -> None:
    prediction = client.models.predictions.create(
        model="sandbox/text-to-video", input={**SMALL, "sandbox_fault": "never_starts"}
    )
    prediction.cancel()
    assert prediction.status == "canceled"


def test_list_follows_absolute_next_urls(client: Client, sandbox: RunningSandbox) -> None:
    ids = [
        client.models.predictions.create(
            model="sandbox/text-to-image", input={"prompt": f"list {n}", "width": 64, "height": 64}
        ).id
        for n in range(3)
    ]
    first = client.predictions.list(f"{sandbox.url}/v1/predictions?page_size=2")
    assert [p.id for p in first.results] == ids[::-1][:2]
    assert first.next is not None
    assert first.next.startswith(f"{sandbox.url}/v1/predictions?")
    second = client.predictions.list(first.next)
    assert second.results[0].id == ids[0]
    assert second.previous is not None
    assert len(client.predictions.list().results) >= 3


def test_missing_token_is_401_problem_json(sandbox: RunningSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        response = httpx.post(
            f"{sandbox.url}/v1/models/sandbox/text-to-video/predictions",
            json={"input": SMALL},
            headers=headers,
        )
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 401


def test_unknown_model_is_404_for_the_client(client: Client) -> None:
    with pytest.raises(ReplicateError) as raised:
        client.models.predictions.create(model="sandbox/text-to-nothing", input=SMALL)
    assert raised.value.status == 404
    assert raised.value.title


def test_unknown_prediction_is_404(client: Client) -> None:
    with pytest.raises(ReplicateError) as raised:
        client.predictions.get("doesnotexist")
    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("bad_input", "field"),
    [
        ({"width": 160}, "input.prompt"),
        ({**SMALL, "duration": 11}, "input.duration"),
        ({**SMALL, "duration": 0}, "input.duration"),
        ({**SMALL, "sandbox_fault": "explode"}, "input"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: Client, bad_input: dict[str, Any], field: str
) -> None:
    with pytest.raises(ReplicateError) as raised:
        client.models.predictions.create(model="sandbox/text-to-video", input=bad_input)
    assert raised.value.status == 422
    assert raised.value.detail is not None
    assert field in raised.value.detail


def test_unknown_version_is_422(client: Client) -> None:
    with pytest.raises(ReplicateError) as raised:
        client.predictions.create(version="0" * 64, input=SMALL)
    assert raised.value.status == 422


def test_healthz_needs_no_token(sandbox: RunningSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/healthz")
    assert response.status_code == 200
