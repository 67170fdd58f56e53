"""A 100 MiB + object over real HTTP, on local disk and on S3: the ends, the middle, all of it."""

from __future__ import annotations

import hashlib
import random

import pytest

from tests.integration.media.byteranges import parse_byteranges
from tests.integration.media.media_server import MediaServer

MIB = 1024 * 1024
# over 100 MiB and not a multiple of any chunk or part size
SIZE = 100 * MIB + 123_457
KEY = "outputs/job-large/0.mp4"


@pytest.fixture(scope="module")
def large_data() -> bytes:
    return random.Random(100).randbytes(SIZE)


@pytest.mark.timeout(300)
async def test_ranges_of_a_large_object_are_byte_exact(
    media: MediaServer, large_data: bytes
) -> None:
    await media.put(KEY, large_data, content_type="video/mp4")
    url = media.url(KEY)

    head = await media.client.head(url)
    assert head.headers["content-length"] == str(SIZE)

    last_mib = await media.client.get(url, headers={"range": f"bytes=-{MIB}"})
    assert last_mib.status_code == 206
    assert last_mib.headers["content-range"] == f"bytes {SIZE - MIB}-{SIZE - 1}/{SIZE}"
    assert last_mib.content == large_data[-MIB:]

    middle = SIZE // 2 - 333
    in_the_middle = await media.client.get(
        url, headers={"range": f"bytes={middle}-{middle + 3 * MIB}"}
    )
    assert in_the_middle.status_code == 206
    assert in_the_middle.content == large_data[middle : middle + 3 * MIB + 1]

    last_byte = await media.client.get(url, headers={"range": f"bytes={SIZE - 1}-{SIZE + 100}"})
    assert last_byte.content == large_data[-1:]

    spread = await media.client.get(
        url, headers={"range": f"bytes=0-99,{middle}-{middle + MIB},-100"}
    )
    parts = parse_byteranges(spread)
    assert [(p.start, p.end) for p in parts] == [
        (0, 99),
        (middle, middle + MIB),
        (SIZE - 100, SIZE - 1),
    ]
    for part in parts:
        assert part.payload == large_data[part.start : part.end + 1]


@pytest.mark.timeout(300)
async def test_a_large_object_streams_whole_byte_for_byte(
    media: MediaServer, large_data: bytes
) -> None:
    await media.put(KEY, large_data, content_type="video/mp4")

    digest = hashlib.sha256()
    received = 0
    async with media.client.stream("GET", media.url(KEY)) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            received += len(chunk)

    assert received == SIZE
    assert digest.hexdigest() == hashlib.sha256(large_data).hexdigest()
