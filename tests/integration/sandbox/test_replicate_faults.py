"""The faults added with issue 3, over Replicate's protocol, seen through the official client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pydantic.v1
import pytest
from replicate.client import Client
from replicate.exceptions import ReplicateError

from reelhouse.sandbox.faults import SLOW_QUEUE_FACTOR
from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(60)

MODEL = "sandbox/text-to-video"
SMALL: dict[str, Any] = {"prompt": "replicate fault", "width": 160, "height": 90, "duration": 1}
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def raw_until(http: httpx.Client, prediction_id: str, statuses: set[str]) -> dict[str, Any]:
    """Poll the raw JSON (bounded) until its status is in ``statuses``."""
    for _ in range(600):
        body: dict[str, Any] = http.get(f"/v1/predictions/{prediction_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.02)
    raise AssertionError(f"{prediction_id} never reached {statuses}")


def test_slow_queue_stays_starting_longer_then_succeeds(
    client: Client, sandbox: RunningSandbox
) -> None:
    prediction = client.models.predictions.create(
        model=MODEL, input={**SMALL, "sandbox_fault": "slow_queue", "sandbox_delay": 0.2}
    )
    prediction.wait()
    assert prediction.status == "succeeded"
    control = sandbox.control(prediction.id)
    assert control["fault_plan"]["queue_factor"] == SLOW_QUEUE_FACTOR


def test_rate_limit_submit_refuses_two_identical_creates_then_accepts(
    client: Client, http: httpx.Client, sandbox: RunningSandbox
) -> None:
    job = {**SMALL, "prompt": "throttled", "sandbox_fault": "rate_limit_submit"}
    raw = http.post(f"/v1/models/{MODEL}/predictions", json={"input": job})
    assert raw.status_code == 429
    assert raw.headers["retry-after"] == "1"
    assert raw.headers["content-type"] == "application/problem+json"
    assert "throttled" in raw.json()["detail"]
    # the official client never retries a POST: the caller sees the 429
    with pytest.raises(ReplicateError) as raised:
        client.models.predictions.create(model=MODEL, input=job)
    assert raised.value.status == 429
    accepted = client.models.predictions.create(model=MODEL, input=job)
    control = sandbox.control(accepted.id)
    assert control["calls"]["throttled_submits"] == 2
    assert control["calls"]["create"] == 1


def test_server_error_poll_answers_500_then_503_then_recovers(
    client: Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model=MODEL, input={**SMALL, "sandbox_fault": "server_error_poll"}
    )
    with pytest.raises(ReplicateError) as raised:
        client.predictions.get(created.id)
    assert raised.value.status == 500
    # the 503 that follows is retried inside the client (GET is idempotent)
    assert client.predictions.get(created.id).id == created.id
    assert sandbox.control(created.id)["calls"]["poll"] == 3
    created.wait()
    assert created.status == "succeeded"


def test_unknown_status_reports_aborted_which_the_client_cannot_parse(
    client: Client, http: httpx.Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model=MODEL, input={**SMALL, "sandbox_fault": "unknown_status"}
    )
    body = raw_until(http, created.id, TERMINAL)
    assert body["status"] == "aborted"
    assert body["output"] is None
    with pytest.raises(pydantic.v1.ValidationError):
        client.predictions.get(created.id)
    assert sandbox.control(created.id)["reported_status"] == "aborted"


def test_cancel_race_the_cancel_finds_it_succeeded(
    client: Client, http: httpx.Client, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model=MODEL, input={**SMALL, "sandbox_fault": "cancel_race", "sandbox_delay": 4}
    )
    raw_until(http, created.id, {"processing"})
    canceled = client.predictions.cancel(created.id)
    assert canceled.status == "succeeded"
    assert canceled.output is not None
    assert httpx.get(canceled.output[0], timeout=30).content[4:8] == b"ftyp"
    control = sandbox.control(created.id)
    assert (control["status"], control["calls"]["cancel"]) == ("succeeded", 1)


def test_cancel_is_seen_by_the_provider(client: Client, sandbox: RunningSandbox) -> None:
    created = client.models.predictions.create(
        model=MODEL, input={**SMALL, "sandbox_fault": "never_starts"}
    )
    assert client.predictions.cancel(created.id).status == "canceled"
    control = sandbox.control(created.id)
    assert control["calls"] == {
        "create": 1,
        "poll": 0,
        "cancel": 1,
        "result": 0,
        "files": 0,
        "stalled_files": 0,
        "throttled_submits": 0,
    }
