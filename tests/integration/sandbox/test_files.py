"""Output files are served like a CDN would: types, lengths, ranges and signed URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from replicate.client import Client

from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(60)

SMALL: dict[str, Any] = {"prompt": "ranges", "width": 160, "height": 90, "duration": 1}


@pytest.fixture(scope="module")
def video_url(sandbox: RunningSandbox) -> str:
    client = Client(api_token="r8_sandbox", base_url=sandbox.url)
    try:
        output = client.run("sandbox/text-to-video", input=SMALL, use_file_output=False)
    finally:
        client._client.close()
    assert isinstance(output, list)
    url: str = output[0]
    return url


def test_whole_file_has_type_length_and_accepts_ranges(video_url: str) -> None:
    response = httpx.get(video_url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content[4:8] == b"ftyp"


def test_head_matches_get_without_a_body(video_url: str) -> None:
    size = len(httpx.get(video_url, timeout=30).content)
    head = httpx.head(video_url, timeout=30)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == size
    assert head.content == b""


def test_single_range_is_206_with_the_exact_bytes(video_url: str) -> None:
    whole = httpx.get(video_url, timeout=30).content
    part = httpx.get(video_url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    tail = httpx.get(video_url, headers={"Range": "bytes=-50"}, timeout=30)
    assert tail.content == whole[-50:]


def test_range_past_the_end_is_416(video_url: str) -> None:
    size = len(httpx.get(video_url, timeout=30).content)
    response = httpx.get(video_url, headers={"Range": f"bytes={size}-"}, timeout=30)
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_tampered_or_unsigned_url_is_403_xml(video_url: str) -> None:
    parts = urlsplit(video_url)
    unsigned = f"{parts.scheme}://{parts.netloc}{parts.path}"
    tampered = video_url.replace("sig=", "sig=AAAA")
    for url in (unsigned, tampered):
        response = httpx.get(url, timeout=30)
        assert response.status_code == 403
        assert b"<Error><Code>AccessDenied</Code>" in response.content
