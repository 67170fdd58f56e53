"""fal's wire shapes for each state of a prediction, and the submit throttle."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.sandbox import fal_wire
from reelhouse.sandbox.faults import FaultParams, plan_faults
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Prediction
from reelhouse.sandbox.submissions import SubmitThrottle, input_key

BASE = "https://127.0.0.1:8011"


def make(*faults: str, webhook: str | None = None) -> Prediction:
    return Prediction(
        id="r1",
        model="sandbox-fal/text-to-video",
        version="hidden",
        input={"prompt": "x", "width": 160, "height": 90},
        created_at=100.0,
        queue_seconds=10.0,
        render_seconds=1.0,
        plan=plan_faults(list(faults), FaultParams()),
        protocol="fal",
        webhook_url=webhook,
        gateway_request_id="g1" if webhook else None,
    )


def test_queue_position_counts_down_to_zero() -> None:
    prediction = make("slow_queue")
    positions = [fal_wire.queue_position(prediction, 100.0 + t) for t in range(0, 12)]
    assert positions[0] == prediction.plan.queue_depth - 1
    assert positions == sorted(positions, reverse=True)
    assert positions[-1] == 0


def test_submit_answer_has_the_urls_and_the_gateway_id_only_with_a_webhook() -> None:
    body = fal_wire.submit_json(make(), BASE, 100.0)
    assert body["status"] == "IN_QUEUE"
    assert body["status_url"] == f"{BASE}/sandbox-fal/text-to-video/requests/r1/status"
    assert "gateway_request_id" not in body
    assert fal_wire.submit_json(make(webhook="http://h/"), BASE, 100.0)["gateway_request_id"]


def test_status_shapes_through_the_lifecycle() -> None:
    prediction = make()
    code, body = fal_wire.status_json(prediction, BASE, now=100.0, with_logs=True)
    assert (code, body["status"], body["queue_position"]) == (202, "IN_QUEUE", 2)
    prediction.start(110.0)
    prediction.append_log("hello")
    code, body = fal_wire.status_json(prediction, BASE, now=110.0, with_logs=False)
    assert (code, body["status"], body["logs"]) == (202, "IN_PROGRESS", None)
    prediction.fail(111.0, "boom")
    code, body = fal_wire.status_json(prediction, BASE, now=111.0, with_logs=True)
    assert (code, body["status"], body["error"]) == (200, "COMPLETED", "boom")
    assert body["logs"][0]["message"] == "hello"
    assert body["metrics"] == {"inference_time": 1.0}


def test_unknown_status_reports_failed() -> None:
    prediction = make("unknown_status")
    prediction.fail(101.0, "gone")
    assert fal_wire.status_json(prediction, BASE, now=101.0, with_logs=False)[1]["status"] == (
        "FAILED"
    )


def test_result_and_webhook_of_a_succeeded_video(tmp_path: Path) -> None:
    outputs = OutputFiles(tmp_path, "http://files.test", secret=b"s")
    prediction = make(webhook="http://h/")
    prediction.start(101.0)
    path = outputs.path_for("r1", "output.mp4")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"12345")
    prediction.succeed(102.0, ["http://files.test/files/r1/output.mp4"], files=["output.mp4"])
    result = fal_wire.result_json(prediction, outputs)
    assert result is not None
    assert result["video"]["file_size"] == 5
    webhook = fal_wire.webhook_json(prediction, outputs)
    assert (webhook["status"], webhook["gateway_request_id"]) == ("OK", "g1")
    assert webhook["payload"] == result


@pytest.mark.parametrize(("duration", "units"), [(None, "10"), (42, "42")])
def test_result_of_music_is_an_audio_file_billed_by_the_second(
    tmp_path: Path, duration: int | None, units: str
) -> None:
    outputs = OutputFiles(tmp_path, "http://files.test", secret=b"s")
    prediction = make()
    prediction.model = "sandbox-fal/text-to-music"
    prediction.input = (
        {"prompt": "x"} if duration is None else {"prompt": "x", "duration": duration}
    )
    prediction.start(101.0)
    prediction.succeed(102.0, ["http://files.test/files/r1/output.m4a"], files=["output.m4a"])

    result = fal_wire.result_json(prediction, outputs)

    assert result is not None
    assert result["audio"]["content_type"] == "audio/mp4"
    assert result["audio"]["file_name"] == "output.m4a"
    assert fal_wire.billable_units(result, prediction) == units


def test_webhook_of_a_canceled_request_is_an_error(tmp_path: Path) -> None:
    prediction = make(webhook="http://h/")
    prediction.cancel(101.0)
    webhook = fal_wire.webhook_json(prediction, OutputFiles(tmp_path, "http://f", secret=b"s"))
    assert webhook["status"] == "ERROR"
    assert webhook["payload"]["error_type"] == fal_wire.CANCELED_ERROR_TYPE


@pytest.mark.parametrize("refuse_first", [0, 2])
def test_throttle_refuses_identical_submits_then_admits(refuse_first: int) -> None:
    throttle = SubmitThrottle()
    key = input_key("m", {"a": 1, "b": 2})
    assert key == input_key("m", {"b": 2, "a": 1})
    answers = [throttle.admit(key, refuse_first=refuse_first) for _ in range(4)]
    assert answers == [False] * refuse_first + [True] * (4 - refuse_first)
    assert throttle.refused(key) == refuse_first
    assert throttle.admit(input_key("m", {"a": 2}), refuse_first=refuse_first) is not bool(
        refuse_first
    )
