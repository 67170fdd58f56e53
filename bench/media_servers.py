"""The servers ``bench/media.py`` measures: media service variants, and nginx on local disk.

Every server listens on a free loopback port and keeps its files in the run's
temporary directory; each is stopped by the context manager that started it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.support.lifecycle import stop_gracefully
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

SIGNING_SECRET = "bench-secret"  # noqa: S105 - a throwaway key for a throwaway server


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of running the media service: ``python -m <module> <args>`` with ``env``."""

    name: str
    module: str = "reelhouse.media"
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None


def local_env(root: Path) -> dict[str, str]:
    return {"REELHOUSE_STORAGE__BACKEND": "local", "REELHOUSE_STORAGE__LOCAL_ROOT": str(root)}


@contextmanager
def media_process(
    variant: Variant, storage_env: Mapping[str, str], workdir: Path
) -> Iterator[tuple[ServiceProcess, str]]:
    """The media service as ``variant`` runs it; yields the process and its base URL."""
    port = free_port()
    env = {
        **storage_env,
        **(variant.env or {}),
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": SIGNING_SECRET}),
        "REELHOUSE_LOG__JSON": "true",
    }
    log = workdir / f"media-{variant.name}.log"
    service = ServiceProcess("media", env, log, module=variant.module, args=variant.args)
    service.start()
    try:
        service.wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield service, f"http://127.0.0.1:{port}"
    finally:
        service.terminate(timeout=10)


_NGINX_CONF = """\
daemon off;
master_process on;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types { video/mp4 mp4; }
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
    }
}
"""


@contextmanager
def nginx(root: Path, workdir: Path, *, workers: int = 1) -> Iterator[tuple[int, str]]:
    """Debian's nginx serving ``root`` with sendfile; yields its master pid and base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    directory = workdir / "nginx"
    directory.mkdir()
    conf = directory / "nginx.conf"
    conf.write_text(
        _NGINX_CONF % {"workers": workers, "dir": directory, "port": port, "root": root}
    )
    log = (directory / "stdout.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(directory), "-e", str(directory / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    error = (directory / "error.log").read_text()
                    raise RuntimeError(f"nginx did not start: {error}") from None
                time.sleep(0.05)
        yield proc.pid, base
    finally:
        stop_gracefully(proc, timeout=5)
        log.close()


class PeakRss:
    """Samples the RSS of a process and its children every 20 ms; ``peak`` since ``reset``."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        total = 0
        for process in (self.process, *self.process.children(recursive=True)):
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self.current())
            except psutil.NoSuchProcess:
                return

    def reset(self) -> int:
        self.peak = self.current()
        return self.peak

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its children so far."""
        total = 0.0
        for process in (self.process, *self.process.children(recursive=True)):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
