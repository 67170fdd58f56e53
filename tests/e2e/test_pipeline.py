"""The whole pipeline over HTTP only, as a frontend sees it, down to decoding the served bytes."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final
from tests.e2e.media_checks import decoded_frames, top_level_boxes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FORWARD = ["queued", "submitted", "running", "downloading", "succeeded"]


def test_video_goes_from_request_to_seekable_media(system: EmbeddedSystem) -> None:
    with system.client() as client:
        job = submit(
            client,
            "sandbox/text-to-video",
            {"prompt": "a red fox in snow", "duration": 3, "width": 320, "height": 180},
        )
        assert job["status"] == "queued"
        assert job["links"]["self"].endswith(job["id"])

        final, seen = wait_final(client, job["id"])

    assert final["status"] == "succeeded", final
    assert seen == [s for s in FORWARD if s in seen], f"statuses went backwards: {seen}"
    assert final["error"] is None
    [output] = final["outputs"]
    for field in ("url", "content_type", "size", "sha256", "duration", "width", "height"):
        assert output[field] is not None, field
    assert output["content_type"] == "video/mp4"
    assert (output["width"], output["height"]) == (320, 180)
    assert output["duration"] == pytest.approx(3.0, abs=0.25)
    # the sandbox's simulated price: 0.01 USD a second, estimated from the input, charged on
    # the stored video's length
    cost = final["cost"]
    assert (cost["basis"], cost["unit_usd"], cost["simulated"]) == ("second", 0.01, True)
    assert cost["estimate_usd"] == 0.03
    assert cost["actual_usd"] == pytest.approx(output["duration"] * 0.01, abs=1e-6)

    url = output["url"]
    assert url.startswith(system.media + "/"), "the API must hand out our media URL"
    assert urlsplit(url).netloc != urlsplit(system.sandbox).netloc

    with httpx.Client(timeout=30.0) as browser:
        whole = browser.get(url)
        assert whole.status_code == 200
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-type"] == "video/mp4"
        body = whole.content
        part = browser.get(url, headers={"Range": "bytes=1000-1999"})

    assert len(body) == output["size"]
    assert hashlib.sha256(body).hexdigest() == output["sha256"]
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(body)}"
    assert part.content == body[1000:2000]

    boxes = top_level_boxes(body)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    frames, facts = decoded_frames(body)
    assert facts["video_codec"] == "h264"
    assert facts["audio_codec"] == "aac"
    assert len(frames) >= 24
    difference = np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean()
    assert difference > 1.0, "the video does not move"


def test_output_that_is_not_media_fails_with_a_readable_reason(system: EmbeddedSystem) -> None:
    with system.client() as client:
        job = submit(
            client,
            "sandbox/text-to-video",
            {"prompt": "a fox", "duration": 1, "sandbox_fault": "html_instead_of_media"},
        )
        final, _ = wait_final(client, job["id"])

    assert final["status"] == "failed"
    assert final["outputs"] == []
    error = final["error"]
    assert error["code"] == "not_media"
    assert error["stage"] == "download"
    assert error["retryable"] is False
    assert "html" in error["message"].lower()


def test_submit_answers_at_once_whatever_the_generation_takes(system: EmbeddedSystem) -> None:
    with system.client() as client:
        job = submit(
            client,
            "sandbox/text-to-video",
            {"prompt": "slow fox", "duration": 1, "sandbox_delay": 30},
        )
        # the job is accepted and visible while the provider is still working on it
        assert job["status"] == "queued"
        later = client.get(f"/v1/generations/{job['id']}").json()
        assert later["status"] in {"queued", "submitted", "running"}


def test_api_refuses_bad_requests_with_specific_errors(system: EmbeddedSystem) -> None:
    with system.client() as client:
        unknown = client.post("/v1/generations", json={"model": "nope/nothing", "input": {}})
        wrong_type = client.post(
            "/v1/generations",
            json={"model": "sandbox/text-to-video", "input": {"prompt": "x", "duration": "long"}},
        )
        missing = client.get("/v1/generations/does-not-exist")
    anonymous = httpx.get(f"{system.gateway}/v1/generations", timeout=10.0)

    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_model"
    assert wrong_type.status_code == 422
    assert wrong_type.json()["code"] == "validation_error"
    assert missing.status_code == 404
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthorized"


def test_listing_is_newest_first(system: EmbeddedSystem) -> None:
    with system.client() as client:
        first = submit(client, "sandbox/text-to-image", {"prompt": "one"})
        time.sleep(0.01)
        second = submit(client, "sandbox/text-to-image", {"prompt": "two"})
        listing = client.get("/v1/generations", params={"limit": 2}).json()
    assert [j["id"] for j in listing["data"]] == [second["id"], first["id"]]
