"""The file-server faults the downloader must survive or refuse, seen over plain HTTP."""

from __future__ import annotations

import struct
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from replicate.client import Client

from reelhouse.sandbox.faults import DISALLOWED_REDIRECT_HOST, OVERSIZED_BYTES
from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(60)

SMALL: dict[str, Any] = {"prompt": "custody", "width": 160, "height": 90, "duration": 1}


def output_url(client: Client, **extra: Any) -> str:
    prediction = client.models.predictions.create(
        model="sandbox/text-to-video", input={**SMALL, **extra}
    )
    prediction.wait()
    assert prediction.status == "succeeded", prediction.error
    assert prediction.output is not None
    url: str = prediction.output[0]
    return url


def top_level_boxes(data: bytes) -> list[str]:
    boxes: list[str] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def received(url: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
    """The response and every body byte that arrived before the server stopped."""
    body = bytearray()
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        try:
            for chunk in response.iter_bytes():
                body.extend(chunk)
        except httpx.RemoteProtocolError:
            pass  # the connection was dropped part-way, as the fault intends
    return response, bytes(body)


def received_until_silent(url: str, *, seconds: float) -> tuple[httpx.Response, bytes, bool]:
    """The response, the body bytes that came, and whether it fell silent for ``seconds``."""
    body = bytearray()
    with httpx.stream("GET", url, timeout=httpx.Timeout(30, read=seconds)) as response:
        try:
            for chunk in response.iter_bytes():
                body.extend(chunk)
        except httpx.ReadTimeout:
            return response, bytes(body), True
    return response, bytes(body), False


def test_expired_url_is_dead_as_soon_as_the_prediction_completes(client: Client) -> None:
    response = httpx.get(output_url(client, sandbox_fault="expired_url"), timeout=30)
    assert response.status_code == 403
    assert b"Request has expired" in response.content


def test_cut_connection_cuts_whole_file_requests_and_serves_the_rest_by_range(
    client: Client,
) -> None:
    url = output_url(client, sandbox_fault="cut_connection")
    first, head = received(url)
    size = int(first.headers["content-length"])
    assert 0 < len(head) < size

    rest = httpx.get(
        url, headers={"Range": f"bytes={len(head)}-", "If-Range": first.headers["etag"]}
    )
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {len(head)}-{size - 1}/{size}"
    whole = head + rest.content
    assert len(whole) == size
    assert top_level_boxes(whole)[:2] == ["ftyp", "moov"]


def test_stall_body_stalls_the_first_get_half_way_and_serves_every_later_request(
    client: Client, sandbox: RunningSandbox
) -> None:
    url = output_url(client, sandbox_fault="stall_body")
    first, head, fell_silent = received_until_silent(url, seconds=1.0)
    size = int(first.headers["content-length"])
    assert fell_silent
    assert 0 < len(head) < size  # closing the stream ended the stall (the server stops at exit)

    rest = httpx.get(
        url, headers={"Range": f"bytes={len(head)}-", "If-Range": first.headers["etag"]}
    )
    assert rest.status_code == 206
    whole = httpx.get(url, timeout=30).content
    assert head + rest.content == whole
    assert len(whole) == size
    prediction_id = urlsplit(url).path.split("/")[2]
    calls = sandbox.control(prediction_id)["calls"]
    assert (calls["files"], calls["stalled_files"]) == (3, 1)


def test_a_stale_if_range_gets_the_whole_file(client: Client) -> None:
    url = output_url(client)
    response = httpx.get(url, headers={"Range": "bytes=10-", "If-Range": '"not-the-etag"'})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)


def test_oversized_declares_a_huge_length_and_sends_only_the_file(client: Client) -> None:
    response, body = received(output_url(client, sandbox_fault="oversized"))
    assert int(response.headers["content-length"]) == OVERSIZED_BYTES
    assert body[4:8] == b"ftyp"
    assert len(body) < OVERSIZED_BYTES


def test_redirect_disallowed_points_under_the_invalid_domain(client: Client) -> None:
    url = output_url(client, sandbox_fault="redirect_disallowed")
    response = httpx.get(url, timeout=30, follow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.hostname == DISALLOWED_REDIRECT_HOST
    assert location.path == urlsplit(url).path


def test_moov_at_end_and_size_mb_shape_the_file(client: Client) -> None:
    data = httpx.get(output_url(client, sandbox_fault="moov_at_end", size_mb=2), timeout=30)
    boxes = top_level_boxes(data.content)
    assert boxes.index("mdat") < boxes.index("moov")
    assert boxes[-1] == "free"
    assert len(data.content) == 2_000_000
