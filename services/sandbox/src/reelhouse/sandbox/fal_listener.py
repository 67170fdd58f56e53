"""The second listener: fal's queue API over HTTPS, run inside the main app's lifespan.

It is a uvicorn server of its own (TLS with the certificate from ``tls.py``) on
``settings.fal_port``, sharing the main app's event loop and its ``SandboxContext``. The
socket is bound here, so a port in use fails the start-up with a clear error; the process's
signals stay with the main server, whose shutdown stops this one too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from starlette.types import ASGIApp

from reelhouse.sandbox.tls import TlsFiles

log = structlog.get_logger(__name__)

START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # the main server owns SIGINT/SIGTERM; it stops this one from its lifespan
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class FalListener:
    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], sock: socket.socket):
        self._server = server
        self._task = task
        self._sock = sock

    @classmethod
    async def start(cls, app: ASGIApp, *, host: str, port: int, tls: TlsFiles) -> FalListener:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
            log_config=None,
            ws="none",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        sock = _bind(host, port)
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="sandbox-fal-listener")
        listener = cls(server, task, sock)
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                while not server.started:
                    if task.done():
                        raise RuntimeError(f"the fal listener on {host}:{port} did not start")
                    await asyncio.sleep(0.01)
        except BaseException:
            await listener.aclose()
            raise
        log.info("fal_listener.started", host=host, port=port, ca=str(tls.ca))
        return listener

    async def aclose(self) -> None:
        self._server.should_exit = True
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                await asyncio.gather(self._task, return_exceptions=True)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        finally:
            self._sock.close()
