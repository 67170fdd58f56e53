"""A provider-like origin on a loopback socket: serves outputs well, slowly, wrongly or not at all.

Runs inside the test's event loop (aiohttp). Each path has a ``Route`` saying how to answer;
the origin counts requests and body bytes sent per path, so a test can see how far a
download got (for instance, to kill a worker mid-transfer).
"""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

DEFAULT_CHUNK = 64 * 1024
WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Route:
    body: bytes = b""
    content_type: str = "video/mp4"
    status: int = 200
    # stop after this many bytes and drop the connection (Content-Length still says the whole)
    truncate_at: int | None = None
    # no Content-Length: chunked transfer encoding
    chunked: bool = False
    # send the body gzip-encoded, whatever the client asked for
    gzip: bool = False
    # pace: bytes per write and a pause after each write
    chunk: int = DEFAULT_CHUNK
    pause: float = 0.0
    # answer a redirect to this location instead
    location: str | None = None
    # answer 503 this many times before serving the route
    fail_first: int = 0
    # honour ``Range: bytes=N-`` (206, ``Content-Range``) and ``If-Range`` against ``etag``
    ranges: bool = False
    etag: str = '"v1"'
    # with ``truncate_at``: only the first this many answers are cut (None: every answer)
    cut_answers: int | None = None


@dataclass
class Origin:
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    # the headers of every request, per path, in order
    requests: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    # set whenever a request arrives or body bytes go out
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def serve(self, path: str, route: Route) -> str:
        """Register ``route`` at ``path``; its absolute URL."""
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def wait_sent(self, path: str, at_least: int) -> None:
        """Until ``at_least`` body bytes of ``path`` went out (bounded)."""
        await self._wait_until(lambda: self.sent[path] >= at_least)

    async def wait_hits(self, path: str, at_least: int) -> None:
        """Until ``path`` was requested ``at_least`` times (bounded)."""
        await self._wait_until(lambda: self.hits[path] >= at_least)

    async def _wait_until(self, reached: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while not reached():
                self.progress.clear()
                await self.progress.wait()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        route = self.routes.get(path)
        self.hits[path] += 1
        self.requests.setdefault(path, []).append(dict(request.headers))
        self.progress.set()
        if route is None:
            return web.Response(status=404, text="no such output")
        if self.hits[path] <= route.fail_first:
            return web.Response(status=503, text="busy, try again")
        if route.location is not None:
            return web.Response(status=302, headers={"Location": route.location})
        if route.status != 200:
            return web.Response(
                status=route.status, body=route.body, content_type=route.content_type
            )
        return await self._stream(request, path, route)

    def _start(self, request: web.Request, route: Route, size: int) -> int:
        """Where the answer starts: the ``Range`` asked for, when the route honours it."""
        asked = request.headers.get("Range", "")
        if_range = request.headers.get("If-Range")
        if not route.ranges or not asked.startswith("bytes=") or not asked.endswith("-"):
            return 0
        if if_range is not None and if_range != route.etag:
            return 0
        start = int(asked.removeprefix("bytes=").removesuffix("-"))
        return start if start < size else 0

    async def _stream(self, request: web.Request, path: str, route: Route) -> web.StreamResponse:
        whole = gzip.compress(route.body) if route.gzip else route.body
        start = self._start(request, route, len(whole))
        body = whole[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = route.content_type
        if route.ranges:
            response.headers["Accept-Ranges"] = "bytes"
            response.headers["ETag"] = route.etag
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(whole) - 1}/{len(whole)}"
        if route.gzip:
            response.headers["Content-Encoding"] = "gzip"
        if route.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(body)
        await response.prepare(request)
        cut = route.truncate_at is not None and (
            route.cut_answers is None or self.hits[path] <= route.cut_answers
        )
        end = min(len(body), route.truncate_at or 0) if cut else len(body)
        try:
            for offset in range(0, end, route.chunk):
                piece = body[offset : min(offset + route.chunk, end)]
                await response.write(piece)
                self.sent[path] += len(piece)
                self.progress.set()
                if route.pause:
                    await asyncio.sleep(route.pause)
        except (ConnectionResetError, ConnectionError):
            return response  # the client went away (a killed worker, an aborted download)
        if cut:
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


@asynccontextmanager
async def running_origin() -> AsyncIterator[Origin]:
    origin = Origin()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", origin.handle)
    # a client that goes away (a killed worker, a timeout) cancels its handler at once
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    origin.base_url = f"http://{host}:{port}"
    try:
        yield origin
    finally:
        await runner.cleanup()
