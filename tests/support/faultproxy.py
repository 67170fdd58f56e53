"""A fault-injecting TCP proxy in its own thread, for synchronous tests that drive subprocesses.

``FaultProxy(target_port)`` listens on a loopback port and forwards to ``127.0.0.1:target_port``.
Its mode can be switched at any moment from the test's thread:

- ``pass_through()`` (the default): bytes flow both ways.
- ``refuse()``: the listening socket is closed (connection refused) and every open connection is
  aborted, as a server that went away; ``pass_through()`` listens again on the same port.
- ``blackhole()``: a partition. New connections are accepted but nothing is answered or
  forwarded; open ones stop flowing both ways but stay open. The bytes are held back (and what
  the proxy has not read waits in the kernel's buffers), so when the partition heals the
  streams resume intact, as TCP would after a partition.
- ``reset()`` (a one-off, the mode stays): every open connection is aborted with a TCP RST, so
  its peers read ``ECONNRESET`` (connection reset by peer) in the middle of whatever they did.
- ``latency(seconds)``: forwards, each chunk delayed by ``seconds`` (a slow S3).
- ``http_error(status, code, message, count=None)``: each new HTTP request is read (headers and
  body) and answered with ``status`` and an S3 XML error body, without reaching the target, for
  ``count`` requests (then back to pass) or until switched back. Connections already forwarding
  are cut when the mode starts, so the next request meets the fault. ``slow_down()`` (503
  ``SlowDown``) and ``internal_error()`` (500 ``InternalError``) are the two S3 answers.

``connections_accepted`` and ``requests_faulted`` count what the proxy saw, so a test can assert
that its fault was actually hit. The proxy's loop runs in a daemon thread; every switch returns
once the loop has applied it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from enum import StrEnum
from typing import Any

from tests.support.s3_failures import (
    HttpFault,
    read_request,
    s3_error_response,
)

CHUNK_SIZE = 64 * 1024
CONNECT_TIMEOUT = 5.0
# how long a faulted connection may take to send one request
REQUEST_TIMEOUT = 10.0
CONTROL_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# SO_LINGER on, zero seconds: close() sends RST instead of FIN
RESET_LINGER = struct.pack("ii", 1, 0)

SLOW_DOWN_MESSAGE = "Please reduce your request rate."
INTERNAL_ERROR_MESSAGE = "We encountered an internal error. Please try again."


class FaultMode(StrEnum):
    PASS = "pass"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"
    LATENCY = "latency"
    HTTP_ERROR = "http_error"


class FaultProxy:
    """A proxy in front of one TCP target; see the module docstring for the modes."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int = 0):
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = port
        self._mode = FaultMode.PASS
        self._latency = 0.0
        self._fault: HttpFault | None = None
        self._accepted = 0
        self._faulted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # owned by the loop's thread from here on
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- what tests read ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``: an S3 endpoint, a database host and port."""
        return f"{self.host}:{self.port}"

    def url(self, scheme: str = "http") -> str:
        """``<scheme>://127.0.0.1:<port>``, e.g. ``proxy.url("nats")``."""
        return f"{scheme}://{self.address}"

    @property
    def mode(self) -> FaultMode:
        return self._mode

    @property
    def connections_accepted(self) -> int:
        return self._accepted

    @property
    def requests_faulted(self) -> int:
        """HTTP requests answered with the fault (``http_error``) instead of forwarded."""
        return self._faulted

    @property
    def connections_open(self) -> int:
        """Client and upstream connections the proxy holds right now."""
        return len(self._transports)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._call(self._begin())
        return self

    def stop(self) -> None:
        """Cut every connection, stop listening, end the loop's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._shutdown())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=STOP_TIMEOUT)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- switches ----------------------------------------------------------------------------

    def pass_through(self) -> None:
        """Forward both ways; listen again (same port) after ``refuse``, flow after ``blackhole``."""
        self._switch(FaultMode.PASS)

    def refuse(self) -> None:
        """Refuse new connections and abort every open one (the server went away)."""
        self._switch(FaultMode.REFUSE)

    def blackhole(self) -> None:
        """Accept, answer nothing, forward nothing; open connections stall but stay open."""
        self._switch(FaultMode.BLACKHOLE)

    def reset(self) -> None:
        """Abort every open connection with a TCP RST; keep the mode (new ones are served)."""
        self._call(self._reset())

    def latency(self, seconds: float) -> None:
        """Forward, each chunk delayed by ``seconds``."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._switch(FaultMode.LATENCY, latency=seconds)

    def http_error(self, status: int, code: str, message: str, *, count: int | None = None) -> None:
        """Answer the next ``count`` HTTP requests (all, when None) with an S3 XML error."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None: until switched back)")
        self._switch(FaultMode.HTTP_ERROR, fault=HttpFault(status, code, message, count))

    def slow_down(self, *, count: int | None = None) -> None:
        """S3's ``503 SlowDown``."""
        self.http_error(503, "SlowDown", SLOW_DOWN_MESSAGE, count=count)

    def internal_error(self, *, count: int | None = None) -> None:
        """S3's ``500 InternalError``."""
        self.http_error(500, "InternalError", INTERNAL_ERROR_MESSAGE, count=count)

    # -- inside the loop ---------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "the proxy is not started"
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.result(timeout=CONTROL_TIMEOUT)

    def _switch(
        self, mode: FaultMode, *, latency: float = 0.0, fault: HttpFault | None = None
    ) -> None:
        self._call(self._apply(mode, latency, fault))

    async def _begin(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _abort_all(self, *, rst: bool = False) -> None:
        for transport in list(self._transports):
            sock = transport.get_extra_info("socket")
            if rst and sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_LINGER)
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            else:
                transport.close()
        self._transports.clear()

    async def _reset(self) -> None:
        self._abort_all(rst=True)

    async def _apply(self, mode: FaultMode, latency: float, fault: HttpFault | None) -> None:
        assert self._flowing is not None
        self._mode, self._latency, self._fault = mode, latency, fault
        if mode is FaultMode.REFUSE:
            self._unlisten()
            self._abort_all()
        else:
            await self._listen()
        if mode is FaultMode.HTTP_ERROR:
            self._abort_all()  # keep-alive connections would carry the next request past the fault
        if mode is FaultMode.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _shutdown(self) -> None:
        self._unlisten()
        self._abort_all()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._flowing is not None
        self._tasks.add(task)
        self._accepted += 1
        self._transports.add(writer.transport)
        upstream: asyncio.StreamWriter | None = None
        try:
            first = b""
            if self._mode is FaultMode.HTTP_ERROR:
                forward = await self._serve_fault(reader, writer)
                if forward is None:
                    return
                first = forward
            await self._flowing.wait()  # a blackhole holds new connections here
            if writer.transport.is_closing():
                return
            try:
                upstream_reader, upstream_writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.target), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                writer.transport.abort()
                return
            upstream = upstream_writer
            self._transports.add(upstream_writer.transport)
            if first:
                upstream_writer.write(first)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.transport.abort()
        except ValueError:  # BadRequestError, or a chunk size that is not hex
            writer.transport.abort()
        finally:
            for side in (writer, upstream):
                if side is not None:
                    self._transports.discard(side.transport)
                    side.close()
            self._tasks.discard(task)

    async def _serve_fault(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes | None:
        """Answer one request with the fault; or its bytes, to forward, if the fault ended."""
        try:
            request = await asyncio.wait_for(read_request(reader), REQUEST_TIMEOUT)
        except TimeoutError:
            writer.transport.abort()
            return None
        if request is None:
            return None
        fault = self._fault
        if self._mode is not FaultMode.HTTP_ERROR or fault is None:
            return request.raw
        self._faulted += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                await self._apply(FaultMode.PASS, 0.0, None)
        writer.write(s3_error_response(fault, request))
        await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()
        return None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flowing = self._flowing
        assert flowing is not None
        try:
            while chunk := await reader.read(CHUNK_SIZE):
                await flowing.wait()  # a blackhole holds the chunk (and the stream) here
                if self._latency:
                    await asyncio.sleep(self._latency)
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # half-close: the other direction may still be talking
        except (ConnectionError, OSError):
            writer.transport.abort()
