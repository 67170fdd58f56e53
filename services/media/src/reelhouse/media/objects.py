"""What the routes read from: the object store, with object metadata remembered briefly.

A browser playing a video sends many range requests for one object; asking the
store for its size and ETag every time would cost a round trip before each first
byte. ``MediaObjects`` keeps a ``stat`` result for ``metadata_ttl`` seconds, but
only over a store that can read *a given version* (``VersionedReads``: the S3
reader sends ``If-Match``), so a replaced object is noticed on the next read: the
entry is dropped and the request planned again from a fresh ``stat``. Over other
stores (local disk, test fakes) every request stats.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from reelhouse.common.storage import ObjectInfo, ObjectStore

MAX_ENTRIES = 10_000


@runtime_checkable
class VersionedReads(Protocol):
    def read_range_if(
        self, key: str, start: int, end: int | None, *, etag: str | None
    ) -> AsyncIterator[bytes]: ...


@runtime_checkable
class FileBacked(Protocol):
    """A store whose objects are files this process can name (local disk)."""

    def data_path(self, key: str) -> Path: ...


class MediaObjects:
    def __init__(self, store: ObjectStore, *, metadata_ttl: float) -> None:
        self.store = store
        self.versioned = isinstance(store, VersionedReads)
        self.metadata_ttl = metadata_ttl if self.versioned else 0.0
        self._entries: OrderedDict[str, tuple[float, ObjectInfo]] = OrderedDict()

    async def stat(self, key: str) -> ObjectInfo:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(key)
            return entry[1]
        info = await self.store.stat(key)
        if self.metadata_ttl > 0:
            self._entries[key] = (now + self.metadata_ttl, info)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return info

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def file_path(self, info: ObjectInfo) -> Path | None:
        """The file holding the object's bytes, when the store keeps it on this machine."""
        if isinstance(self.store, FileBacked):
            return self.store.data_path(info.key)
        return None

    def read(self, info: ObjectInfo, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start..end`` of the version ``info`` describes (when the store can tell)."""
        if isinstance(self.store, VersionedReads):
            return self.store.read_range_if(info.key, start, end, etag=info.etag)
        return self.store.read_range(info.key, start, end)
