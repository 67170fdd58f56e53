"""The ``instant-video`` model: succeeds on creation with a ready-made, valid MP4."""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import httpx
import pytest

from tests.integration.sandbox.conftest import TOKEN, RunningSandbox, sandbox_settings, serve

pytestmark = pytest.mark.timeout(60)

MODEL = "sandbox/instant-video"
# far longer than any bounded wait below: only a model that skips them can finish in time
SLOW_SECONDS = 3600.0


@pytest.fixture(scope="module")
def slow_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox whose other models would queue and render for an hour."""
    settings = sandbox_settings(
        tmp_path_factory.mktemp("sandbox-slow"),
        queue_seconds=SLOW_SECONDS,
        render_seconds=SLOW_SECONDS,
    )
    with serve(settings):
        yield RunningSandbox(url=settings.public_base_url, settings=settings)


@pytest.fixture
def http(slow_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=slow_sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as plain:
        yield plain


def create(http: httpx.Client, prompt: str) -> dict[str, object]:
    response = http.post(
        f"/v1/models/{MODEL}/predictions",
        json={"input": {"prompt": prompt}},
        headers={"Prefer": "wait=20"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_instant_prediction_succeeds_without_queue_or_render_time(http: httpx.Client) -> None:
    prediction = create(http, "at once")
    assert prediction["status"] == "succeeded"
    output = prediction["output"]
    assert isinstance(output, list)
    assert len(output) == 1


def test_instant_output_is_a_decodable_video_with_sound(http: httpx.Client) -> None:
    prediction = create(http, "decode me")
    output = prediction["output"]
    assert isinstance(output, list)
    response = httpx.get(str(output[0]), timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content), mode="r") as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == (160, 90)
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(1.0, abs=0.2)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 10


def test_every_instant_prediction_gets_the_same_clip_under_its_own_url(
    http: httpx.Client,
) -> None:
    urls = []
    for prompt in ("first", "second"):
        output = create(http, prompt)["output"]
        assert isinstance(output, list)
        urls.append(str(output[0]))
    assert urls[0] != urls[1]
    first, second = (httpx.get(url, timeout=30).content for url in urls)
    assert first == second


def test_instant_model_requires_a_prompt(http: httpx.Client) -> None:
    response = http.post(f"/v1/models/{MODEL}/predictions", json={"input": {}})
    assert response.status_code == 422
