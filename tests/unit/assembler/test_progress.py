"""The film function's heartbeat, from a worker thread to the event loop's heartbeat gate."""

from __future__ import annotations

import asyncio

import pytest

from reelhouse.assembler.progress import Progress

pytestmark = pytest.mark.timeout(10)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_work_is_alive_until_it_stalls_longer_than_allowed() -> None:
    clock = Clock()
    progress = Progress(stall_seconds=30, clock=clock)
    clock.now += 30
    assert progress.alive()
    clock.now += 1
    assert not progress.alive()


async def test_a_beat_from_a_worker_thread_revives_the_work() -> None:
    clock = Clock()
    progress = Progress(stall_seconds=5, clock=clock)
    clock.now += 60
    assert not progress.alive()

    await asyncio.to_thread(progress.beat)

    assert progress.alive()
