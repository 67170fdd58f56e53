"""The keys one assembly run stores its film and poster under.

Two runs of one assembly can overlap: a stopped assembler wakes up after the ack wait handed
its message to another. Re-encoding is not byte-for-byte repeatable across processes, so a
shared key would let the late run overwrite the film another run had already announced. Each
run therefore writes keys of its own beside the composition's base key (``outputs/cmp_1/0.mp4``
→ ``outputs/cmp_1/0.<run>.mp4``); JetStream's de-duplication of the announcement picks the one
that counts, and the others delete theirs (ADR 0014).
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath


def new_run() -> str:
    """A fresh run name: 8 hex digits, unique enough beside one composition's few runs."""
    return secrets.token_hex(4)


def run_key(base: str, run: str) -> str:
    """``base`` with ``run`` before its extension: ``posters/c/0.jpg`` → ``posters/c/0.<run>.jpg``."""
    path = PurePosixPath(base)
    return str(path.with_name(f"{path.stem}.{run}{path.suffix}"))


def is_run_key(key: str, base: str) -> bool:
    """Whether ``key`` is what ``run_key(base, some_run)`` gives."""
    path, candidate = PurePosixPath(base), PurePosixPath(key)
    if candidate.parent != path.parent or candidate.suffix != path.suffix:
        return False
    stem, _, run = candidate.stem.rpartition(".")
    return stem == path.stem and len(run) > 0 and run.isalnum()
