"""The sandbox's outputs are what was asked for: music of the requested length, videos of the
requested size, rate and length, over both protocols (decoded, not just looked at)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from replicate.client import Client

from tests.integration.sandbox.conftest import RunningSandbox, wait_finished
from tests.support.still_images import data_uri, quadrant_png

pytestmark = pytest.mark.timeout(120)

AAC_FRAME_SECONDS = 1024 / 44_100


def download(url: str, target: Path) -> httpx.Response:
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    target.write_bytes(response.content)
    return response


def audio_facts(path: Path) -> tuple[str, int, float, float]:
    """Codec, sample rate, the container's duration and the decoded samples' duration."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert not container.streams.video
        samples = sum(frame.samples for frame in container.decode(stream))
        assert container.duration is not None
        return (
            stream.codec_context.name,
            stream.rate,
            container.duration / av.time_base,
            samples / stream.rate,
        )


def video_facts(path: Path) -> tuple[tuple[int, int], float, int]:
    """Frame size, frames per second and decoded frame count of the first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is not None
        fps = float(stream.average_rate)
        frames = [frame for frame in container.decode(stream)]
    return (frames[0].width, frames[0].height), fps, len(frames)


def run_replicate(client: Client, model: str, input_: dict[str, Any]) -> str:
    created = client.models.predictions.create(model=model, input=input_)
    done = wait_finished(client, created.id)
    assert done.status == "succeeded", done.error
    assert done.output is not None
    assert len(done.output) == 1
    url: str = done.output[0]
    return url


@pytest.mark.parametrize("duration", [1, 4])
def test_music_is_aac_in_m4a_of_the_requested_length(
    client: Client, tmp_path: Path, duration: int
) -> None:
    url = run_replicate(
        client, "sandbox/text-to-music", {"prompt": "a calm harbour", "duration": duration}
    )

    response = download(url, tmp_path / "music.m4a")

    assert response.headers["content-type"] == "audio/mp4"
    assert response.content[4:12] == b"ftypM4A "
    codec, rate, container_seconds, decoded_seconds = audio_facts(tmp_path / "music.m4a")
    assert (codec, rate) == ("aac", 44_100)
    assert container_seconds == pytest.approx(duration, abs=AAC_FRAME_SECONDS)
    assert decoded_seconds == pytest.approx(duration, abs=AAC_FRAME_SECONDS)


def test_music_refuses_a_duration_out_of_range(client: Client, http: httpx.Client) -> None:
    response = http.post(
        "/v1/models/sandbox/text-to-music/predictions",
        json={"input": {"prompt": "too long", "duration": 301}},
    )

    assert response.status_code == 422
    [invalid] = response.json()["invalid_fields"]
    assert invalid["field"] == "input.duration"


def test_fal_music_comes_as_an_audio_file(sandbox: RunningSandbox, tmp_path: Path) -> None:
    [run] = sandbox.fal(
        {
            "op": "subscribe",
            "app": "sandbox-fal/text-to-music",
            "arguments": {"prompt": "rain on a roof", "duration": 2, "seed": 5},
        }
    )

    audio = run["ok"]["result"]["audio"]
    assert audio["content_type"] == "audio/mp4"
    download(audio["url"], tmp_path / "music.m4a")
    _, _, seconds, _ = audio_facts(tmp_path / "music.m4a")
    assert seconds == pytest.approx(2, abs=AAC_FRAME_SECONDS)


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("sandbox/text-to-video", {"prompt": "a tall tower"}),
        ("sandbox/image-to-video", {"image": data_uri(quadrant_png(320, 180))}),
    ],
)
def test_video_has_the_requested_size_rate_and_length(
    client: Client, tmp_path: Path, model: str, extra: dict[str, Any]
) -> None:
    # portrait, from a landscape image too: the request wins over the image's shape
    asked = {"duration": 2, "width": 180, "height": 320, "fps": 15}

    url = run_replicate(client, model, {**extra, **asked})

    download(url, tmp_path / "clip.mp4")
    size, fps, frames = video_facts(tmp_path / "clip.mp4")
    assert size == (180, 320)
    assert fps == pytest.approx(15)
    assert frames == 30


@pytest.mark.parametrize(
    ("app", "extra"),
    [
        ("sandbox-fal/text-to-video", {"prompt": "a boat"}),
        ("sandbox-fal/image-to-video", {"image": data_uri(quadrant_png(100, 300))}),
    ],
)
def test_fal_video_has_the_requested_size_rate_and_length(
    sandbox: RunningSandbox, tmp_path: Path, app: str, extra: dict[str, Any]
) -> None:
    asked = {"duration": 3, "width": 256, "height": 144, "fps": 8}

    [run] = sandbox.fal({"op": "subscribe", "app": app, "arguments": {**extra, **asked}})

    download(run["ok"]["result"]["video"]["url"], tmp_path / "clip.mp4")
    size, fps, frames = video_facts(tmp_path / "clip.mp4")
    assert size == (256, 144)
    assert fps == pytest.approx(8)
    assert frames == 24
