"""Each ``sandbox_fault`` misbehaves the way real providers do, seen through real clients."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from replicate.client import Client
from replicate.exceptions import ModelError
from replicate.prediction import Prediction

pytestmark = pytest.mark.timeout(60)

SMALL: dict[str, Any] = {"prompt": "fault", "width": 160, "height": 90, "duration": 1}


def finished(client: Client, **extra: Any) -> Prediction:
    prediction = client.models.predictions.create(
        model="sandbox/text-to-video", input={**SMALL, **extra}
    )
    prediction.wait()
    return prediction


def stream_into(url: str, received: bytearray) -> None:
    with httpx.stream("GET", url, timeout=30) as response:
        for chunk in response.iter_bytes():
            received.extend(chunk)


def test_html_instead_of_media_serves_an_html_page_labelled_mp4(client: Client) -> None:
    prediction = finished(client, sandbox_fault="html_instead_of_media")
    assert prediction.status == "succeeded"
    assert prediction.output is not None
    response = httpx.get(prediction.output[0], timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content.lstrip().lower().startswith(b"<!doctype html")
    assert b"ftyp" not in response.content[:16]
    assert int(response.headers["content-length"]) == len(response.content)


def test_model_error_ends_failed_with_an_error(client: Client) -> None:
    prediction = finished(client, sandbox_fault="model_error")
    assert prediction.status == "failed"
    assert prediction.error
    assert prediction.output is None


def test_model_error_makes_run_raise_model_error(client: Client) -> None:
    with pytest.raises(ModelError) as raised:
        client.run(
            "sandbox/text-to-video",
            input={**SMALL, "sandbox_fault": "model_error"},
            use_file_output=False,
        )
    assert raised.value.prediction.status == "failed"


def test_truncated_declares_full_length_then_drops_the_connection(
    client: Client,
) -> None:
    prediction = finished(client, sandbox_fault="truncated")
    assert prediction.output is not None
    url = prediction.output[0]
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200
    declared = int(head.headers["content-length"])
    assert declared > 0
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, timeout=30)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        stream_into(url, received)
    assert 0 < len(received) < declared


def test_expire_url_makes_the_url_403_soon_after_completion(client: Client) -> None:
    prediction = finished(client, sandbox_fault="expire_url", sandbox_expire_after=1)
    assert prediction.output is not None
    assert prediction.completed_at is not None
    url = prediction.output[0]
    completed = datetime.fromisoformat(prediction.completed_at.replace("Z", "+00:00"))
    exp = int(parse_qs(urlsplit(url).query)["exp"][0])
    assert exp == math.ceil(completed.timestamp() + 1)
    for _ in range(200):  # bounded: the URL must die within seconds
        response = httpx.get(url, timeout=30)
        if response.status_code == 403:
            break
        time.sleep(0.05)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/xml")
    assert b"<Code>AccessDenied</Code>" in response.content
    assert b"expired" in response.content


def test_never_starts_stays_starting_until_canceled(client: Client, http: httpx.Client) -> None:
    held = http.post(
        "/v1/models/sandbox/text-to-video/predictions",
        json={"input": {**SMALL, "sandbox_delay": 0.1, "sandbox_fault": "never_starts"}},
        headers={"Prefer": "wait=1"},
    ).json()
    # the hold (1 s) outlived the requested delay (0.1 s), yet it has not started
    current = client.predictions.get(held["id"])
    assert current.status == "starting"
    assert current.started_at is None
    assert client.predictions.cancel(held["id"]).status == "canceled"


def test_never_finishes_stays_processing_until_canceled(client: Client, http: httpx.Client) -> None:
    held = http.post(
        "/v1/models/sandbox/text-to-video/predictions",
        json={"input": {**SMALL, "sandbox_delay": 0.1, "sandbox_fault": "never_finishes"}},
        headers={"Prefer": "wait=1"},
    ).json()
    assert held["status"] == "starting"  # what the real API reports when a hold expires
    current = client.predictions.get(held["id"])
    assert current.status == "processing"
    assert current.output is None
    assert client.predictions.cancel(held["id"]).status == "canceled"
