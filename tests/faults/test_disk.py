"""A worker's temporary directory full (ENOSPC): the downloader's while outputs arrive, the
assembler's while it joins a film.

The worker is restarted on a small tmpfs of its own; the fault fills it to the last byte
with a ballast file, clearing it removes the ballast. A write that fails for lack of space is
the machine's trouble, not the output's: the delivery is retried with backoff (never a failed
job, never a stored fragment), the partial file is removed at once, and the log says why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

TMPFS_SIZE = "4m"
HOLD_SECONDS = 8.0


@contextlib.contextmanager
def small_tmpfs(where: Path) -> Iterator[Path]:
    """A ``TMPFS_SIZE`` tmpfs mounted on ``where`` for the block (skips when it cannot be)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the downloader needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


class Ballast:
    """A file that keeps the filesystem full while started: whatever space frees up (a
    download's partial file removed) it takes at once, as a runaway log would."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ballast"
        self.directory = directory
        self.full_seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ballast", daemon=True)

    def _top_up(self, sink: BinaryIO) -> None:
        for size in (64 * 1024, 4096, 512):
            for _ in range(1024):  # bounded: more than the tmpfs holds
                try:
                    sink.write(b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break

    def _run(self) -> None:
        with self.path.open("wb", buffering=0) as sink:
            while not self._stop.is_set():
                self._top_up(sink)
                free = os.statvfs(self.directory)
                if free.f_bavail == 0:
                    self.full_seen += 1
                self._stop.wait(0.02)

    def start(self, system: DrillSystem) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self.full_seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.full_seen, "the ballast did not fill the tmpfs"

    def stop(self, system: DrillSystem) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Worker:
    """Where a worker meets a full disk: when to strike, the log line and the metric sample."""

    when: frozenset[str]
    logged: str
    counted: str


WORKERS = {
    # downloads of small outputs last milliseconds: strike while outputs are on their way
    "downloader": Worker(
        frozenset({"submitted", "running", "downloading"}),
        "download.disk_full",
        'reelhouse_downloads_total{code="disk_full",outcome="transient_error"}',
    ),
    # the assembler joins scenes in its temp dir: a full disk there delays the film
    "assembler": Worker(
        frozenset({"generating", "assembling"}),
        "assembly.disk_full",
        'reelhouse_assemblies_total{code="disk_full",method="",outcome="transient_error"}',
    ),
}


@pytest.mark.parametrize("role", list(WORKERS))
def test_temp_dir_full(role: str, system: DrillSystem, receiver: WebhookReceiver) -> None:
    worker = WORKERS[role]
    temp = system.workdir / "tmp" / f"{role}-small"
    with small_tmpfs(temp), system.reconfigured(role, REELHOUSE_TEMP_DIR=str(temp)):
        ballast = Ballast(temp)
        fault = Fault(
            f"{role} temp dir full ({TMPFS_SIZE} tmpfs) for {HOLD_SECONDS:.0f} s",
            inject=ballast.start,
            clear=ballast.stop,
            hold_seconds=HOLD_SECONDS,
            when=worker.when,
        )
        outcome = run_drill(system, fault, receiver=receiver)
        left = [p.name for p in temp.iterdir()]
        full = system.records(role, worker.logged)
        metrics = httpx.get(f"{system.roles[role].url}/metrics", timeout=10.0).text
    assert_clean(outcome, system)
    assert not left, f"files left in the {role}'s temp dir: {left}"
    assert full, f"no {worker.logged} line: the {role} never met the full disk"
    assert all(record.get("temp_dir") == str(temp) for record in full), full
    assert worker.counted in metrics, "the disk_full retries are not counted in the metrics"
