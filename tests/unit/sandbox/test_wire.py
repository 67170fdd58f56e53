"""The prediction JSON passes the official client's strict parser."""

from __future__ import annotations

from replicate.client import Client
from replicate.prediction import Prediction as ClientPrediction

from reelhouse.sandbox.predictions import Prediction, Status
from reelhouse.sandbox.wire import prediction_json, timestamp


def make() -> Prediction:
    return Prediction(
        id="abc",
        model="sandbox/text-to-video",
        version="hidden",
        input={"prompt": "x"},
        created_at=1_700_000_000.5,
        queue_seconds=1,
        render_seconds=1,
    )


def test_timestamps_are_iso_utc_with_z() -> None:
    assert timestamp(1_700_000_000.5) == "2023-11-14T22:13:20.500000Z"
    assert timestamp(None) is None


def test_urls_hold_only_strings_and_point_back_at_the_sandbox() -> None:
    body = prediction_json(make(), "http://127.0.0.1:8010/")
    assert body["urls"] == {
        "get": "http://127.0.0.1:8010/v1/predictions/abc",
        "cancel": "http://127.0.0.1:8010/v1/predictions/abc/cancel",
        "web": "http://127.0.0.1:8010/p/abc",
    }
    assert body["data_removed"] is False


def test_every_status_parses_in_the_official_client() -> None:
    client = Client(api_token="r8_unit")
    prediction = make()
    prediction.start(1_700_000_001.0)
    prediction.succeed(1_700_000_003.0, ["http://127.0.0.1:8010/files/abc/output.mp4"])
    parsed = ClientPrediction(**prediction_json(prediction, "http://127.0.0.1:8010"))
    parsed._client = client
    assert parsed.status == "succeeded"
    assert parsed.output == ["http://127.0.0.1:8010/files/abc/output.mp4"]
    assert parsed.metrics == {"predict_time": 2.0}


def test_status_override_reports_starting_without_output() -> None:
    prediction = make()
    prediction.start(1_700_000_001.0)
    body = prediction_json(prediction, "http://x", status=Status.STARTING)
    assert body["status"] == "starting"
    assert body["output"] is None
