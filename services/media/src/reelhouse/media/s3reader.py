"""Reading S3 objects on the event loop, with our own SigV4 signing (ADR 0004).

``S3Reader`` implements the ``ObjectStore`` protocol for what the media service
does per request: ``stat`` is a signed ``HEAD``, ``read_range`` a signed ``GET``
with the range passed through, streamed in the pieces the socket delivers
(``s3http``). No thread hop, no extra copy. ``read_range_if`` also names the ETag
the caller planned with and fails with ``ObjectChangedError`` when S3 now holds
another version, so headers chosen from cached metadata are never sent with
other bytes. Bucket creation, uploads and deletes (rare, not on the request
path) go through the shared minio-based store.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from reelhouse.common.s3store import S3ObjectStore
from reelhouse.common.settings import S3Settings
from reelhouse.common.storage import ObjectInfo, ObjectNotFoundError, StorageUnavailableError
from reelhouse.media.s3http import Connection, ConnectionPool, HttpConnectionError, ResponseHead
from reelhouse.media.sigv4 import DEFAULT_REGION, SigV4Signer, object_path

CONNECT_TIMEOUT = 5.0


class ObjectChangedError(Exception):
    """The object no longer has the ETag the response was planned with."""


def _info(key: str, head: ResponseHead) -> ObjectInfo:
    headers = head.headers
    try:
        last_modified = parsedate_to_datetime(headers["last-modified"])
    except (KeyError, TypeError, ValueError):
        last_modified = datetime.now(UTC)
    return ObjectInfo(
        key=key,
        size=int(headers.get("content-length", "0")),
        etag=headers.get("etag", "").strip('"'),
        last_modified=last_modified.astimezone(UTC).replace(microsecond=0),
        content_type=headers.get("content-type") or "application/octet-stream",
    )


class S3Reader:
    """Async reads from one bucket; ``close()`` when the app stops."""

    def __init__(self, settings: S3Settings, *, max_connections: int = 256) -> None:
        self.settings = settings
        self.signer = SigV4Signer(
            access_key=settings.access_key.get_secret_value(),
            secret_key=settings.secret_key.get_secret_value(),
            region=settings.region or DEFAULT_REGION,
        )
        self.host = settings.endpoint
        name, _, port = settings.endpoint.rpartition(":")
        if not port.isdigit():
            name, port = settings.endpoint, "443" if settings.secure else "80"
        self.pool = ConnectionPool(
            name.strip("[]"),
            int(port),
            tls=ssl.create_default_context() if settings.secure else None,
            max_connections=max_connections,
            connect_timeout=CONNECT_TIMEOUT,
        )
        self._writer = S3ObjectStore(settings)

    def _request(self, method: str, key: str, extra: dict[str, str]) -> bytes:
        path = object_path(self.settings.bucket, key)
        headers = {"host": self.host, **self.signer.sign_headers(method, self.host, path), **extra}
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode("latin-1")

    async def _open(
        self, method: str, key: str, extra: dict[str, str]
    ) -> tuple[Connection, ResponseHead]:
        """Send the request; a kept-alive connection the server had closed is retried once."""
        request = self._request(method, key, extra)
        for fresh in (False, True):
            try:
                connection = await self.pool.acquire(fresh=fresh)
            except (HttpConnectionError, TimeoutError) as exc:
                raise StorageUnavailableError(f"S3 unreachable: {exc}") from exc
            reused = connection.used
            try:
                return connection, await connection.exchange(request, head_only=method == "HEAD")
            except HttpConnectionError as exc:
                self.pool.release(connection)
                if not reused or fresh:
                    raise StorageUnavailableError(f"S3 {method} {key!r} failed: {exc}") from exc
            except BaseException:
                self.pool.release(connection)
                raise
        raise AssertionError("unreachable")

    async def stat(self, key: str) -> ObjectInfo:
        connection, head = await self._open("HEAD", key, {})
        self.pool.release(connection)
        if head.status == 404:
            raise ObjectNotFoundError(key)
        if head.status != 200:
            raise StorageUnavailableError(f"S3 HEAD {key!r} answered {head.status}")
        return _info(key, head)

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.read_range_if(key, start, end, etag=None)

    async def read_range_if(
        self, key: str, start: int, end: int | None, *, etag: str | None
    ) -> AsyncIterator[bytes]:
        """Yield bytes ``start..end`` of ``key``; ``etag``: the version they must come from."""
        extra = {"range": f"bytes={start}-{'' if end is None else end}"}
        if etag is not None:
            extra["if-match"] = f'"{etag}"'
        connection, head = await self._open("GET", key, extra)
        try:
            if head.status == 404:
                raise ObjectNotFoundError(key)
            if head.status == 412:
                raise ObjectChangedError(key)
            if head.status not in (200, 206):
                raise StorageUnavailableError(f"S3 GET {key!r} answered {head.status}")
            # a server that ignores If-Match still names the version it sent
            if etag is not None and head.headers.get("etag", "").strip('"') != etag:
                raise ObjectChangedError(key)
            while True:
                try:
                    chunk = await connection.read()
                except HttpConnectionError as exc:
                    raise StorageUnavailableError(f"S3 read of {key!r} broke off: {exc}") from exc
                if not chunk:
                    break
                yield chunk
        finally:
            # a body read to its end leaves the connection reusable; anything else closes it
            self.pool.release(connection)

    async def ensure_ready(self) -> None:
        await self._writer.ensure_ready()

    async def close(self) -> None:
        self.pool.close()

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        return await self._writer.put_file(key, path, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self._writer.delete(key)
