"""A restart on the same data_dir forgets nothing: predictions in flight finish afterwards,
and output URLs issued before it keep serving their files."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from replicate.client import Client
from replicate.prediction import Prediction

from reelhouse.sandbox.persistence import PREDICTIONS_DIR
from reelhouse.sandbox.settings import Settings
from tests.integration.sandbox.conftest import TOKEN, RunningSandbox, sandbox_settings, serve

pytestmark = pytest.mark.timeout(90)

SMALL: dict[str, Any] = {"prompt": "a lighthouse", "width": 160, "height": 90, "duration": 1}
# long enough that the server is stopped while the prediction is still in the stage under test
IN_FLIGHT_DELAY = 3.0
TERMINAL = {"succeeded", "failed", "canceled"}


@contextlib.contextmanager
def official_client(url: str) -> Iterator[Client]:
    """The official client, unmodified; a new one per server, as a restarted caller would."""
    client = Client(api_token=TOKEN, base_url=url)
    try:
        yield client
    finally:
        # the client has no close(); its lazily built httpx client would otherwise leak a socket
        client._client.close()


def poll(client: Client, prediction_id: str, *, until: set[str]) -> Prediction:
    """Poll (bounded) until the prediction's status is in ``until``."""
    for _ in range(1500):
        prediction = client.predictions.get(prediction_id)
        if prediction.status in until:
            return prediction
        time.sleep(0.02)
    raise AssertionError(f"{prediction_id} never reached {until}; last {prediction.status}")


def video_codec(url: str, tmp_path: Path) -> str:
    """Download ``url`` and decode every frame; the video codec's name."""
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    target = tmp_path / "downloaded.mp4"
    target.write_bytes(response.content)
    with av.open(str(target)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        assert frames > 0
        return container.streams.video[0].codec_context.name


def saved_status(settings: Settings, prediction_id: str) -> str:
    record = settings.data_dir / PREDICTIONS_DIR / f"{prediction_id}.json"
    status: str = json.loads(record.read_text())["status"]
    return status


@pytest.mark.parametrize("stop_while", ["starting", "processing"])
def test_predictions_survive_a_restart_on_the_same_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_while: str
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings = sandbox_settings(tmp_path / "sandbox")
    url = settings.public_base_url

    with serve(settings), official_client(url) as client:
        finished = client.models.predictions.create(model="sandbox/text-to-video", input=SMALL)
        finished = poll(client, finished.id, until=TERMINAL)
        assert finished.status == "succeeded"
        assert finished.output is not None
        issued_before = finished.output[0]
        in_flight = client.models.predictions.create(
            model="sandbox/text-to-video", input={**SMALL, "sandbox_delay": IN_FLIGHT_DELAY}
        )
        assert poll(client, in_flight.id, until={stop_while, *TERMINAL}).status == stop_while
    # stopped mid-flight: the saved record says so
    assert saved_status(settings, in_flight.id) == stop_while

    with serve(settings), official_client(url) as client:
        resumed = poll(client, in_flight.id, until=TERMINAL)
        assert resumed.id == in_flight.id
        assert resumed.status == "succeeded", resumed.error
        assert resumed.output is not None
        assert resumed.output[0].startswith(f"{url}/files/{in_flight.id}/output.mp4?")
        assert video_codec(resumed.output[0], tmp_path) == "h264"

        earlier = client.predictions.get(finished.id)
        assert earlier.status == "succeeded"
        assert earlier.output == [issued_before]
        assert video_codec(issued_before, tmp_path) == "h264"

        listed = client.predictions.list()
        assert [p.id for p in listed.results] == [in_flight.id, finished.id]


def test_fal_requests_and_keys_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings = sandbox_settings(tmp_path / "sandbox")
    running = RunningSandbox(url=settings.public_base_url, settings=settings)
    app = "sandbox-fal/text-to-video"
    with serve(settings):
        (submitted,) = running.fal(
            {"op": "submit", "app": app, "arguments": {**SMALL, "sandbox_delay": IN_FLIGHT_DELAY}}
        )
        request_id = submitted["ok"]["request_id"]
        kept = {
            name: (settings.data_dir / name).read_bytes()
            for name in ("ca.pem", "server-key.pem", "replicate-webhook.secret")
        }
    assert saved_status(settings, request_id) == "starting"
    assert oct((settings.data_dir / "server-key.pem").stat().st_mode & 0o777) == "0o600"

    with serve(settings):
        for _ in range(60):  # bounded; each check is one client process
            (status,) = running.fal({"op": "status_by_id", "app": app, "request_id": request_id})
            if status["ok"]["status"] == "Completed":
                break
        assert status["ok"]["status"] == "Completed"
        assert status["ok"]["error"] is None
        (result,) = running.fal({"op": "result_by_id", "app": app, "request_id": request_id})
        video = result["ok"]["video"]
        assert video["url"].startswith(f"{settings.public_base_url}/files/{request_id}/")
        assert video_codec(video["url"], tmp_path) == "h264"
        assert running.control(request_id)["protocol"] == "fal"
    # the CA a client trusts, the TLS key and the webhook secret were made once
    for name, before in kept.items():
        assert (settings.data_dir / name).read_bytes() == before
