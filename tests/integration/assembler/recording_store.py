"""An ObjectStore that delegates to a real one and records what was asked of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from reelhouse.common.storage import ObjectInfo, ObjectStore


@dataclass
class RecordingStore:
    inner: ObjectStore
    puts: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)

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
        self.reads.append(key)
        async for chunk in self.inner.read_range(key, start, end):
            yield chunk

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)
