"""The prediction state machine: forward only, terminal states never change."""

from __future__ import annotations

import pytest

from reelhouse.sandbox.predictions import (
    Prediction,
    PredictionStore,
    Status,
    new_prediction_id,
)


def make(prediction_id: str = "p1", created_at: float = 100.0) -> Prediction:
    return Prediction(
        id=prediction_id,
        model="sandbox/text-to-video",
        version="hidden",
        input={"prompt": "x"},
        created_at=created_at,
        queue_seconds=1.0,
        render_seconds=2.0,
    )


def test_new_prediction_starts_in_starting_with_nothing_done() -> None:
    prediction = make()
    assert prediction.status is Status.STARTING
    assert prediction.started_at is None
    assert prediction.predict_time is None
    assert not prediction.finished.is_set()


def test_happy_path_records_times_and_output() -> None:
    prediction = make()
    assert prediction.start(101.0)
    assert prediction.succeed(103.5, ["http://x/files/p1/output.mp4"])
    assert prediction.status is Status.SUCCEEDED
    assert prediction.predict_time == pytest.approx(2.5)
    assert prediction.output == ["http://x/files/p1/output.mp4"]
    assert prediction.finished.is_set()
    assert prediction.stop_requested.is_set()


def test_cannot_succeed_before_processing() -> None:
    prediction = make()
    assert not prediction.succeed(101.0, ["u"])
    assert prediction.status is Status.STARTING


def test_cannot_start_twice() -> None:
    prediction = make()
    assert prediction.start(101.0)
    assert not prediction.start(102.0)
    assert prediction.started_at == 101.0


@pytest.mark.parametrize("started", [False, True])
def test_cancel_from_non_terminal_status_cancels(started: bool) -> None:
    prediction = make()
    if started:
        prediction.start(101.0)
    assert prediction.cancel(102.0)
    assert prediction.status is Status.CANCELED
    assert prediction.completed_at == 102.0
    assert prediction.stop_requested.is_set()


@pytest.mark.parametrize("end", ["succeeded", "failed", "canceled"])
def test_terminal_prediction_never_changes(end: str) -> None:
    prediction = make()
    prediction.start(101.0)
    if end == "succeeded":
        prediction.succeed(102.0, ["u"])
    elif end == "failed":
        prediction.fail(102.0, "boom")
    else:
        prediction.cancel(102.0)
    assert not prediction.cancel(200.0)
    assert not prediction.fail(200.0, "late")
    assert not prediction.succeed(200.0, ["v"])
    assert prediction.status == end
    assert prediction.completed_at == 102.0


def test_remove_data_clears_input_output_and_logs() -> None:
    prediction = make()
    prediction.start(101.0)
    prediction.append_log("hello")
    prediction.succeed(102.0, ["u"])
    prediction.remove_data()
    assert prediction.data_removed
    assert (prediction.input, prediction.output, prediction.logs) == ({}, None, "")


def test_store_pages_newest_first_with_next_offset() -> None:
    store = PredictionStore()
    for index in range(5):
        store.add(make(f"p{index}", created_at=float(index)))
    first, following = store.page(offset=0, limit=2)
    assert [p.id for p in first] == ["p4", "p3"]
    assert following == 2
    last, following = store.page(offset=4, limit=2)
    assert [p.id for p in last] == ["p0"]
    assert following is None


def test_prediction_ids_are_replicate_shaped_and_unique() -> None:
    ids = {new_prediction_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 26 and i.isalnum() and i.islower() for i in ids)
