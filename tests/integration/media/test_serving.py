"""Serving stored objects over real HTTP: ranges, representation headers, HEAD, conditionals.

Every test runs against local-disk storage and against S3 (SeaweedFS or MinIO).
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.integration.media.media_server import URL_TTL, MediaServer

pytestmark = pytest.mark.usefixtures("blob")

KEY = "outputs/job-1/0.mp4"


async def get(media: MediaServer, *, key: str = KEY, **headers: str) -> httpx.Response:
    return await media.client.get(media.url(key), headers=headers)


def max_age(response: httpx.Response) -> int:
    match = re.fullmatch(r"private, max-age=(\d+)", response.headers["cache-control"])
    assert match, response.headers["cache-control"]
    return int(match.group(1))


async def test_whole_object_is_served_with_representation_headers(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media)
    info = await media.store.stat(KEY)

    assert response.status_code == 200
    assert response.content == blob_data
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(len(blob_data))
    assert response.headers["etag"] == f'"{info.etag}"'
    assert parsedate_to_datetime(response.headers["last-modified"]) == info.last_modified
    assert "content-range" not in response.headers


async def test_cache_lifetime_is_the_signed_urls_remaining_lifetime(media: MediaServer) -> None:
    response = await get(media)
    assert 0 < max_age(response) <= URL_TTL


async def test_single_range_returns_exactly_those_bytes(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range="bytes=1000-1999")

    assert response.status_code == 206
    assert response.content == blob_data[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(blob_data)}"
    assert response.headers["content-length"] == "1000"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"


async def test_range_across_storage_chunks_is_byte_exact(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range="bytes=262000-600000")
    assert response.status_code == 206
    assert response.content == blob_data[262000:600001]


async def test_open_ended_range_runs_to_the_end(media: MediaServer, blob_data: bytes) -> None:
    start = len(blob_data) - 70_000
    response = await get(media, range=f"bytes={start}-")

    assert response.status_code == 206
    assert response.content == blob_data[start:]
    assert (
        response.headers["content-range"] == f"bytes {start}-{len(blob_data) - 1}/{len(blob_data)}"
    )


async def test_suffix_range_returns_the_last_bytes(media: MediaServer, blob_data: bytes) -> None:
    response = await get(media, range="bytes=-500")

    assert response.status_code == 206
    assert response.content == blob_data[-500:]
    size = len(blob_data)
    assert response.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"


async def test_range_end_past_the_end_is_clamped(media: MediaServer, blob_data: bytes) -> None:
    size = len(blob_data)
    response = await get(media, range=f"bytes={size - 10}-{size + 10_000}")

    assert response.status_code == 206
    assert response.content == blob_data[-10:]
    assert response.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"


async def test_range_starting_past_the_end_is_416_with_the_size(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, range=f"bytes={len(blob_data)}-")

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(blob_data)}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=500-100", "items=0-10", "bytes="])
async def test_invalid_range_is_ignored_and_the_whole_object_served(
    media: MediaServer, blob_data: bytes, header: str
) -> None:
    response = await get(media, range=header)

    assert response.status_code == 200
    assert response.content == blob_data


@pytest.mark.parametrize("header", [None, "bytes=1000-1999", "bytes=-500", "bytes=999999999-"])
async def test_head_sends_the_same_headers_as_get_without_a_body(
    media: MediaServer, header: str | None
) -> None:
    headers = {} if header is None else {"range": header}
    got = await media.client.get(media.url(KEY), headers=headers)
    head = await media.client.head(media.url(KEY), headers=headers)

    assert head.status_code == got.status_code
    assert head.content == b""

    def comparable(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in {"date", "cache-control"}}

    assert comparable(head) == comparable(got)
    assert 0 <= max_age(head) <= URL_TTL


async def test_if_none_match_with_the_current_etag_is_304(media: MediaServer) -> None:
    etag = (await get(media)).headers["etag"]
    response = await get(media, **{"if-none-match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["accept-ranges"] == "bytes"
    assert "private" in response.headers["cache-control"]


async def test_if_none_match_with_another_etag_serves_the_object(
    media: MediaServer, blob_data: bytes
) -> None:
    response = await get(media, **{"if-none-match": '"not-the-etag"'})
    assert response.status_code == 200
    assert response.content == blob_data


async def test_range_is_ignored_when_if_range_no_longer_matches(
    media: MediaServer, blob_data: bytes
) -> None:
    stale = await get(media, range="bytes=0-9", **{"if-range": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == blob_data

    etag = (await get(media, range="bytes=0-0")).headers["etag"]
    current = await get(media, range="bytes=0-9", **{"if-range": etag})
    assert current.status_code == 206
    assert current.content == blob_data[:10]


async def test_zero_length_object_is_served_empty_and_refuses_ranges(media: MediaServer) -> None:
    await media.put("outputs/job-2/empty.bin", b"", content_type="application/octet-stream")

    whole = await get(media, key="outputs/job-2/empty.bin")
    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == "0"

    ranged = await get(media, key="outputs/job-2/empty.bin", range="bytes=0-")
    assert ranged.status_code == 416
    assert ranged.headers["content-range"] == "bytes */0"


async def test_keys_that_need_percent_encoding_are_served(media: MediaServer) -> None:
    key = "uploads/dev/clip with spaces & ünïcode.webm"
    await media.put(key, b"0123456789", content_type="video/webm")

    response = await get(media, key=key, range="bytes=2-4")
    assert response.status_code == 206
    assert response.content == b"234"
    assert response.headers["content-type"] == "video/webm"


async def test_probes_answer_once_the_store_is_ready(media: MediaServer) -> None:
    live = await media.client.get(f"{media.base_url}/livez")
    ready = await media.client.get(f"{media.base_url}/readyz")
    alias = await media.client.get(f"{media.base_url}/healthz")

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"storage": "ok"}}
    assert alias.json() == ready.json()
