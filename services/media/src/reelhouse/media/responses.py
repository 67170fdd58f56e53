"""Streaming an object's bytes to the client in bounded chunks.

The body is *primed* before the status line is chosen: the first chunk is read
from storage while an error can still become a clean 404 or 503. The rest is
streamed chunk by chunk, each one sent (and, through the server's flow control,
waited on) before the next is read, so a slow client holds a chunk or two, not
the file. Reading stops as soon as the client goes away — browsers abort range
requests all the time when a video seeks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Receive, Scope, Send

from reelhouse.common.storage import ObjectInfo
from reelhouse.media.multipart import Segment
from reelhouse.media.objects import MediaObjects
from reelhouse.media.ranges import ByteRange

# (bytes sent, whether the whole body went out)
OnDone = Callable[[int, bool], None]


@dataclass(slots=True)
class PrimedBody:
    first: bytes
    rest: AsyncIterator[bytes]
    length: int


async def open_body(
    objects: MediaObjects, info: ObjectInfo, segments: list[Segment], length: int
) -> PrimedBody:
    """Start reading the body ``segments`` describe; storage errors surface here, before any header.

    The first range is opened and its first chunk read now; literal segments (multipart
    framing) and later ranges follow as the client takes them.
    """
    index, byte_range = next(
        (i, segment) for i, segment in enumerate(segments) if isinstance(segment, ByteRange)
    )
    chunks = objects.read(info, byte_range.start, byte_range.end)
    try:
        first = await anext(chunks, b"")
    except BaseException:
        await close_chunks(chunks)
        raise
    prefix = b"".join(s for s in segments[:index] if isinstance(s, bytes))
    later = segments[index + 1 :]
    rest = _follow(objects, info, chunks, later) if later else chunks
    return PrimedBody(first=prefix + first if prefix else first, rest=rest, length=length)


async def _follow(
    objects: MediaObjects, info: ObjectInfo, current: AsyncIterator[bytes], later: list[Segment]
) -> AsyncIterator[bytes]:
    """The rest of the open range, then each later segment in turn."""
    try:
        async for chunk in current:
            yield chunk
    finally:
        await close_chunks(current)
    for segment in later:
        if isinstance(segment, bytes):
            yield segment
            continue
        chunks = objects.read(info, segment.start, segment.end)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await close_chunks(chunks)


async def close_chunks(chunks: AsyncIterator[bytes]) -> None:
    """Close the store's generator so it releases its file handle or HTTP connection now."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


class ObjectResponse:
    """An ASGI response sending ``body`` after the given status and headers."""

    def __init__(
        self, *, status: int, headers: dict[str, str], body: PrimedBody, on_done: OnDone
    ) -> None:
        self.status = status
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self.body = body
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a body already in hand goes out at once; only a longer one needs to watch the client
        watch = self.body.length > len(self.body.first)
        disconnected = asyncio.ensure_future(_wait_for_disconnect(receive)) if watch else None
        sent = 0
        complete = False
        try:
            await send(
                {"type": "http.response.start", "status": self.status, "headers": self.raw_headers}
            )
            remaining = self.body.length
            chunk = self.body.first
            while True:
                # never send more than Content-Length promised, even if the object grew meanwhile
                chunk = chunk[:remaining]
                remaining -= len(chunk)
                sent += len(chunk)
                if remaining == 0:
                    await send({"type": "http.response.body", "body": chunk, "more_body": False})
                    complete = True
                    break
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if disconnected is not None and disconnected.done():
                    break
                chunk = await anext(self.body.rest, b"")
                if not chunk:
                    # the object shrank under us: end without completing, the client sees a short body
                    break
        finally:
            if disconnected is not None:
                disconnected.cancel()
            await close_chunks(self.body.rest)
            self.on_done(sent, complete)


PATHSEND = "http.response.pathsend"


def can_send_path(scope: Scope) -> bool:
    """Whether the server sends a file by path itself (the ASGI path-send extension)."""
    return PATHSEND in (scope.get("extensions") or {})


class FileResponse:
    """The whole object sent by the server straight from its file (``http.response.pathsend``).

    No byte passes through Python: granian, for one, streams the file from its own threads
    (uvicorn does not offer the extension; ranges always stream through ``ObjectResponse``).
    """

    def __init__(
        self, *, status: int, headers: dict[str, str], path: Path, length: int, on_done: OnDone
    ) -> None:
        self.status = status
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self.path = path
        self.length = length
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        complete = False
        try:
            await send(
                {"type": "http.response.start", "status": self.status, "headers": self.raw_headers}
            )
            await send({"type": PATHSEND, "path": str(self.path)})
            complete = True
        finally:
            self.on_done(self.length if complete else 0, complete)


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
