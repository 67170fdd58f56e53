"""Streaming from storage: only the requested bytes are read, and an aborted download stops reading.

A synthetic store stands in for a large object so the test can see what the server pulled from
storage; it implements the real ``ObjectStore`` protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from reelhouse.common.settings import SigningSettings
from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import CHUNK_SIZE, ObjectInfo, ObjectNotFoundError
from reelhouse.media.settings import Settings
from tests.integration.media.media_server import serving

KEY = "outputs/job-big/0.mp4"
SIZE = 256 * 1024 * 1024
_PERIOD = 251
_PATTERN = bytes(range(_PERIOD)) * (CHUNK_SIZE // _PERIOD + 2)


def pattern(start: int, length: int) -> bytes:
    """The synthetic object's bytes: byte ``p`` is ``p % 251``."""
    offset = start % _PERIOD
    return _PATTERN[offset : offset + length]


class PatternStore:
    """One large synthetic object; counts the bytes read and the reads still open."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads: list[tuple[int, int | None]] = []
        self.bytes_read = 0
        self.open_reads = 0
        self.all_reads_closed = asyncio.Event()

    async def ensure_ready(self) -> None:
        return None

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        raise NotImplementedError("read-only")

    async def stat(self, key: str) -> ObjectInfo:
        if key != KEY:
            raise ObjectNotFoundError(key)
        modified = datetime(2025, 1, 1, tzinfo=UTC)
        return ObjectInfo(KEY, self.size, "pattern", modified, "video/mp4")

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        self.reads.append((start, end))
        self.open_reads += 1
        self.all_reads_closed.clear()
        try:
            last = self.size - 1 if end is None else end
            position = start
            while position <= last:
                length = min(CHUNK_SIZE, last - position + 1)
                await asyncio.sleep(0)
                self.bytes_read += length
                yield pattern(position, length)
                position += length
        finally:
            self.open_reads -= 1
            if not self.open_reads:
                self.all_reads_closed.set()

    async def delete(self, key: str) -> None:
        raise NotImplementedError("read-only")


SETTINGS = Settings(signing=SigningSettings(keys={"k1": SecretStr("stream-secret")}))
SIGNER = UrlSigner({"k1": b"stream-secret"}, active_key_id="k1")


async def test_a_range_reads_only_those_bytes_from_storage() -> None:
    store = PatternStore(SIZE)
    async with serving(SETTINGS, store=store) as base_url, httpx.AsyncClient() as client:
        url = SIGNER.signed_url(base_url, KEY, ttl_seconds=600)
        response = await client.get(url, headers={"range": "bytes=1000-1999"}, timeout=10)

    assert response.status_code == 206
    assert response.content == pattern(1000, 1000)
    assert store.reads == [(1000, 1999)]
    assert store.bytes_read == 1000


async def test_head_reads_nothing_from_storage() -> None:
    store = PatternStore(SIZE)
    async with serving(SETTINGS, store=store) as base_url, httpx.AsyncClient() as client:
        response = await client.head(SIGNER.signed_url(base_url, KEY, ttl_seconds=600), timeout=10)

    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)
    assert store.bytes_read == 0


async def test_an_aborted_download_stops_reading_from_storage() -> None:
    store = PatternStore(SIZE)
    async with serving(SETTINGS, store=store) as base_url:
        async with httpx.AsyncClient() as client:
            url = SIGNER.signed_url(base_url, KEY, ttl_seconds=600)
            async with client.stream("GET", url, timeout=10) as response:
                assert response.status_code == 200
                async for chunk in response.aiter_raw():
                    assert chunk == pattern(0, len(chunk))
                    break
        # the client has gone: the server must close its storage read soon, not drain 256 MiB
        await asyncio.wait_for(store.all_reads_closed.wait(), timeout=20)

    assert store.bytes_read < SIZE // 4
