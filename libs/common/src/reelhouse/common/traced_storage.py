"""An ObjectStore whose writes show up in traces: ``storage.put`` and ``storage.delete`` spans.

Only wrapped around a store when tracing is on; reads pass straight through (the media
service streams them, and a span per range would say little).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from opentelemetry.trace import SpanKind, Tracer

from reelhouse.common.storage import ObjectInfo, ObjectStore


class TracedObjectStore:
    def __init__(self, store: ObjectStore, tracer: Tracer, *, backend: str) -> None:
        self._store = store
        self._tracer = tracer
        self._backend = backend

    async def ensure_ready(self) -> None:
        await self._store.ensure_ready()

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        with self._tracer.start_as_current_span(
            "storage.put",
            kind=SpanKind.CLIENT,
            attributes={
                "reelhouse.storage.backend": self._backend,
                "reelhouse.storage.key": key,
                "reelhouse.storage.content_type": content_type,
            },
        ) as span:
            info = await self._store.put_file(key, path, content_type=content_type)
            span.set_attribute("reelhouse.storage.bytes", info.size)
            return info

    async def stat(self, key: str) -> ObjectInfo:
        return await self._store.stat(key)

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self._store.read_range(key, start, end)

    async def delete(self, key: str) -> None:
        with self._tracer.start_as_current_span(
            "storage.delete",
            kind=SpanKind.CLIENT,
            attributes={"reelhouse.storage.backend": self._backend, "reelhouse.storage.key": key},
        ):
            await self._store.delete(key)
