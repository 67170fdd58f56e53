"""Heartbeats at a bounded rate: the work calls ``beat()`` often, the caller hears it seldom."""

from __future__ import annotations

import time
from collections.abc import Callable

BEAT_INTERVAL = 1.0  # seconds between two calls of the caller's heartbeat


class Pulse:
    def __init__(
        self, heartbeat: Callable[[], None] | None, interval: float = BEAT_INTERVAL
    ) -> None:
        self._heartbeat = heartbeat
        self._interval = interval
        self._last = time.monotonic()

    def beat(self) -> None:
        """Call the heartbeat if ``interval`` of work went by since the last call."""
        if self._heartbeat is None:
            return
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._heartbeat()
