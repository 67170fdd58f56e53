"""The media app served by a real uvicorn on a loopback socket, inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import ObjectInfo, ObjectStore, build_object_store
from reelhouse.media.app import build_app
from reelhouse.media.settings import Settings

START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
URL_TTL = 600


@dataclass
class MediaServer:
    base_url: str
    signer: UrlSigner
    store: ObjectStore
    client: httpx.AsyncClient

    def url(self, key: str, *, ttl: int = URL_TTL, now: float | None = None) -> str:
        return self.signer.signed_url(self.base_url, key, ttl_seconds=ttl, now=now)

    async def put(self, key: str, data: bytes, *, content_type: str) -> ObjectInfo:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "object"
            path.write_bytes(data)
            return await self.store.put_file(key, path, content_type=content_type)


@asynccontextmanager
async def serving(settings: Settings, *, store: ObjectStore | None = None) -> AsyncIterator[str]:
    """Run ``build_app(settings, store=store)`` on uvicorn; yields the base URL."""
    async with serving_app(build_app(settings, store=store)) as base_url:
        yield base_url


@asynccontextmanager
async def serving_app(app: ASGIApp) -> AsyncIterator[str]:
    """Run any ASGI app on uvicorn on a free loopback port; yields the base URL."""
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
        server_header=False,
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_TIMEOUT)
        sock.close()


@asynccontextmanager
async def running_media_server(settings: Settings) -> AsyncIterator[MediaServer]:
    store = build_object_store(settings.storage)
    await store.ensure_ready()
    signer = UrlSigner(settings.signing.require_keys(), settings.signing.active_key_id)
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client,
    ):
        yield MediaServer(base_url=base_url, signer=signer, store=store, client=client)
