"""The official ``fal-client``, unmodified, drives the sandbox's fal queue API over HTTPS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.integration.sandbox.conftest import FAL_KEY, RunningSandbox

pytestmark = pytest.mark.timeout(120)

VIDEO = "sandbox-fal/text-to-video"
IMAGE = "sandbox-fal/text-to-image"
SMALL: dict[str, Any] = {"prompt": "a fal paper boat", "width": 160, "height": 90, "duration": 1}


def ok(outcome: dict[str, Any]) -> Any:
    assert "ok" in outcome, outcome
    return outcome["ok"]


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_subscribe_returns_a_playable_video(
    sandbox: RunningSandbox, mode: str, tmp_path: Path
) -> None:
    (outcome,) = sandbox.fal(
        {"op": "subscribe", "app": VIDEO, "arguments": SMALL, "with_logs": True}, mode=mode
    )
    done = ok(outcome)
    video = done["result"]["video"]
    assert video["content_type"] == "video/mp4"
    assert video["file_name"] == "output.mp4"
    assert video["url"].startswith(f"{sandbox.url}/files/")
    response = httpx.get(video["url"], timeout=30)
    assert response.status_code == 200
    assert len(response.content) == video["file_size"]
    target = tmp_path / "fal.mp4"
    target.write_bytes(response.content)
    with av.open(str(target)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    kinds = [update["status"] for update in done["updates"]]
    assert kinds[-1] == "Completed"
    assert "InProgress" in kinds
    completed = done["updates"][-1]
    assert completed["error"] is None
    assert "inference_time" in completed["metrics"]
    assert any("Rendering" in line["message"] for line in completed["logs"])


def test_submit_poll_and_result_with_the_handle_urls(sandbox: RunningSandbox) -> None:
    submitted, polled, result = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {**SMALL, "sandbox_delay": 1.0}},
        {"op": "poll", "until": ["Completed"], "with_logs": True},
        {"op": "result"},
    )
    request_id = ok(submitted)["request_id"]
    base = f"{sandbox.fal_url}/sandbox-fal/text-to-video/requests/{request_id}"
    assert ok(submitted)["response_url"] == base
    assert ok(submitted)["status_url"] == f"{base}/status"
    assert ok(submitted)["cancel_url"] == f"{base}/cancel"
    seen = ok(polled)
    order = {"Queued": 0, "InProgress": 1, "Completed": 2}
    kinds = [status["status"] for status in seen]
    assert kinds == sorted(kinds, key=order.__getitem__)
    assert kinds[0] == "Queued"
    positions = [status["position"] for status in seen if status["status"] == "Queued"]
    assert positions == sorted(positions, reverse=True)
    assert ok(result)["video"]["url"].startswith(f"{sandbox.url}/files/{request_id}/output.mp4")
    control = sandbox.control(request_id)
    assert control["protocol"] == "fal"
    assert control["status"] == "succeeded"
    assert control["calls"]["create"] == 1
    assert control["calls"]["result"] == 1
    # handle.get() polls once more (it finds COMPLETED) before fetching the result
    assert control["calls"]["poll"] == len(seen) + 1


def test_image_model_returns_images(sandbox: RunningSandbox) -> None:
    (outcome,) = sandbox.fal(
        {
            "op": "subscribe",
            "app": IMAGE,
            "arguments": {"prompt": "a kite", "width": 96, "height": 64},
        }
    )
    (image,) = ok(outcome)["result"]["images"]
    assert (image["content_type"], image["width"], image["height"]) == ("image/png", 96, 64)
    assert httpx.get(image["url"], timeout=30).content[:4] == b"\x89PNG"


def test_by_id_helpers_reach_the_sandbox(sandbox: RunningSandbox) -> None:
    (submitted,) = sandbox.fal({"op": "subscribe", "app": IMAGE, "arguments": {"prompt": "x"}})
    url = ok(submitted)["result"]["images"][0]["url"]
    request_id = url.split("/files/")[1].split("/")[0]
    status, result = sandbox.fal(
        {"op": "status_by_id", "app": IMAGE, "request_id": request_id},
        {"op": "result_by_id", "app": IMAGE, "request_id": request_id},
    )
    assert ok(status)["status"] == "Completed"
    assert ok(result)["images"][0]["url"] == url


def test_invalid_input_is_a_422_with_the_field(sandbox: RunningSandbox) -> None:
    (outcome,) = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {"prompt": "x", "duration": 99}}
    )
    assert outcome["status_code"] == 422
    assert outcome["body"]["detail"][0]["loc"] == ["body", "duration"]


def test_unknown_app_and_unknown_request_are_404(sandbox: RunningSandbox) -> None:
    submitted, status = sandbox.fal(
        {"op": "submit", "app": "sandbox-fal/nope", "arguments": SMALL},
        {"op": "status_by_id", "app": VIDEO, "request_id": "doesnotexist"},
    )
    assert submitted["status_code"] == 404
    assert status["status_code"] == 404


def test_replicate_models_are_not_offered_over_fal(sandbox: RunningSandbox) -> None:
    (outcome,) = sandbox.fal({"op": "submit", "app": "sandbox/text-to-video", "arguments": SMALL})
    assert outcome["status_code"] == 404


def test_requests_without_a_key_are_401(sandbox: RunningSandbox) -> None:
    with httpx.Client(verify=sandbox.trusting_ca(), timeout=30) as plain:
        response = plain.post(f"{sandbox.fal_url}/sandbox-fal/text-to-video", json=SMALL)
        assert response.status_code == 401
        assert "detail" in response.json()
        keyed = plain.post(
            f"{sandbox.fal_url}/sandbox-fal/text-to-video",
            json={**SMALL, "sandbox_fault": "never_starts"},
            headers={"Authorization": f"Key {FAL_KEY}"},
        )
        assert keyed.status_code == 200
        assert keyed.json()["status"] == "IN_QUEUE"
        cancel = plain.put(keyed.json()["cancel_url"], headers={"Authorization": f"Key {FAL_KEY}"})
        assert cancel.status_code == 202


def test_the_certificate_names_127_0_0_1_and_localhost(sandbox: RunningSandbox) -> None:
    with httpx.Client(verify=sandbox.trusting_ca(), timeout=30) as plain:
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{sandbox.settings.fal_port}/.well-known/jwks.json"
            assert plain.get(url).json()["keys"][0]["crv"] == "Ed25519"
