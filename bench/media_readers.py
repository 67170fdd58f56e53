"""S3 readers the media benchmark compares with the one the service ships (ADR 0010).

Each implements what ``reelhouse.media.objects.MediaObjects`` reads through:
``stat``, ``read_range`` and ``read_range_if`` (a ranged ``GET`` with ``If-Match``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import obstore
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from obstore.exceptions import BaseError, NotFoundError, PreconditionError
from obstore.store import S3Store

from reelhouse.common.s3store import S3ObjectStore
from reelhouse.common.settings import S3Settings
from reelhouse.common.storage import ObjectInfo, ObjectNotFoundError, StorageUnavailableError
from reelhouse.media.s3reader import ObjectChangedError
from reelhouse.media.sigv4 import SigV4Signer, object_path

if TYPE_CHECKING:
    from obstore import GetOptions, GetResult


DEFAULT_REGION = "us-east-1"
# the smallest piece obstore hands on (its default, 10 MiB, would hold 10 MiB per slow viewer)
OBSTORE_CHUNK = 256 * 1024
CONNECT_TIMEOUT = timedelta(seconds=5)
READ_TIMEOUT = timedelta(seconds=60)
# obstore's overall request timeout (30 s by default) would cut off a long stream
REQUEST_TIMEOUT = timedelta(days=1)


class AiobotocoreReader:
    """aiobotocore (botocore's signing over aiohttp), the body read with ``iter_any``."""

    def __init__(self, settings: S3Settings, *, max_connections: int = 256) -> None:
        self.settings = settings
        self.max_connections = max_connections
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._writer = S3ObjectStore(settings)

    async def ensure_ready(self) -> None:
        await self._writer.ensure_ready()
        scheme = "https" if self.settings.secure else "http"
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=f"{scheme}://{self.settings.endpoint}",
                aws_access_key_id=self.settings.access_key.get_secret_value(),
                aws_secret_access_key=self.settings.secret_key.get_secret_value(),
                region_name=self.settings.region or "us-east-1",
                config=AioConfig(
                    max_pool_connections=self.max_connections,
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 1},
                ),
            )
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def stat(self, key: str) -> ObjectInfo:
        try:
            head = await self._client.head_object(Bucket=self.settings.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                raise ObjectNotFoundError(key) from exc
            raise StorageUnavailableError(str(exc)) from exc
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=str(head["ETag"]).strip('"'),
            last_modified=head["LastModified"].astimezone(UTC).replace(microsecond=0),
            content_type=head.get("ContentType") or "application/octet-stream",
        )

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.read_range_if(key, start, end, etag=None)

    async def read_range_if(
        self, key: str, start: int, end: int | None, *, etag: str | None
    ) -> AsyncIterator[bytes]:
        params: dict[str, str] = {"Range": f"bytes={start}-{'' if end is None else end}"}
        if etag is not None:
            params["IfMatch"] = f'"{etag}"'
        try:
            response = await self._client.get_object(Bucket=self.settings.bucket, Key=key, **params)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("404", "NoSuchKey"):
                raise ObjectNotFoundError(key) from exc
            if code in ("412", "PreconditionFailed"):
                raise ObjectChangedError(key) from exc
            raise StorageUnavailableError(str(exc)) from exc
        body = response["Body"]
        try:
            async for chunk in body.raw_stream.content.iter_any():
                yield chunk
        finally:
            body.close()

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        return await self._writer.put_file(key, path, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self._writer.delete(key)


class AiohttpReader:
    """aiohttp's client with the media service's SigV4 headers; the body read with ``iter_any``.

    ``read_bufsize`` is raised to 1 MiB so a piece of body is handed on as soon as it arrives
    in one buffer (aiohttp's default 64 KiB pauses the socket more often).
    """

    def __init__(self, settings: S3Settings, *, max_connections: int = 256) -> None:
        self.settings = settings
        self.max_connections = max_connections
        self.signer = SigV4Signer(
            settings.access_key.get_secret_value(),
            settings.secret_key.get_secret_value(),
            region=settings.region or "us-east-1",
        )
        scheme = "https" if settings.secure else "http"
        self.base = f"{scheme}://{settings.endpoint}"
        self._session: aiohttp.ClientSession | None = None
        self._writer = S3ObjectStore(settings)

    async def ensure_ready(self) -> None:
        await self._writer.ensure_ready()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections),
            read_bufsize=1024 * 1024,
            auto_decompress=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, method: str, key: str, extra: dict[str, str]) -> tuple[str, dict[str, str]]:
        path = object_path(self.settings.bucket, key)
        headers = self.signer.sign_headers(method, self.settings.endpoint, path)
        return self.base + path, {**headers, **extra}

    async def stat(self, key: str) -> ObjectInfo:
        assert self._session is not None
        url, headers = self._headers("HEAD", key, {})
        try:
            async with self._session.head(url, headers=headers) as response:
                if response.status == 404:
                    raise ObjectNotFoundError(key)
                if response.status != 200:
                    raise StorageUnavailableError(f"S3 HEAD answered {response.status}")
                return ObjectInfo(
                    key=key,
                    size=int(response.headers["Content-Length"]),
                    etag=response.headers.get("ETag", "").strip('"'),
                    last_modified=parsedate_to_datetime(response.headers["Last-Modified"]),
                    content_type=response.headers.get("Content-Type") or "application/octet-stream",
                )
        except aiohttp.ClientError as exc:
            raise StorageUnavailableError(str(exc)) from exc

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.read_range_if(key, start, end, etag=None)

    async def read_range_if(
        self, key: str, start: int, end: int | None, *, etag: str | None
    ) -> AsyncIterator[bytes]:
        assert self._session is not None
        extra = {"range": f"bytes={start}-{'' if end is None else end}"}
        if etag is not None:
            extra["if-match"] = f'"{etag}"'
        url, headers = self._headers("GET", key, extra)
        try:
            async with self._session.get(url, headers=headers) as response:
                if response.status == 404:
                    raise ObjectNotFoundError(key)
                if response.status == 412:
                    raise ObjectChangedError(key)
                if response.status not in (200, 206):
                    raise StorageUnavailableError(f"S3 GET answered {response.status}")
                async for chunk in response.content.iter_any():
                    yield chunk
        except aiohttp.ClientError as exc:
            raise StorageUnavailableError(str(exc)) from exc

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        return await self._writer.put_file(key, path, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self._writer.delete(key)


def s3_store(settings: S3Settings, *, max_idle_connections: int) -> S3Store:
    """An obstore ``S3Store`` for the bucket ``settings`` name (path-style, as MinIO wants)."""
    scheme = "https" if settings.secure else "http"
    return S3Store(
        settings.bucket,
        endpoint=f"{scheme}://{settings.endpoint}",
        access_key_id=settings.access_key.get_secret_value(),
        secret_access_key=settings.secret_key.get_secret_value(),
        region=settings.region or DEFAULT_REGION,
        virtual_hosted_style_request=False,
        client_options={
            "allow_http": not settings.secure,
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "timeout": REQUEST_TIMEOUT,
            "pool_max_idle_per_host": str(max_idle_connections),
        },
        # a failed read is the player's to retry (it re-requests the range); never stall it
        retry_config={"max_retries": 0},
    )


def _obstore_etag(value: str | None) -> str:
    return (value or "").strip('"')


def _obstore_info(key: str, result: GetResult) -> ObjectInfo:
    meta = result.meta
    last_modified = meta.get("last_modified") or datetime.now(UTC)
    content_type = result.attributes.get("Content-Type")
    return ObjectInfo(
        key=key,
        size=meta["size"],
        etag=_obstore_etag(meta.get("e_tag")),
        last_modified=last_modified.astimezone(UTC).replace(microsecond=0),
        content_type=str(content_type or "application/octet-stream"),
    )


class ObstoreReader:
    """obstore (Rust ``object_store``: reqwest/hyper, SigV4), pulled in ``OBSTORE_CHUNK`` pieces."""

    def __init__(self, settings: S3Settings, *, max_connections: int = 256) -> None:
        self.settings = settings
        self.store = s3_store(settings, max_idle_connections=max_connections)
        self._writer = S3ObjectStore(settings)

    async def _get(self, key: str, options: GetOptions) -> GetResult:
        try:
            return await obstore.get_async(self.store, key, options=options)
        except NotFoundError as exc:
            raise ObjectNotFoundError(key) from exc
        except PreconditionError as exc:
            raise ObjectChangedError(key) from exc
        except BaseError as exc:
            raise StorageUnavailableError(f"S3 read of {key!r} failed: {exc}") from exc

    async def stat(self, key: str) -> ObjectInfo:
        # a HEAD through ``get`` (``head_async`` drops the Content-Type)
        return _obstore_info(key, await self._get(key, {"head": True}))

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.read_range_if(key, start, end, etag=None)

    async def read_range_if(
        self, key: str, start: int, end: int | None, *, etag: str | None
    ) -> AsyncIterator[bytes]:
        """Yield bytes ``start..end`` of ``key``; ``etag``: the version they must come from."""
        options: GetOptions = {"range": {"offset": start} if end is None else (start, end + 1)}
        if etag is not None:
            options["if_match"] = f'"{etag}"'
        result = await self._get(key, options)
        # a server that ignores If-Match still names the version it sent
        if etag is not None and _obstore_etag(result.meta.get("e_tag")) != etag:
            raise ObjectChangedError(key)
        chunks = result.stream(min_chunk_size=OBSTORE_CHUNK)
        while True:
            try:
                chunk = await anext(chunks, b"")
            except BaseError as exc:
                raise StorageUnavailableError(f"S3 read of {key!r} broke off: {exc}") from exc
            if not chunk:
                return
            yield chunk

    async def ensure_ready(self) -> None:
        await self._writer.ensure_ready()

    async def close(self) -> None:
        """obstore's connections close with the store."""

    async def put_file(self, key: str, path: Path, *, content_type: str) -> ObjectInfo:
        return await self._writer.put_file(key, path, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self._writer.delete(key)
