"""Progress from a worker thread to the event loop: the film function's heartbeat.

``beat()`` is called from any thread (PyAV runs in one); it only stores a monotonic
timestamp, a single assignment, so no lock and no call into the event loop is needed. The
async side reads ``alive()`` before each JetStream in-progress heartbeat: a film whose
encoder stopped reporting stops being kept alive, and JetStream redelivers it after its ack
wait instead of waiting on a stuck codec forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(
        self, *, stall_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        """Thread-safe: the work moved on."""
        self._last = self._clock()

    def alive(self) -> bool:
        """Whether the work reported progress within ``stall_seconds``."""
        return self._clock() - self._last <= self.stall_seconds
