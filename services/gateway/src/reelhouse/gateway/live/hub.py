"""One gateway process's open streams: per-owner slots, and wake-ups from NATS notices.

Every gateway subscribes to ``gateway.projected.v1`` (core NATS); a notice wakes the
streams it concerns, which then read the database — the notice carries no data a stream
relies on, so a lost one costs at most one poll interval.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import structlog

from reelhouse.common.events import EventProjected

log = structlog.get_logger(__name__)


class TooManyStreamsError(Exception):
    """The owner already holds the most streams allowed on this process."""


class Listener:
    """One stream's wake-up flag; ``wait`` is always bounded."""

    def __init__(self, hub: LiveHub, *, owner_id: str, job_id: str | None) -> None:
        self.owner_id = owner_id
        self.job_id = job_id
        self._hub = hub
        self._woken = asyncio.Event()

    def wants(self, notice: EventProjected) -> bool:
        return notice.owner_id == self.owner_id and self.job_id in (None, notice.job_id)

    def wake(self) -> None:
        self._woken.set()

    @property
    def closing(self) -> bool:
        return self._hub.closing

    async def wait(self, seconds: float) -> bool:
        """Until woken or ``seconds`` pass; True when woken. Clears the flag."""
        if self._woken.is_set():
            self._woken.clear()
            return True
        try:
            await asyncio.wait_for(self._woken.wait(), timeout=max(seconds, 0.0))
        except TimeoutError:
            return False
        finally:
            self._woken.clear()
        return True

    def close(self) -> None:
        self._hub.release(self)


class LiveHub:
    def __init__(self, *, max_streams_per_owner: int) -> None:
        self._max = max_streams_per_owner
        self._listeners: set[Listener] = set()
        self._per_owner: Counter[str] = Counter()
        self.closing = False

    def open(self, *, owner_id: str, job_id: str | None) -> Listener:
        """A slot for a new stream; raises ``TooManyStreamsError`` past the owner's bound."""
        if self._per_owner[owner_id] >= self._max:
            raise TooManyStreamsError(owner_id)
        listener = Listener(self, owner_id=owner_id, job_id=job_id)
        self._listeners.add(listener)
        self._per_owner[owner_id] += 1
        return listener

    def release(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
            self._per_owner[listener.owner_id] -= 1
            if self._per_owner[listener.owner_id] <= 0:
                del self._per_owner[listener.owner_id]

    def open_streams(self, owner_id: str) -> int:
        return self._per_owner[owner_id]

    def notify(self, notice: EventProjected) -> None:
        for listener in self._listeners:
            if listener.wants(notice):
                listener.wake()

    def close(self) -> None:
        """Shutting down: every stream ends at its next step (and no new one waits)."""
        if not self.closing:
            log.info("sse.closing", streams=len(self._listeners))
        self.closing = True
        for listener in self._listeners:
            listener.wake()
