"""A real ObjectStore with what was asked of it recorded: the keys written and read, the ranges
read and the bytes they gave. It implements the protocol by delegating, so the code under test
runs against real storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from reelhouse.common.storage import ObjectInfo, ObjectStore


class RecordingStore:
    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        # every put_file's key, in order
        self.puts: list[str] = []
        # every read_range: its key, and its (start, end)
        self.keys_read: list[str] = []
        self.reads: list[tuple[int, int | None]] = []
        self.bytes_read = 0

    async def ensure_ready(self) -> None:
        await self.inner.ensure_ready()

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        self.puts.append(key)
        return await self.inner.put_file(key, path, content_type=content_type)

    async def stat(self, key: str) -> ObjectInfo:
        return await self.inner.stat(key)

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        self.keys_read.append(key)
        self.reads.append((start, end))
        chunks = self.inner.read_range(key, start, end)
        try:
            async for chunk in chunks:
                self.bytes_read += len(chunk)
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)
