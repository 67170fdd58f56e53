"""Run a service as its own process (``python -m reelhouse.<role>``), as e2e and kill tests need."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.lifecycle import log_records, log_tail, stop_gracefully

STOP_TIMEOUT = 10.0


class ServiceStartError(RuntimeError):
    """The service exited or did not become ready in time."""


class ServiceProcess:
    """One service process with its output captured to ``log_path``."""

    def __init__(
        self,
        role: str,
        env: Mapping[str, str],
        log_path: Path,
        *,
        module: str | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.role = role
        self.log_path = log_path
        self.env = {**os.environ, **env}
        self.argv = [sys.executable, "-m", module or f"reelhouse.{role}", *args]
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, url: str, *, timeout: float = 30.0) -> None:
        """Poll ``GET url`` until it answers 2xx; raise with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise ServiceStartError(
                        f"{self.role} exited with {self.returncode} before it was ready;"
                        f" log:\n{self.log_tail()}"
                    )
                try:
                    response = client.get(url)
                    if response.is_success:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.1)
        raise ServiceStartError(
            f"{self.role} not ready at {url} after {timeout:.0f}s ({last}); log:\n{self.log_tail()}"
        )

    def wait_port_file(self, path: Path, *, timeout: float = 30.0) -> int:
        """The port a service bound with ``REELHOUSE_HTTP__PORT=0`` and wrote to ``path``."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if not self.running:
                raise ServiceStartError(f"{self.role} exited; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceStartError(f"{self.role} wrote no {path}; log:\n{self.log_tail()}")
            time.sleep(0.05)
        return int(path.read_text())

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=STOP_TIMEOUT)

    def terminate(self, *, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL when the process outlives ``timeout``; returns the exit code."""
        if self._proc is None:
            return None
        return stop_gracefully(self._proc, timeout=timeout)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def records(self, event: str) -> list[dict[str, Any]]:
        """Its JSON log records named ``event`` (``REELHOUSE_LOG__JSON=true``), oldest first."""
        return log_records(self.log_path, event)

    def wait_logged(self, event: str, *, timeout: float, **fields: object) -> dict[str, Any]:
        """The first ``event`` record carrying ``fields``, once logged (the process must live)."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.records(event):
                if all(record.get(name) == value for name, value in fields.items()):
                    return record
            if not self.running:
                raise AssertionError(f"{self.role} exited before logging {event} {fields}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.role} logged no {event} {fields} in {timeout:.0f}s;"
                    f" log:\n{self.log_tail()}"
                )
            time.sleep(0.1)


class ServiceRunner:
    """Starts services into one log directory and stops them all at the end (the fixture owns it)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[ServiceProcess] = []

    def start(
        self,
        role: str,
        env: Mapping[str, str],
        *,
        ready_url: str | None = None,
        ready_timeout: float = 30.0,
        module: str | None = None,
        args: Sequence[str] = (),
    ) -> ServiceProcess:
        """Start ``python -m reelhouse.<role>`` (or ``module``) and wait for ``ready_url``."""
        index = sum(1 for p in self.started if p.role == role)
        service = ServiceProcess(
            role, env, self.log_dir / f"{role}-{index}.log", module=module, args=args
        )
        self.started.append(service)
        service.start()
        if ready_url is not None:
            service.wait_ready(ready_url, timeout=ready_timeout)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.terminate(timeout=5.0)

    def report(self) -> str:
        """Every service's log tail, for a failing test's output."""
        return "\n".join(
            f"----- {s.role} (pid {s.pid}, exit {s.returncode}) -----\n{s.log_tail()}"
            for s in self.started
        )


_UNOWNED: list[ServiceProcess] = []


@atexit.register
def _kill_unowned() -> None:
    for service in _UNOWNED:
        service.kill()


def start_service(
    role: str,
    env: Mapping[str, str],
    *,
    ready_url: str | None = None,
    ready_timeout: float = 30.0,
    log_dir: Path | None = None,
) -> ServiceProcess:
    """Start one service outside a fixture; the caller stops it, and it is killed at exit anyway.

    Prefer the ``start_service`` fixture: it stops every service at teardown and attaches
    their log tails to a failing test's report.
    """
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix=f"reelhouse-{role}-"))
    service = ServiceProcess(role, env, log_dir / f"{role}.log")
    _UNOWNED.append(service)
    service.start()
    if ready_url is not None:
        try:
            service.wait_ready(ready_url, timeout=ready_timeout)
        except ServiceStartError:
            service.kill()
            raise
    return service
