"""What SIGINT and SIGTERM do to the launcher: stop gracefully once, force only when asked again.

A Ctrl-C in a terminal often reaches the launcher twice at once (the terminal signals the
whole foreground group, and ``uv run`` forwards the signal it got as well). So the first
signal starts a graceful stop (SIGTERM to every part, each given its stop timeout), and a
later one forces it (SIGKILL) only when it comes at least ``force_after`` seconds after the
first (``REELHOUSE_EMBEDDED__FORCE_AFTER_SECONDS``): a deliberate second Ctrl-C, not an
echo of the first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

FORCE_AFTER_SECONDS = 2.0


@dataclass
class ShutdownRequests:
    """Turns the signals the launcher receives into ``stop`` (graceful) and ``force`` (kill)."""

    force: Callable[[], None]
    force_after: float = FORCE_AFTER_SECONDS
    clock: Callable[[], float] = time.monotonic
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    first_at: float | None = None

    def on_signal(self, name: str) -> None:
        now = self.clock()
        if self.first_at is None:
            self.first_at = now
            log.info("embedded.stopping", signal=name, force_after=self.force_after)
            self.stop.set()
            return
        since = round(now - self.first_at, 3)
        if since < self.force_after:
            log.info("embedded.signal_ignored", signal=name, since_first=since)
            return
        log.warning("embedded.kill_requested", signal=name, since_first=since)
        self.force()
