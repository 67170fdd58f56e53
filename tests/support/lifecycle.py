"""Stopping a server process the tests started, and reading the end of its log."""

from __future__ import annotations

import subprocess
from pathlib import Path


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
