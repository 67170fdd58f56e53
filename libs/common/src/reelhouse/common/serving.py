"""``serve(app, http)``: run an ASGI app with uvicorn the way every service does.

``REELHOUSE_HTTP__PORT=0`` binds an ephemeral port. Once the app's lifespan has started
and the socket listens, the bound address is logged as ``http.listening`` and, when
``REELHOUSE_HTTP__PORT_FILE`` is set, the port number is written to that file (atomically:
a reader never sees half a number). Scaled replicas under host networking use it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
import uvicorn

from reelhouse.common.settings import HttpSettings

log = structlog.get_logger(__name__)

# what uvicorn.run exits with when the server never started (its STARTUP_FAILURE)
STARTUP_FAILURE = 3


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(f"{port}\n")
    partial.replace(path)


def bound_address(sockets: list[socket.socket]) -> tuple[str, int]:
    """The (host, port) the first listening socket is bound to."""
    name = sockets[0].getsockname()
    return str(name[0]), int(name[1])


class ReportingServer(uvicorn.Server):
    """A uvicorn server that reports the address it really bound."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        port_file: Path | None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.port_file = port_file
        self.on_shutdown = on_shutdown
        self.bound: tuple[str, int] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        listening = [s for server in getattr(self, "servers", []) for s in server.sockets]
        if self.should_exit or not listening:
            return
        host, port = bound_address(listening)
        self.bound = (host, port)
        frozen = freeze_startup_objects()
        if self.port_file is not None:
            write_port_file(self.port_file, port)
        log.info(
            "http.listening",
            host=host,
            port=port,
            port_file=_display(self.port_file),
            gc_frozen=frozen,
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # before uvicorn waits for open connections: long-lived responses must end first
        if self.on_shutdown is not None:
            self.on_shutdown()
        await super().shutdown(sockets=sockets)


def freeze_startup_objects() -> int:
    """Move every object alive once the service is up (modules, the app, its clients) out of
    the garbage collector's reach; how many.

    A full collection walked all of them, hundreds of thousands, every few thousand requests:
    `make bench-submit` at 8 connections had a p99 of 144–171 ms with them and 50–55 ms without
    (quiet machine, alternating runs). Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _display(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def serve(
    app: Any,
    http: HttpSettings,
    *,
    on_shutdown: Callable[[], None] | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` on ``http.host``/``http.port`` until a signal stops it (like uvicorn.run).

    ``on_shutdown`` is called once the server starts shutting down, before it waits for open
    connections to finish (the gateway ends its event streams there).

    ``options`` are uvicorn ``Config`` arguments (``ws``, ``access_log``, ``proxy_headers``…);
    uvicorn's own logging config is never installed: its lines go through our structlog setup.
    """
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler
    # it found: make that one a clean exit (status 0) for supervisors and orchestrators
    signal.signal(signal.SIGTERM, _exit_cleanly)
    config = uvicorn.Config(app, host=http.host, port=http.port, log_config=None, **options)
    server = ReportingServer(config, port_file=http.port_file, on_shutdown=on_shutdown)
    # a second Ctrl-C while shutting down: uvicorn.run ignores it too
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
