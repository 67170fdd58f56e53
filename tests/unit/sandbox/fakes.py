"""Fakes for the runner tests: a clock that moves only when told, and render jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from reelhouse.sandbox.faults import FaultParams, plan_faults
from reelhouse.sandbox.models import RenderJob
from reelhouse.sandbox.predictions import Prediction, Status
from reelhouse.sandbox.render import ProgressCallback, Rendered, RenderStoppedError, StopCheck

START = 1_700_000_000.0
QUEUE = 1.0
RENDER = 2.0


class FakeClock:
    """Time moves only when the test calls ``advance``."""

    def __init__(self) -> None:
        self.t = START
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.t + seconds, waiter)
        self._sleepers.append(entry)
        try:
            await waiter
        finally:
            self._sleepers.remove(entry)

    async def advance(self, seconds: float) -> None:
        await self._let_tasks_run()
        self.t += seconds
        for deadline, waiter in list(self._sleepers):
            if deadline <= self.t and not waiter.done():
                waiter.set_result(None)
        await self._let_tasks_run()

    @staticmethod
    async def _let_tasks_run() -> None:
        for _ in range(10):
            await asyncio.sleep(0)


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until ``condition`` holds: renders finish in a worker thread."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def status_of(prediction: Prediction) -> Status:
    """The current status (a call, so the type checker does not assume it cannot change)."""
    return prediction.status


def instant_job() -> RenderJob:
    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        target.parent.mkdir(parents=True, exist_ok=True)
        for done in range(1, 5):
            progress(done, 4)
        target.write_bytes(b"fake media")
        return Rendered(path=target, content_type="video/mp4", size=10)

    return RenderJob(output_name="output.mp4", description=("Using seed: 1",), run=run)


def blocking_job(started: list[bool]) -> RenderJob:
    """A render that runs until it is told to stop (bounded, so a bug cannot hang the test)."""

    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_name(".partial").write_bytes(b"half")
        started.append(True)
        for _ in range(2000):
            if should_stop():
                raise RenderStoppedError
            time.sleep(0.005)
        raise AssertionError("the render was never told to stop")

    return RenderJob(output_name="output.mp4", description=(), run=run)


def failing_job() -> RenderJob:
    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        raise OSError("disk full")

    return RenderJob(output_name="output.mp4", description=(), run=run)


def make(clock: FakeClock, *faults: str, expire_after: float = 1.0) -> Prediction:
    return Prediction(
        id="p1",
        model="sandbox/text-to-video",
        version="hidden",
        input={"prompt": "x"},
        created_at=clock.now(),
        queue_seconds=QUEUE,
        render_seconds=RENDER,
        plan=plan_faults(list(faults), FaultParams(expire_after_seconds=expire_after)),
    )
