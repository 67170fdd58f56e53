"""Image-to-video: its input, the image fetch and decode, the zoom render, and how a bad
input file fails the prediction (both protocols' shapes)."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import av
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from reelhouse.sandbox import fal_wire
from reelhouse.sandbox.image_input import (
    DOWNLOAD_ERROR,
    LOAD_ERROR,
    Fetcher,
    InputFileError,
    decode_data_uri,
    decode_image,
    describe,
)
from reelhouse.sandbox.models import MODELS, ImageToVideoInput, find_model
from reelhouse.sandbox.motion import KenBurns, MotionSpec, frame_size, render_motion
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Status
from reelhouse.sandbox.render import RenderStoppedError
from reelhouse.sandbox.runner import Runner
from reelhouse.sandbox.wire import prediction_json
from tests.support.still_images import (
    COLOUR_TOLERANCE,
    colour_errors,
    data_uri,
    quadrant_png,
)
from tests.unit.sandbox.fakes import QUEUE, FakeClock, make, status_of

# the input


def test_input_needs_an_image_and_keeps_the_prompt_optional() -> None:
    params = ImageToVideoInput.model_validate({"image": "https://example.com/a.png"})
    assert params.prompt == ""
    assert params.duration == 3.0
    assert (params.width, params.height, params.fps) == (None, None, 24)
    with pytest.raises(ValidationError):
        ImageToVideoInput.model_validate({"prompt": "no image"})


@pytest.mark.parametrize(
    "bad",
    [
        {"image": "file:///etc/passwd"},
        {"image": "ftp://example.com/a.png"},
        {"image": "example.com/a.png"},
        {"image": "https:/no-host"},
        {"image": ""},
        {"image": "https://example.com/a.png", "duration": 11},
        {"image": "https://example.com/a.png", "width": 321},
        {"image": "https://example.com/a.png", "sandbox_faults": "typo"},
    ],
)
def test_input_rejects_what_a_provider_could_not_fetch_or_render(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ImageToVideoInput.model_validate(bad)


def test_both_protocols_offer_image_to_video() -> None:
    replicate = find_model("sandbox/image-to-video", "replicate")
    fal = find_model("sandbox-fal/image-to-video", "fal")
    assert replicate is not None
    assert fal is not None
    assert replicate.input_model is fal.input_model is ImageToVideoInput
    assert find_model("sandbox/image-to-video", "fal") is None
    schema = replicate.openapi_schema()["components"]["schemas"]["Input"]
    assert schema["required"] == ["image"]
    assert {"sandbox/image-to-video", "sandbox-fal/image-to-video"} <= set(MODELS)


# fetching and decoding


def test_base64_and_percent_encoded_data_uris_decode() -> None:
    png = quadrant_png(32, 18)
    assert decode_data_uri(data_uri(png), field="image") == png
    encoded = "data:image/png," + quote_from_bytes(png)
    assert decode_data_uri(encoded, field="image") == png
    wrapped = "data:image/png;base64," + quote_from_bytes(
        b"\n".join(base64.encodebytes(png).split(b"\n"))
    )
    assert decode_data_uri(wrapped, field="image") == png


@pytest.mark.parametrize("uri", ["data:image/png;base64,***", "data:image/png;base64"])
def test_a_broken_data_uri_is_a_download_error(uri: str) -> None:
    with pytest.raises(InputFileError) as caught:
        Fetcher().fetch(uri, field="image")
    assert caught.value.error_type == DOWNLOAD_ERROR
    assert caught.value.field == "image"


def test_a_data_uri_over_the_size_limit_is_refused_before_decoding() -> None:
    with pytest.raises(InputFileError, match="over 100 bytes"):
        Fetcher(max_bytes=100).fetch(data_uri(b"x" * 500), field="image")


def test_messages_never_carry_a_query_or_the_data() -> None:
    assert describe("https://cdn.test/i.png?X-Signature=secret") == "https://cdn.test/i.png"
    assert describe("http://user:pw@cdn.test:8080/i.png") == "http://cdn.test:8080/i.png"
    assert describe("data:image/png;base64,AAAA") == "a data: URI"


def test_bytes_that_are_not_an_image_are_a_load_error() -> None:
    with pytest.raises(InputFileError) as caught:
        decode_image(b"<html>not an image</html>", field="image")
    assert caught.value.error_type == LOAD_ERROR
    truncated = quadrant_png()[:60]
    with pytest.raises(InputFileError):
        decode_image(truncated, field="image")


def test_a_canvas_over_the_pixel_limit_is_refused_without_decoding_it() -> None:
    with pytest.raises(InputFileError, match="over 1000 pixels") as caught:
        decode_image(quadrant_png(64, 64), field="image", max_pixels=1000)
    assert caught.value.error_type == LOAD_ERROR


def test_transparency_lands_on_black_and_palettes_become_rgb() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 255, 255, 0)).save(buffer, format="PNG")
    image = decode_image(buffer.getvalue(), field="image")
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (0, 0, 0)


# the render


@pytest.mark.parametrize(
    ("size", "asked", "expected"),
    [
        ((1600, 900), (None, None), (640, 360)),
        ((900, 1600), (None, None), (360, 640)),
        ((333, 333), (None, None), (640, 640)),
        ((1600, 900), (320, None), (320, 180)),
        ((1600, 900), (None, 90), (160, 90)),
        ((1600, 900), (200, 200), (200, 200)),
        ((4000, 100), (None, None), (640, 64)),
    ],
)
def test_frame_size_follows_the_image_and_stays_even(
    size: tuple[int, int], asked: tuple[int | None, int | None], expected: tuple[int, int]
) -> None:
    assert frame_size(size, *asked) == expected


def test_the_first_view_is_the_whole_image_and_the_camera_moves() -> None:
    source = Image.open(io.BytesIO(quadrant_png()))
    frames = KenBurns(source, MotionSpec("", 1.0, 320, 180, 24, seed=3), total_frames=24)
    base_width, base_height = 384, 216  # the frame size times the final zoom
    assert frames.view(0) == (0.0, 0.0, base_width, base_height)
    last = frames.view(23)
    assert last[2] - last[0] == pytest.approx(base_width / 1.2)
    assert 0 <= last[0] < last[2] <= base_width
    assert 0 <= last[1] < last[3] <= base_height


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = decode_image(quadrant_png(), field="image")
    spec = MotionSpec("a quiet harbour at dawn", 1.0, 320, 180, 24, seed=5)
    target = tmp_path_factory.mktemp("motion") / "out.mp4"
    render_motion(source, spec, target, progress=lambda _d, _t: None, should_stop=lambda: False)
    return target


def test_the_clip_is_h264_of_the_asked_size_and_length(rendered: Path) -> None:
    with av.open(str(rendered)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        frames = list(container.decode(video=0))
    assert len(frames) == 24


def test_the_first_frame_shows_the_image(rendered: Path) -> None:
    with av.open(str(rendered)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
        *_, last = (f.to_ndarray(format="rgb24") for f in container.decode(video=0))
    assert max(colour_errors(first)) < COLOUR_TOLERANCE, colour_errors(first)
    # the caption darkens the bottom band; the zoom changes the picture over time
    assert first[-3:].mean() < first[: len(first) // 2].mean()
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 1.0


def test_a_stop_request_ends_the_render(tmp_path: Path) -> None:
    source = decode_image(quadrant_png(64, 64), field="image")
    spec = MotionSpec("", 2.0, 64, 64, 24, seed=1)
    with pytest.raises(RenderStoppedError):
        render_motion(
            source, spec, tmp_path / "x.mp4", progress=lambda _d, _t: None, should_stop=lambda: True
        )
    assert not list(tmp_path.iterdir())


# failing the prediction


async def test_an_undecodable_image_fails_the_prediction_as_an_input_error(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    spec = MODELS["sandbox-fal/image-to-video"]
    raw = {"image": data_uri(b"not an image at all"), "prompt": "x"}
    prediction = make(clock)
    prediction.input = raw
    task = runner.launch(prediction, spec.build_job(spec.input_model.model_validate(raw)))
    await clock.advance(QUEUE)
    await asyncio.wait_for(task, 10)

    assert status_of(prediction) is Status.FAILED
    assert (prediction.error_type, prediction.error_field) == (LOAD_ERROR, "image")
    assert prediction.error is not None
    assert prediction.error.startswith("Input 'image': Failed to load the image")
    assert "Error: Failed to load the image" in prediction.logs
    # Replicate's shape: failed, with the error string
    body = prediction_json(prediction, "http://sandbox.test")
    assert (body["status"], body["error"]) == ("failed", prediction.error)
    # fal's: COMPLETED with error and error_type; the result a 422 with a typed detail
    code, status = fal_wire.status_json(prediction, "https://fal.test", now=0, with_logs=False)
    assert (code, status["status"], status["error_type"]) == (200, "COMPLETED", LOAD_ERROR)
    [detail] = fal_wire.input_error_detail(prediction) or []
    assert detail["loc"] == ["body", "image"]
    assert detail["type"] == LOAD_ERROR
    assert "input" not in detail  # a data: URI is not echoed back
    webhook = fal_wire.webhook_json(prediction, outputs)
    assert webhook["status"] == "ERROR"
    assert webhook["error"] == "Invalid status code: 422"
    assert webhook["payload"] == {"detail": [detail]}
