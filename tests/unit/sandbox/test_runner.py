"""The runner drives predictions along the clock; a fake clock makes every step explicit."""

from __future__ import annotations

import asyncio
import math
from urllib.parse import parse_qs, urlsplit

import pytest

from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import PredictionStore, Status
from reelhouse.sandbox.runner import Runner, progress_line
from tests.unit.sandbox.fakes import (
    QUEUE,
    RENDER,
    START,
    FakeClock,
    blocking_job,
    eventually,
    failing_job,
    instant_job,
    make,
    status_of,
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


async def test_cancel_race_a_cancel_makes_it_succeed_at_once(
    clock: FakeClock, runner: Runner
) -> None:
    prediction = make(clock, "cancel_race")
    runner.launch(prediction, instant_job())
    await clock.advance(0.1)  # still queued; the clock never reaches the queue's end
    canceled = await asyncio.wait_for(runner.cancel(prediction), timeout=30)
    assert canceled is False
    assert status_of(prediction) is Status.SUCCEEDED
    assert prediction.output is not None
    assert clock.now() == START + 0.1


async def test_cancel_without_the_race_cancels(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock)
    runner.launch(prediction, instant_job())
    assert await runner.cancel(prediction) is True
    assert status_of(prediction) is Status.CANCELED
    assert await runner.cancel(prediction) is False


async def test_unknown_status_ends_failed_after_the_queue(clock: FakeClock, runner: Runner) -> None:
    prediction = make(clock, "unknown_status")
    runner.launch(prediction, instant_job())
    await clock.advance(QUEUE)
    await eventually(lambda: prediction.is_terminal)
    assert status_of(prediction) is Status.FAILED
    assert prediction.started_at is None
