"""Image-to-video through the official clients: the sandbox fetches the input image itself
(from a data: URI or a local HTTP server), and an input it cannot fetch or read fails the
prediction the way each provider reports it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from replicate.client import Client

from tests.integration.sandbox.conftest import RunningSandbox, wait_finished
from tests.support.ports import free_port
from tests.support.still_images import (
    COLOUR_TOLERANCE,
    colour_errors,
    data_uri,
    quadrant_png,
)

pytestmark = pytest.mark.timeout(120)

MODEL = "sandbox/image-to-video"
FAL_MODEL = "sandbox-fal/image-to-video"
PNG = quadrant_png(320, 180)
SMALL: dict[str, Any] = {"prompt": "a harbour at dawn", "duration": 1, "fps": 12}
S3_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)
# path → (status, content type, body, extra headers)
ROUTES: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "/still.png": (200, "image/png", PNG, {}),
    "/moved.png": (302, "text/plain", b"", {"Location": "/still.png"}),
    "/expired.png": (403, "application/xml", S3_DENIED, {}),
    "/missing.png": (404, "text/plain", b"not found", {}),
    "/gone.png": (410, "text/plain", b"gone", {}),
    "/page.png": (200, "text/html", b"<html><body>a login page</body></html>", {}),
}


class StillHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, content_type, body, headers = ROUTES.get(
            self.path.split("?")[0], (404, "text/plain", b"no such file", {})
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """A tiny HTTP server for input images; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), StillHandler)
    thread = threading.Thread(target=server.serve_forever, name="still-images", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def first_frame_errors(url: str, tmp_path: Path) -> tuple[list[float], tuple[int, int]]:
    """The quadrant colour errors of the clip's first frame, and the clip's size."""
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    target = tmp_path / "clip.mp4"
    target.write_bytes(response.content)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        size = (stream.codec_context.width, stream.codec_context.height)
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return colour_errors(first), size


@pytest.mark.parametrize("source", ["data", "http", "redirect"])
def test_the_image_becomes_a_clip_whose_first_frame_shows_it(
    client: Client, images: str, source: str, tmp_path: Path
) -> None:
    image = {
        "data": data_uri(PNG),
        "http": f"{images}/still.png?signature=abc",
        "redirect": f"{images}/moved.png",
    }[source]
    created = client.models.predictions.create(model=MODEL, input={**SMALL, "image": image})

    done = wait_finished(client, created.id)

    assert done.status == "succeeded", done.error
    assert done.logs is not None
    assert "Downloading the input image" in done.logs
    assert done.output is not None
    errors, size = first_frame_errors(done.output[0], tmp_path)
    assert max(errors) < COLOUR_TOLERANCE, errors
    assert size == (640, 360)  # the image's 16:9, 640 on the long side


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/expired.png", "HTTP 403 Forbidden"),
        ("/missing.png", "HTTP 404 Not Found"),
        ("/gone.png", "HTTP 410 Gone"),
    ],
)
def test_an_image_url_that_answers_an_error_fails_the_prediction(
    client: Client, images: str, path: str, reason: str
) -> None:
    url = f"{images}{path}?X-Amz-Signature=secret"
    created = client.models.predictions.create(model=MODEL, input={**SMALL, "image": url})

    done = wait_finished(client, created.id)

    assert done.status == "failed"
    assert done.error == f"Input 'image': Failed to download {images}{path}: {reason}."
    assert "secret" not in (done.logs or "")
    assert done.output is None


def test_an_unreachable_image_host_fails_the_prediction(client: Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/still.png"
    created = client.models.predictions.create(model=MODEL, input={**SMALL, "image": url})

    done = wait_finished(client, created.id)

    assert done.status == "failed"
    assert done.error is not None
    assert done.error.startswith("Input 'image': Failed to download")
    assert "ConnectError" in done.error


@pytest.mark.parametrize("source", ["html", "data"])
def test_bytes_that_are_not_an_image_fail_the_prediction(
    client: Client, images: str, source: str
) -> None:
    image = f"{images}/page.png" if source == "html" else data_uri(PNG[:100])
    created = client.models.predictions.create(model=MODEL, input={**SMALL, "image": image})

    done = wait_finished(client, created.id)

    assert done.status == "failed"
    assert done.error == (
        "Input 'image': Failed to load the image: the file is not a decodable image."
    )


def test_an_image_that_is_not_a_url_is_refused_at_create(http: httpx.Client) -> None:
    response = http.post(
        f"/v1/models/{MODEL}/predictions", json={"input": {**SMALL, "image": "file:///etc/passwd"}}
    )

    assert response.status_code == 422
    [invalid] = response.json()["invalid_fields"]
    assert invalid["field"] == "input.image"


def test_fal_client_gets_a_clip_or_the_input_error(
    sandbox: RunningSandbox, images: str, tmp_path: Path
) -> None:
    ok_run, failed_submit, failed_poll, failed_result = sandbox.fal(
        {
            "op": "subscribe",
            "app": FAL_MODEL,
            "arguments": {**SMALL, "image": f"{images}/still.png"},
        },
        {"op": "submit", "app": FAL_MODEL, "arguments": {**SMALL, "image": f"{images}/gone.png"}},
        {"op": "poll", "until": ["Completed"], "with_logs": False, "max_polls": 600},
        {"op": "result"},
    )

    video = ok_run["ok"]["result"]["video"]
    errors, _ = first_frame_errors(video["url"], tmp_path)
    assert max(errors) < COLOUR_TOLERANCE, errors
    completed = failed_poll["ok"][-1]
    assert completed["status"] == "Completed"
    assert completed["error_type"] == "file_download_error"
    assert "HTTP 410 Gone" in completed["error"]
    error = failed_result
    assert error["error"] == "FalClientHTTPError"
    assert error["status_code"] == 422
    [detail] = error["body"]["detail"]
    assert detail["loc"] == ["body", "image"]
    assert detail["type"] == "file_download_error"
    assert detail["input"] == f"{images}/gone.png"
    control = sandbox.control(failed_submit["ok"]["request_id"])
    assert (control["status"], control["error_type"]) == ("failed", "file_download_error")
