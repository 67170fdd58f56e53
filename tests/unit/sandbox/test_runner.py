"""The runner drives predictions along the clock; a fake clock makes every step explicit."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from reelhouse.sandbox.faults import FaultParams, plan_faults
from reelhouse.sandbox.models import RenderJob
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Status
from reelhouse.sandbox.render import ProgressCallback, Rendered, RenderStoppedError, StopCheck
from reelhouse.sandbox.runner import Runner, progress_line

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outputs(tmp_path: Path) -> OutputFiles:
    return OutputFiles(tmp_path, "http://sandbox.test", secret=b"unit-secret")


@pytest.fixture
async def runner(clock: FakeClock, outputs: OutputFiles) -> AsyncIterator[Runner]:
    executor = ThreadPoolExecutor(max_workers=2)
    runner = Runner(clock=clock, executor=executor, outputs=outputs, output_ttl_seconds=3600)
    yield runner
    await runner.aclose()
    executor.shutdown(wait=True, cancel_futures=True)


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


async def test_prediction_walks_starting_processing_succeeded_on_the_clock(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    prediction = make(clock)
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE - 0.5)
    assert status_of(prediction) is Status.STARTING
    await clock.advance(0.5)
    assert status_of(prediction) is Status.PROCESSING
    assert prediction.started_at == START + QUEUE
    await eventually(lambda: "100%" in prediction.logs)
    await clock.advance(RENDER - 0.5)
    assert status_of(prediction) is Status.PROCESSING  # the render is done, its minimum time is not
    await clock.advance(0.5)
    await eventually(lambda: prediction.is_terminal)
    assert status_of(prediction) is Status.SUCCEEDED
    assert prediction.predict_time == pytest.approx(RENDER)
    assert prediction.output is not None
    assert len(prediction.output) == 1
    assert prediction.output[0].startswith("http://sandbox.test/files/p1/output.mp4?")
    assert "Using seed: 1" in prediction.logs
    assert progress_line(4, 4) in prediction.logs
    assert (outputs.root / "p1" / "output.mp4").read_bytes() == b"fake media"


async def test_output_url_lives_for_the_output_ttl(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock)
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE)
    await clock.advance(RENDER)
    await eventually(lambda: prediction.is_terminal)
    assert prediction.output is not None
    exp = int(parse_qs(urlsplit(prediction.output[0]).query)["exp"][0])
    assert exp == math.ceil(START + QUEUE + RENDER + 3600)


async def test_expire_url_fault_shortens_the_url_lifetime(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock, "expire_url", expire_after=5)
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE)
    await clock.advance(RENDER)
    await eventually(lambda: prediction.is_terminal)
    assert prediction.output is not None
    exp = int(parse_qs(urlsplit(prediction.output[0]).query)["exp"][0])
    assert exp == math.ceil(START + QUEUE + RENDER + 5)


async def test_model_error_fault_ends_failed_with_an_error(
    clock: FakeClock, runner: Runner
) -> None:
    prediction = make(clock, "model_error")
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE)
    assert status_of(prediction) is Status.PROCESSING
    await clock.advance(RENDER)
    assert status_of(prediction) is Status.FAILED
    assert prediction.error
    assert prediction.output is None


async def test_never_starts_stays_starting_until_canceled(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock, "never_starts")
    task = runner.launch(prediction, instant_job())
    for _ in range(5):
        await clock.advance(1000)
    assert status_of(prediction) is Status.STARTING
    assert prediction.cancel(clock.now())
    await asyncio.wait_for(task, 5)
    assert status_of(prediction) is Status.CANCELED


async def test_never_finishes_stays_processing_until_canceled(
    clock: FakeClock, runner: Runner
) -> None:
    prediction = make(clock, "never_finishes")
    task = runner.launch(prediction, instant_job())
    for _ in range(5):
        await clock.advance(1000)
    assert status_of(prediction) is Status.PROCESSING
    prediction.cancel(clock.now())
    await asyncio.wait_for(task, 5)
    assert status_of(prediction) is Status.CANCELED


async def test_cancel_while_queued_never_renders(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    prediction = make(clock)
    task = runner.launch(prediction, instant_job())
    await clock.advance(QUEUE / 2)
    prediction.cancel(clock.now())
    await asyncio.wait_for(task, 5)
    await clock.advance(QUEUE + RENDER)
    assert status_of(prediction) is Status.CANCELED
    assert prediction.started_at is None
    assert not (outputs.root / "p1").exists()


async def test_cancel_during_render_stops_it_and_keeps_no_files(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    started: list[bool] = []
    prediction = make(clock)
    task = runner.launch(prediction, blocking_job(started))
    await clock.advance(QUEUE)
    await eventually(lambda: bool(started))
    prediction.cancel(clock.now())
    await asyncio.wait_for(task, 5)
    assert status_of(prediction) is Status.CANCELED
    assert prediction.output is None
    assert not (outputs.root / "p1").exists()


async def test_a_failing_render_fails_the_prediction(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock)
    task = runner.launch(prediction, failing_job())
    await clock.advance(QUEUE)
    await asyncio.wait_for(task, 5)
    assert status_of(prediction) is Status.FAILED
    assert prediction.error is not None
    assert "disk full" in prediction.error


async def test_sweep_removes_data_after_retention(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    prediction = make(clock)
    store = PredictionStore()
    store.add(prediction)
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE)
    await clock.advance(RENDER)
    await eventually(lambda: prediction.is_terminal)
    assert runner.sweep(store, now=clock.now() + 10, retention_seconds=60) == 0
    assert runner.sweep(store, now=clock.now() + 61, retention_seconds=60) == 1
    assert prediction.data_removed
    assert prediction.output is None
    assert not (outputs.root / "p1").exists()


def test_progress_line_has_the_tqdm_shape_the_client_parses() -> None:
    assert progress_line(36, 72) == " 50%|#####     | 36/72"
