"""Local-disk objects sent by the server itself when it offers ``http.response.pathsend``.

The app is driven as an ASGI server would drive it (lifespan, then one request scope), so the
test sees exactly the messages a server like granian receives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from starlette.types import ASGIApp, Message

from reelhouse.common.settings import SigningSettings, StorageSettings
from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import LocalObjectStore
from reelhouse.media.app import build_app
from reelhouse.media.settings import Settings

KEY = "outputs/job-9/0.mp4"
DATA = bytes(range(256)) * 3000
PATHSEND = "http.response.pathsend"


@asynccontextmanager
async def started(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's lifespan around the block, as a server does."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        await outbox.put(message)

    async def lifespan() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    task = asyncio.create_task(lifespan())
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task


async def request(
    app: ASGIApp, url: str, *, headers: dict[str, str], extensions: dict[str, Any]
) -> list[Message]:
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "extensions": extensions,
    }
    sent: list[Message] = []
    finished = asyncio.Event()

    async def receive() -> Message:
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    finished.set()
    return sent


async def serve_local(tmp_path: Path) -> tuple[ASGIApp, str, Path]:
    root = tmp_path / "objects"
    store = LocalObjectStore(root)
    await store.ensure_ready()
    source = tmp_path / "clip.mp4"
    source.write_bytes(DATA)
    await store.put_file(KEY, source, content_type="video/mp4")
    settings = Settings(
        storage=StorageSettings(backend="local", local_root=root),
        signing=SigningSettings(keys={"k1": SecretStr("pathsend-secret")}, active_key_id="k1"),
    )
    url = UrlSigner({"k1": b"pathsend-secret"}, "k1").signed_url(
        "http://media", KEY, ttl_seconds=60
    )
    return build_app(settings), url, store.data_path(KEY)


async def test_a_whole_object_is_sent_by_path_when_the_server_offers_it(tmp_path: Path) -> None:
    app, url, path = await serve_local(tmp_path)
    async with started(app):
        sent = await request(app, url, headers={}, extensions={PATHSEND: {}})

    start, body = sent
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"content-length"] == str(len(DATA)).encode()
    assert headers[b"content-type"] == b"video/mp4"
    assert body == {"type": PATHSEND, "path": str(path)}
    assert path.read_bytes() == DATA


async def test_a_range_streams_its_bytes_even_when_the_server_sends_paths(tmp_path: Path) -> None:
    app, url, _ = await serve_local(tmp_path)
    async with started(app):
        sent = await request(
            app, url, headers={"range": "bytes=1000-299999"}, extensions={PATHSEND: {}}
        )

    assert sent[0]["status"] == 206
    assert all(m["type"] == "http.response.body" for m in sent[1:])
    assert b"".join(m["body"] for m in sent[1:]) == DATA[1000:300000]


async def test_without_the_extension_the_whole_object_streams_through_the_app(
    tmp_path: Path,
) -> None:
    app, url, _ = await serve_local(tmp_path)
    async with started(app):
        sent = await request(app, url, headers={}, extensions={})

    assert sent[0]["status"] == 200
    assert b"".join(m["body"] for m in sent[1:]) == DATA
