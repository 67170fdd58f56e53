"""ObjectStore: the one door to object storage (S3 via ``minio``, or local disk).

Objects appear whole or not at all: the local store writes to a temporary file
and renames it into place; S3 commits an upload only when it completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any, Protocol

from reelhouse.common.settings import StorageSettings

CHUNK_SIZE = 256 * 1024
# local reads: one positioned read per chunk; a slow reader holds about one chunk
READ_CHUNK = CHUNK_SIZE
# what the file system raises for a key that names no object: missing, a directory of other
# keys (``outputs/job1``), or a path through an object (``outputs/job1/0.mp4/x``)
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


class ObjectNotFoundError(Exception):
    """No object under that key."""


class StorageUnavailableError(Exception):
    """The object store could not be reached or refused the operation."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str


class ObjectStore(Protocol):
    async def ensure_ready(self) -> None: ...

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo: ...

    async def stat(self, key: str) -> ObjectInfo: ...

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive; ``None`` is the last byte) in chunks."""
        ...

    async def delete(self, key: str) -> None: ...


def build_object_store(settings: StorageSettings) -> ObjectStore:
    if settings.backend == "s3":
        from reelhouse.common.s3store import S3ObjectStore

        return S3ObjectStore(settings.s3)
    return LocalObjectStore(settings.local_root)


def _safe_relative(key: str) -> Path:
    path = Path(key)
    if path.is_absolute() or ".." in path.parts or not key or key.endswith("/"):
        raise ValueError(f"invalid object key {key!r}")
    return path


def _open_and_read(path: Path, size: int, offset: int) -> tuple[int, bytes]:
    """Open ``path`` and read ``size`` bytes at ``offset``; the caller closes the descriptor."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return fd, os.pread(fd, size, offset)
    except BaseException:
        os.close(fd)
        raise


class LocalObjectStore:
    """Local-disk objects for the embedded mode; a JSON sidecar keeps type and ETag."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        data = self.root / "data" / _safe_relative(key)
        meta = self.root / "meta" / (str(_safe_relative(key)) + ".json")
        return data, meta

    async def ensure_ready(self) -> None:
        for sub in ("data", "meta", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        return await asyncio.to_thread(self._put_file, key, path, content_type)

    def _put_file(self, key: str, path: Path, content_type: str) -> ObjectInfo:
        data, meta = self._paths(key)
        tmp = self.root / "tmp" / uuid.uuid4().hex
        tmp.parent.mkdir(parents=True, exist_ok=True)
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        with path.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(CHUNK_SIZE):
                md5.update(chunk)
                size += len(chunk)
                dst.write(chunk)
        info = {"etag": md5.hexdigest(), "content_type": content_type, "size": size}
        data.parent.mkdir(parents=True, exist_ok=True)
        meta.parent.mkdir(parents=True, exist_ok=True)
        tmp_meta = tmp.with_suffix(".json")
        tmp_meta.write_text(json.dumps(info))
        os.replace(tmp_meta, meta)
        os.replace(tmp, data)
        return self._stat(key)

    async def stat(self, key: str) -> ObjectInfo:
        return await asyncio.to_thread(self._stat, key)

    def _stat(self, key: str) -> ObjectInfo:
        data, meta = self._paths(key)
        try:
            st = data.stat()
            info: dict[str, Any] = json.loads(meta.read_text())
        except _MISSING as exc:
            raise ObjectNotFoundError(key) from exc
        if not S_ISREG(st.st_mode):
            # a "directory" holding other keys (``outputs/job1``) is not an object itself
            raise ObjectNotFoundError(key)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=str(info["etag"]),
            last_modified=datetime.fromtimestamp(int(st.st_mtime), UTC),
            content_type=str(info["content_type"]),
        )

    def data_path(self, key: str) -> Path:
        """The file holding ``key``'s bytes (servers that send files by path use it)."""
        return self._paths(key)[0]

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        data, _ = self._paths(key)
        remaining = None if end is None else max(0, end - start + 1)
        want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
        try:
            # the open and the first read share one thread hop (a short range needs no other)
            fd, chunk = await asyncio.to_thread(_open_and_read, data, want, start)
        except _MISSING as exc:
            raise ObjectNotFoundError(key) from exc
        try:
            offset = start
            while chunk:
                offset += len(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
                if remaining is not None and remaining <= 0:
                    break
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                # a positioned read needs no seek
                chunk = await asyncio.to_thread(os.pread, fd, want, offset)
        finally:
            os.close(fd)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _delete(self, key: str) -> None:
        data, meta = self._paths(key)
        for path in (data, meta):
            with contextlib.suppress(*_MISSING):
                path.unlink()
