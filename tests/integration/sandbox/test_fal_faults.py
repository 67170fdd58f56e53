"""Each ``sandbox_fault`` misbehaves over fal's queue protocol as documented, seen through the
official ``fal-client`` (run in its own process by ``RunningSandbox.fal``)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from reelhouse.sandbox.faults import MODEL_ERROR_MESSAGE, SLOW_QUEUE_DEPTH
from tests.integration.sandbox.conftest import FAL_KEY, RunningSandbox

pytestmark = pytest.mark.timeout(120)

VIDEO = "sandbox-fal/text-to-video"
SMALL: dict[str, Any] = {"prompt": "fal fault", "width": 160, "height": 90, "duration": 1}


def ok(outcome: dict[str, Any]) -> Any:
    assert "ok" in outcome, outcome
    return outcome["ok"]


def run_to_the_end(sandbox: RunningSandbox, **extra: Any) -> tuple[str, list[Any], Any]:
    """Submit, poll (bounded) until Completed, fetch the result: (request id, statuses, result)."""
    submitted, polled, result = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {**SMALL, **extra}},
        {"op": "poll", "until": ["Completed"], "with_logs": True, "max_polls": 300},
        {"op": "result"},
    )
    return ok(submitted)["request_id"], ok(polled), result


def test_slow_queue_counts_down_a_long_queue_then_succeeds(sandbox: RunningSandbox) -> None:
    request_id, seen, result = run_to_the_end(
        sandbox, sandbox_fault="slow_queue", sandbox_delay=0.4
    )
    positions = [status["position"] for status in seen if status["status"] == "Queued"]
    assert positions[0] == SLOW_QUEUE_DEPTH - 1
    assert positions == sorted(positions, reverse=True)
    assert len(set(positions)) > 3
    assert seen[-1]["status"] == "Completed"
    assert ok(result)["video"]["url"]
    assert sandbox.control(request_id)["fault_plan"]["queue_factor"] > 1


def test_rate_limit_submit_is_retried_by_the_client_until_accepted(
    sandbox: RunningSandbox,
) -> None:
    request_id, _, result = run_to_the_end(sandbox, sandbox_fault="rate_limit_submit")
    assert ok(result)["video"]["url"]
    control = sandbox.control(request_id)
    assert control["calls"]["throttled_submits"] == 2
    assert control["calls"]["create"] == 1


def test_rate_limit_submit_answers_429_with_retry_after(sandbox: RunningSandbox) -> None:
    body = {**SMALL, "prompt": "raw 429", "sandbox_fault": "rate_limit_submit"}
    headers = {"Authorization": f"Key {FAL_KEY}"}
    with httpx.Client(verify=sandbox.trusting_ca(), timeout=30) as plain:
        answers = [
            plain.post(f"{sandbox.fal_url}/{VIDEO}", json=body, headers=headers) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [429, 429, 200]
        assert answers[0].headers["retry-after"] == "1"
        assert answers[0].json()["error_type"] == "rate_limited"
        assert answers[0].json()["detail"]
        # a different input is a different job: it is throttled on its own
        other = plain.post(
            f"{sandbox.fal_url}/{VIDEO}", json={**body, "prompt": "other"}, headers=headers
        )
        assert other.status_code == 429
        plain.put(answers[2].json()["cancel_url"], headers=headers)


def test_server_error_poll_fails_the_first_polls_then_recovers(sandbox: RunningSandbox) -> None:
    request_id, seen, result = run_to_the_end(sandbox, sandbox_fault="server_error_poll")
    first = seen[0]
    # the runner's 503 carries x-fal-request-id: the client raises it to the caller
    assert first["error"] == "FalClientHTTPError"
    assert first["status_code"] == 503
    assert first["error_type"] == "runner_disconnected"
    assert first["headers"]["x-fal-request-id"] == request_id
    # the nginx 503 that follows is retried inside the client: the caller never sees it
    assert all("status" in status for status in seen[1:])
    assert seen[-1]["status"] == "Completed"
    assert ok(result)["video"]["url"]
    # the poll after handle.get() adds one; the retried nginx answer adds one
    assert sandbox.control(request_id)["calls"]["poll"] == len(seen) + 2


def test_model_error_completes_with_an_error_and_the_result_fails(
    sandbox: RunningSandbox,
) -> None:
    _, seen, result = run_to_the_end(sandbox, sandbox_fault="model_error")
    completed = seen[-1]
    assert completed["status"] == "Completed"
    assert completed["error"] == MODEL_ERROR_MESSAGE
    assert completed["error_type"] == "internal_server_error"
    assert result["error"] == "FalClientHTTPError"
    assert result["status_code"] == 500
    assert result["message"] == MODEL_ERROR_MESSAGE
    assert result["error_type"] == "internal_server_error"


def test_unknown_status_reports_failed_which_the_client_rejects(sandbox: RunningSandbox) -> None:
    submitted, polled = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {**SMALL, "sandbox_fault": "unknown_status"}},
        {"op": "poll", "until": ["Completed"], "with_logs": False, "max_polls": 60},
    )
    seen = ok(polled)
    assert seen[-1] == {"error": "ValueError", "message": "Unknown status: FAILED"}
    control = sandbox.control(ok(submitted)["request_id"])
    assert control["reported_status"] == "FAILED"
    assert control["status"] == "failed"


@pytest.mark.parametrize("fault", ["never_starts", "never_finishes"])
def test_stalled_requests_stay_put_until_canceled(sandbox: RunningSandbox, fault: str) -> None:
    stage = "Queued" if fault == "never_starts" else "InProgress"
    arguments = {**SMALL, "sandbox_fault": fault, "sandbox_delay": 0.1}
    submitted, reached, later, canceled, after = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": arguments},
        {"op": "poll", "until": [stage], "with_logs": True},
        {"op": "poll", "until": ["Completed"], "with_logs": True, "max_polls": 20},
        {"op": "cancel"},
        {"op": "status", "with_logs": False},
    )
    assert ok(reached)[-1]["status"] == stage
    assert {status["status"] for status in ok(later)} == {stage}
    assert ok(canceled) == "ok"
    assert ok(after)["status"] == "Completed"
    assert ok(after)["error_type"] == "request_cancelled"
    control = sandbox.control(ok(submitted)["request_id"])
    assert (control["status"], control["calls"]["cancel"]) == ("canceled", 1)


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("html_instead_of_media", "html"),
        ("truncated", "truncated"),
        ("expire_url", "expired"),
    ],
)
def test_file_faults_apply_to_fal_outputs(sandbox: RunningSandbox, fault: str, check: str) -> None:
    _, _, result = run_to_the_end(sandbox, sandbox_fault=fault, sandbox_expire_after=0.5)
    video = ok(result)["video"]
    if check == "html":
        served = httpx.get(video["url"], timeout=30)
        assert served.content.lstrip().lower().startswith(b"<!doctype html")
        assert len(served.content) != video["file_size"]
    elif check == "truncated":
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(video["url"], timeout=30)
    else:
        for _ in range(200):  # bounded: the URL dies within seconds
            served = httpx.get(video["url"], timeout=30)
            if served.status_code == 403:
                break
            time.sleep(0.05)
        assert served.status_code == 403
