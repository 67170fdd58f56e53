"""After a restart, unfinished predictions carry on along their own wall-clock times."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reelhouse.sandbox.models import find_model, seed_of, with_seed
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.persistence import PredictionJournal
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Status
from reelhouse.sandbox.recovery import CANNOT_RESUME, restore_predictions
from reelhouse.sandbox.runner import Runner
from tests.unit.sandbox.fakes import (
    QUEUE,
    RENDER,
    START,
    FakeClock,
    eventually,
    instant_job,
    make,
    status_of,
)


def created_earlier(clock: FakeClock, seconds_ago: float, *faults: str) -> Prediction:
    prediction = make(clock, *faults)
    prediction.created_at = clock.now() - seconds_ago
    return prediction


async def test_a_starting_prediction_waits_only_for_the_rest_of_its_queue_time(
    clock: FakeClock, runner: Runner
) -> None:
    prediction = created_earlier(clock, QUEUE - 0.25)
    runner.resume(prediction, instant_job())
    await clock.advance(0.2)
    assert status_of(prediction) is Status.STARTING
    await clock.advance(0.05)
    assert status_of(prediction) is Status.PROCESSING
    assert prediction.started_at == START + 0.25


async def test_a_starting_prediction_past_its_queue_time_starts_at_once(
    clock: FakeClock, runner: Runner
) -> None:
    prediction = created_earlier(clock, 600)
    runner.resume(prediction, instant_job())
    await clock.advance(0)
    assert status_of(prediction) is Status.PROCESSING


async def test_an_interrupted_render_is_redone_and_ends_on_the_original_clock(
    clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    prediction = created_earlier(clock, QUEUE + 0.5)
    prediction.start(START - 0.5)
    stale = outputs.dir_for("p1") / ".output.mp4.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a render")

    runner.resume(prediction, instant_job())
    await eventually(lambda: "100%" in prediction.logs)
    assert not stale.exists()
    assert "rendering again" in prediction.logs
    await clock.advance(RENDER - 0.5 - 0.1)
    assert status_of(prediction) is Status.PROCESSING
    await clock.advance(0.1)
    await eventually(lambda: prediction.is_terminal)
    assert status_of(prediction) is Status.SUCCEEDED
    assert prediction.started_at == START - 0.5
    assert (outputs.root / "p1" / "output.mp4").read_bytes() == b"fake media"


async def test_a_resumed_stall_still_waits_for_cancel(clock: FakeClock, runner: Runner) -> None:
    prediction = created_earlier(clock, 600, "never_finishes")
    prediction.start(START - 500)
    task = runner.resume(prediction, instant_job())
    await clock.advance(1000)
    assert status_of(prediction) is Status.PROCESSING
    prediction.cancel(clock.now())
    await asyncio.wait_for(task, 5)
    assert status_of(prediction) is Status.CANCELED


def test_the_seed_is_drawn_once_so_a_rebuilt_render_matches() -> None:
    spec = find_model("sandbox/text-to-image")
    assert spec is not None
    raw = {"prompt": "same picture", "width": 64, "height": 64}
    params = with_seed(spec.input_model.model_validate(raw))
    seed = seed_of(params)
    assert seed is not None
    assert with_seed(params) is params
    assert spec.build_job(params).description == spec.rebuild_job(raw, seed).description


async def test_restore_resumes_unfinished_keeps_terminal_and_fails_unresumable(
    tmp_path: Path, clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    journal = PredictionJournal(tmp_path / "predictions", outputs)
    earlier = PredictionStore(save=journal.save)
    done = make(clock)
    done.id = "done"
    earlier.add(done)
    done.cancel(clock.now())
    unknown = make(clock)
    unknown.id = "unknown"
    unknown.model = "sandbox/gone"
    earlier.add(unknown)
    image = make(clock)
    image.id = "image"
    image.model = "sandbox/text-to-image"
    image.input = {"prompt": "tiny", "width": 64, "height": 64}
    earlier.add(image)

    store = PredictionStore(save=journal.save)
    resumed = restore_predictions(journal, store, runner, now=clock.now())

    assert resumed == 1
    by_id = {p.id: p for p in store.all()}
    assert by_id["done"].status is Status.CANCELED
    assert by_id["unknown"].status is Status.FAILED
    assert by_id["unknown"].error == CANNOT_RESUME
    await clock.advance(QUEUE)
    await eventually(lambda: "100%" in by_id["image"].logs)
    await clock.advance(RENDER)
    await eventually(lambda: by_id["image"].is_terminal)
    assert status_of(by_id["image"]) is Status.SUCCEEDED
    # the outcome is on disk too
    assert {p.id: p.status for p in journal.load()} == {
        "done": Status.CANCELED,
        "unknown": Status.FAILED,
        "image": Status.SUCCEEDED,
    }


async def test_retention_sweeps_reloaded_predictions_and_saves_it(
    tmp_path: Path, clock: FakeClock, runner: Runner, outputs: OutputFiles
) -> None:
    journal = PredictionJournal(tmp_path / "predictions", outputs)
    earlier = PredictionStore(save=journal.save)
    prediction = make(clock)
    earlier.add(prediction)
    prediction.start(clock.now())
    output = outputs.path_for("p1", "output.mp4")
    output.parent.mkdir(parents=True)
    output.write_bytes(b"fake media")
    url = outputs.url_for("p1", "output.mp4", expires_at=clock.now() + 60)
    prediction.succeed(clock.now(), [url], files=["output.mp4"], expires_at=clock.now() + 60)

    store = PredictionStore(save=journal.save)
    restore_predictions(journal, store, runner, now=clock.now())
    assert runner.sweep(store, now=clock.now() + 30, retention_seconds=60) == 0
    assert runner.sweep(store, now=clock.now() + 61, retention_seconds=60) == 1

    assert not output.exists()
    [reloaded] = journal.load()
    assert reloaded.data_removed
    assert (reloaded.output, reloaded.logs, reloaded.input) == (None, "", {})
