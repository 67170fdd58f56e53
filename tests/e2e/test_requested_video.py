"""Through the whole system, each sandbox video model stores a clip of the size, frame rate and
length that was asked for (what a composition's scenes of different shapes rely on)."""

from __future__ import annotations

import io
from typing import Any

import av
import httpx
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final
from tests.support.still_images import data_uri, quadrant_png

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# a landscape image asked for as a portrait clip: the request wins over the image's shape
STILL = data_uri(quadrant_png(320, 180))
ASKED: dict[str, dict[str, Any]] = {
    "sandbox/text-to-video": {"prompt": "a tower", "width": 180, "height": 320, "fps": 12},
    "sandbox-fal/text-to-video": {"prompt": "a boat", "width": 256, "height": 144, "fps": 8},
    "sandbox/image-to-video": {"image": STILL, "width": 180, "height": 320, "fps": 10},
    "sandbox-fal/image-to-video": {"image": STILL, "width": 128, "height": 128, "fps": 12},
    "sandbox/text-to-video-fallback": {"prompt": "a bay", "width": 160, "height": 96, "fps": 6},
}
SECONDS = 2


@pytest.fixture(scope="module")
def finished(system: EmbeddedSystem) -> dict[str, dict[str, Any]]:
    """Every model's job, submitted together and waited for."""
    with system.client() as client:
        ids = {
            model: submit(client, model, {**asked, "duration": SECONDS})["id"]
            for model, asked in ASKED.items()
        }
        return {model: wait_final(client, job_id, timeout=150)[0] for model, job_id in ids.items()}


@pytest.mark.parametrize("model", list(ASKED))
def test_the_stored_clip_has_the_requested_shape(
    finished: dict[str, dict[str, Any]], model: str
) -> None:
    job = finished[model]
    asked = ASKED[model]

    assert job["status"] == "succeeded", job
    [output] = job["outputs"]
    assert (output["width"], output["height"]) == (asked["width"], asked["height"])
    assert output["fps"] == pytest.approx(asked["fps"])
    assert output["duration"] == pytest.approx(SECONDS, abs=1 / asked["fps"] + 0.05)
    with httpx.Client(timeout=30.0) as browser:
        served = browser.get(output["url"])
    assert served.status_code == 200
    with av.open(io.BytesIO(served.content), mode="r") as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == (asked["width"], asked["height"])
    assert len(frames) == SECONDS * asked["fps"]
