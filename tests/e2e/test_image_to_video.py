"""Image-to-video end to end: a PNG goes in (as a data: URI, or as an upload), the stored
clip's first frame shows it; an image URL the provider cannot fetch fails the job."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import av
import httpx
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final
from tests.support.still_images import COLOUR_TOLERANCE, colour_errors, data_uri, quadrant_png

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PNG = quadrant_png(320, 180)
CLIP: dict[str, Any] = {"prompt": "a harbour at dawn", "duration": 2}
MODELS = ("sandbox/image-to-video", "sandbox-fal/image-to-video")


@pytest.fixture(scope="module")
def jobs(system: EmbeddedSystem) -> dict[str, str]:
    """The data: URI jobs of both protocols, submitted together (they render side by side)."""
    with system.client() as client:
        return {
            model: submit(client, model, {**CLIP, "image": data_uri(PNG)})["id"] for model in MODELS
        }


@pytest.fixture(scope="module")
def http(system: EmbeddedSystem) -> Iterator[httpx.Client]:
    with system.client() as client:
        yield client


def assert_clip_shows_the_png(job: dict[str, Any]) -> None:
    """The job succeeded with a stored 16:9 clip whose first frame has the PNG's colours."""
    assert job["status"] == "succeeded", job
    [output] = job["outputs"]
    assert output["content_type"] == "video/mp4"
    assert (output["width"], output["height"]) == (640, 360)
    assert output["duration"] == pytest.approx(2.0, abs=0.25)
    with httpx.Client(timeout=30.0) as browser:
        response = browser.get(output["url"])
    assert response.status_code == 200
    with av.open(io.BytesIO(response.content), mode="r") as container:
        assert container.streams.video[0].codec_context.name == "h264"
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    errors = colour_errors(first)
    assert max(errors) < COLOUR_TOLERANCE, f"first frame differs from the PNG: {errors}"


@pytest.mark.parametrize("model", MODELS)
def test_a_png_becomes_a_clip_whose_first_frame_shows_it(
    http: httpx.Client, jobs: dict[str, str], model: str
) -> None:
    final, _ = wait_final(http, jobs[model], timeout=120)

    assert_clip_shows_the_png(final)
    assert final["input"]["image"].startswith("data:image/png;base64,")


def test_an_image_url_the_provider_is_refused_fails_as_a_rejected_input(
    http: httpx.Client, jobs: dict[str, str]
) -> None:
    done, _ = wait_final(http, jobs["sandbox-fal/image-to-video"], timeout=120)
    # a real media URL of ours whose signature is wrong: the media server answers 403
    url = urlsplit(done["outputs"][0]["url"])
    query = {**dict(parse_qsl(url.query)), "sig": "0" * 43}
    forbidden = urlunsplit(url._replace(query=urlencode(query)))

    job = submit(http, "sandbox-fal/image-to-video", {**CLIP, "image": forbidden})
    final, _ = wait_final(http, job["id"], timeout=120)

    assert final["status"] == "failed", final
    assert final["error"]["code"] == "provider_rejected_input"
    assert "file_download_error" in final["error"]["provider_detail"]
    assert "HTTP 403" in final["error"]["provider_detail"]


def _has_uploads(http: httpx.Client) -> bool:
    response = http.get("/openapi.json")
    assert response.status_code == 200, response.text
    return "/v1/uploads" in response.json()["paths"]


def test_an_uploaded_png_becomes_a_clip_whose_first_frame_shows_it(http: httpx.Client) -> None:
    if not _has_uploads(http):
        pytest.skip("needs uploads (POST /v1/uploads is not in this gateway yet)")
    uploaded = http.post("/v1/uploads", files={"file": ("still.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    upload = uploaded.json()
    assert upload["id"].startswith("upl_")
    assert upload["reference"] == f"upload://{upload['id']}"
    assert (upload["width"], upload["height"]) == (320, 180)

    job = submit(http, "sandbox/image-to-video", {**CLIP, "image": upload["reference"]})
    final, _ = wait_final(http, job["id"], timeout=120)

    assert_clip_shows_the_png(final)
    assert final["input"]["image"] == upload["reference"]
