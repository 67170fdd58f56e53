"""A small HTTP/1.1 client for the S3 requests on the media service's hot path (ADR 0004).

It speaks just enough HTTP for ``GET`` and ``HEAD`` of objects: one request at a
time per keep-alive connection, a ``Content-Length`` body, nothing else. What it
buys over a general client is the body path: every ``bytes`` the event loop
receives is handed on as it is (no parser copy, no re-buffering), and reading
from the socket pauses while ``HIGH_WATER`` bytes wait for a slow client, so
TCP pushes back on S3 instead of the process buffering the object.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import cast

HIGH_WATER = 512 * 1024
LOW_WATER = 64 * 1024
MAX_HEAD = 64 * 1024
# the longest S3 may keep us waiting for the next bytes
READ_TIMEOUT = 60.0


class HttpConnectionError(Exception):
    """The connection failed, closed early, or the server spoke something else."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    # lower-case names; a repeated header keeps its last value (S3 sends none twice)
    headers: dict[str, str]
    keep_alive: bool


def parse_head(raw: bytes) -> ResponseHead:
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise HttpConnectionError(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpConnectionError(f"malformed header line {line[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return ResponseHead(status=int(code), headers=headers, keep_alive=keep_alive)


class Connection(asyncio.Protocol):
    """One connection; ``exchange`` sends a request and returns the response head."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False
        self._head_buffer = bytearray()
        self._head: ResponseHead | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._remaining = 0
        self._paused = False
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._head_only = False
        self._unframed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._error is None and (self._head is None or self._remaining):
            self._error = HttpConnectionError(f"connection closed by the server: {exc!r}")
        self._wake()

    def data_received(self, data: bytes) -> None:
        if self._head is not None:
            self._body(data)
            return
        self._head_buffer += data
        end = self._head_buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head_buffer) > MAX_HEAD:
                self._fail(HttpConnectionError("response head too large"))
            return
        try:
            head = parse_head(bytes(self._head_buffer[:end]))
            self._remaining = self._body_length(head)
        except HttpConnectionError as exc:
            self._fail(exc)
            return
        rest = bytes(self._head_buffer[end + 4 :])
        self._head_buffer.clear()
        self._head = head
        if rest:
            self._body(rest)
        self._wake()

    def _body_length(self, head: ResponseHead) -> int:
        if self._head_only or head.status in (204, 304):
            return 0
        length = head.headers.get("content-length")
        if length is not None and length.isdigit():
            return int(length)
        if 200 <= head.status < 300:
            raise HttpConnectionError(f"a {head.status} response without Content-Length")
        # an error's body of unknown length is never read: the connection is not reused
        self._unframed = True
        return 0

    def _body(self, data: bytes) -> None:
        if len(data) > self._remaining:
            self._fail(HttpConnectionError("more bytes than Content-Length announced"))
            return
        self._remaining -= len(data)
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def _fail(self, exc: Exception) -> None:
        self._error = exc
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                await self._waiter
        except TimeoutError as exc:
            self._fail(HttpConnectionError(f"no answer for {READ_TIMEOUT:.0f} s"))
            raise self._error or HttpConnectionError("timed out") from exc
        if self._error is not None and not self._chunks:
            raise self._error

    # the client side
    async def exchange(self, request: bytes, *, head_only: bool) -> ResponseHead:
        if self.transport is None or self.closed:
            raise HttpConnectionError("connection is closed")
        self.used = True
        self._head, self._head_only, self._remaining = None, head_only, 0
        self._unframed = False
        self._chunks.clear()
        self._buffered = 0
        self.transport.write(request)
        while self._head is None:
            await self._wait()
        return self._head

    async def read(self) -> bytes:
        """The next piece of the body as it arrived; ``b""`` once it is complete."""
        while not self._chunks:
            if not self._remaining:
                return b""
            await self._wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered <= LOW_WATER and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    @property
    def reusable(self) -> bool:
        return (
            not self.closed
            and self._error is None
            and self._head is not None
            and self._head.keep_alive
            and not self._unframed
            and not self._remaining
            and not self._chunks
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Keep-alive connections to one ``host:port``, at most ``max_connections`` in use."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        max_connections: int,
        connect_timeout: float,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.connect_timeout = connect_timeout
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def acquire(self, *, fresh: bool = False) -> Connection:
        async with asyncio.timeout(self.connect_timeout):
            await self._slots.acquire()
        try:
            while self._idle and not fresh:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await loop.create_connection(
                    Connection,
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                )
        except (OSError, TimeoutError) as exc:
            raise HttpConnectionError(
                f"cannot connect to {self.host}:{self.port}: {exc!r}"
            ) from exc
        return protocol

    def release(self, connection: Connection) -> None:
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
