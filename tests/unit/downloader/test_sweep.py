"""Partial downloads left by a dead worker are swept at start; live ones never are.

A worker holds a lock on each of its temporary files; the kernel drops it when the worker
dies, however it dies (a crashed container restarted in place keeps its temp directory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelhouse.downloader.ingest import hold_temp_file, sweep_stale_downloads

NOW = 1_800_000_000.0


def touch(path: Path, *, age: float) -> Path:
    path.write_bytes(b"partial")
    os.utime(path, (NOW - age, NOW - age))
    return path


@contextmanager
def held(path: Path) -> Iterator[None]:
    """``path`` held as a live worker holds its temporary file."""
    fd = os.open(path, os.O_RDWR)
    try:
        assert hold_temp_file(fd)
        yield
    finally:
        os.close(fd)


def test_a_dead_workers_files_go_at_once_and_a_live_ones_stay(tmp_path: Path) -> None:
    dead = touch(tmp_path / "reelhouse-download-dead.part", age=5)
    live = touch(tmp_path / "reelhouse-download-live.part", age=7200)
    other = touch(tmp_path / "someone-elses-file.part", age=7200)

    with held(live):
        removed = sweep_stale_downloads(tmp_path, older_than=3600, now=NOW)

    assert removed == 1
    assert not dead.exists()
    assert live.exists()
    assert other.exists()


def test_a_live_workers_file_goes_once_it_let_go(tmp_path: Path) -> None:
    path = touch(tmp_path / "reelhouse-download-done.part", age=5)
    with held(path):
        assert sweep_stale_downloads(tmp_path, older_than=3600, now=NOW) == 0

    assert sweep_stale_downloads(tmp_path, older_than=3600, now=NOW) == 1
    assert not path.exists()


def test_a_file_swept_before_its_worker_held_it_is_not_held(tmp_path: Path) -> None:
    path = touch(tmp_path / "reelhouse-download-new.part", age=0)
    fd = os.open(path, os.O_RDWR)
    try:
        # another replica's start swept it between mkstemp and the lock
        assert sweep_stale_downloads(tmp_path, older_than=3600, now=NOW) == 1
        assert not hold_temp_file(fd)
    finally:
        os.close(fd)
