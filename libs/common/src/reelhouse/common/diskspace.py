"""A worker's temporary directory running out of space: the machine's trouble, not the job's.

The downloader and the assembler write each piece of work to a temporary folder of its own and
remove it on every path. A write refused for lack of space or quota (ENOSPC, EDQUOT) is the
retryable ``disk_full`` (503 in the catalogue): a later delivery finds the space freed. Any
other ``OSError`` is left to the caller.
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import structlog

from reelhouse.common.errors import TransientError

log = structlog.get_logger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_full_error(exc: OSError, temp_dir: Path | None, *, event: str) -> TransientError | None:
    """``disk_full`` when ``exc`` is a write refused for space in ``temp_dir`` (None: the
    system's), logged as ``event``; None for any other error."""
    if exc.errno not in DISK_FULL_ERRNOS:
        return None
    where = str(temp_dir or tempfile.gettempdir())
    log.warning(event, temp_dir=where, error=str(exc))
    return TransientError("disk_full", f"No space left in the temporary directory {where}.")
