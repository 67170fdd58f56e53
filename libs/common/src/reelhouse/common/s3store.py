"""S3-compatible ObjectStore through the ``minio`` client (MinIO, SeaweedFS, AWS S3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from reelhouse.common.settings import S3Settings
from reelhouse.common.storage import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectNotFoundError,
    StorageUnavailableError,
)

_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


def _http_pool() -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=60.0),
        maxsize=32,
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class S3ObjectStore:
    def __init__(self, settings: S3Settings) -> None:
        self.bucket = settings.bucket
        self.part_size = settings.part_size_mb * 1024 * 1024
        self.parallel_uploads = settings.parallel_uploads
        self.client = Minio(
            settings.endpoint,
            access_key=settings.access_key.get_secret_value(),
            secret_key=settings.secret_key.get_secret_value(),
            secure=settings.secure,
            region=settings.region,
            http_client=_http_pool(),
        )

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise ObjectNotFoundError(str(args[1] if len(args) > 1 else "")) from exc
            raise StorageUnavailableError(f"S3 {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailableError(f"S3 unreachable: {exc}") from exc

    async def ensure_ready(self) -> None:
        if not await self._call(self.client.bucket_exists, self.bucket):
            try:
                await self._call(self.client.make_bucket, self.bucket)
            except StorageUnavailableError:
                if not await self._call(self.client.bucket_exists, self.bucket):
                    raise

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        await self._call(
            self.client.fput_object,
            self.bucket,
            key,
            str(path),
            content_type=content_type,
            part_size=self.part_size,
            num_parallel_uploads=self.parallel_uploads,
        )
        return await self.stat(key)

    async def stat(self, key: str) -> ObjectInfo:
        st = await self._call(self.client.stat_object, self.bucket, key)
        return ObjectInfo(
            key=key,
            size=int(st.size or 0),
            etag=str(st.etag or "").strip('"'),
            last_modified=(st.last_modified or datetime.now(UTC)).replace(microsecond=0),
            content_type=st.content_type or "application/octet-stream",
        )

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        length = 0 if end is None else end - start + 1
        response = await self._call(
            self.client.get_object, self.bucket, key, offset=start, length=length
        )
        try:
            stream = response.stream(CHUNK_SIZE)
            while True:
                try:
                    chunk = await asyncio.to_thread(next, stream, b"")
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    # the connection broke mid-body: callers see the same error as for a failed start
                    raise StorageUnavailableError(f"S3 read of {key!r} broke off: {exc}") from exc
                if not chunk:
                    break
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await self._call(self.client.remove_object, self.bucket, key)
