"""Stopping a server process the tests started, and reading the end of its log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def stop_gracefully(proc: subprocess.Popen[bytes], *, timeout: float) -> int:
    """SIGTERM, then SIGKILL when it outlives ``timeout``; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


def log_tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def log_records(path: Path, event: str) -> list[dict[str, Any]]:
    """The JSON log records named ``event`` in the log at ``path``, oldest first."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    records = (json.loads(line) for line in lines if line.startswith("{") and f'"{event}"' in line)
    return [record for record in records if record.get("event") == event]
