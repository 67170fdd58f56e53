"""Partial downloads left by a killed worker are swept at start; live ones never are."""

from __future__ import annotations

import os
from pathlib import Path

from reelhouse.downloader.ingest import sweep_stale_downloads

NOW = 1_800_000_000.0


def touch(path: Path, *, age: float) -> Path:
    path.write_bytes(b"partial")
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_only_old_partial_downloads_are_removed(tmp_path: Path) -> None:
    stale = touch(tmp_path / "reelhouse-download-dead.part", age=7200)
    live = touch(tmp_path / "reelhouse-download-live.part", age=5)
    other = touch(tmp_path / "someone-elses-file.part", age=7200)

    removed = sweep_stale_downloads(tmp_path, older_than=3600, now=NOW)

    assert removed == 1
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
