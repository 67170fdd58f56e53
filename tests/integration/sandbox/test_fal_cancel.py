"""fal's cancel, every case, through the official client: queued, running, done, unknown, and
the race where the request completes at the very moment the cancel arrives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.sandbox.conftest import RunningSandbox

pytestmark = pytest.mark.timeout(120)

VIDEO = "sandbox-fal/text-to-video"
SMALL: dict[str, Any] = {"prompt": "fal cancel", "width": 160, "height": 90, "duration": 1}


def ok(outcome: dict[str, Any]) -> Any:
    assert "ok" in outcome, outcome
    return outcome["ok"]


def test_cancel_while_queued_removes_the_request(sandbox: RunningSandbox) -> None:
    submitted, canceled, status, result = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {**SMALL, "sandbox_delay": 20}},
        {"op": "cancel"},
        {"op": "status", "with_logs": True},
        {"op": "result"},
    )
    assert ok(canceled) == "ok"  # 202 CANCELLATION_REQUESTED
    assert ok(status)["status"] == "Completed"
    assert ok(status)["error_type"] == "request_cancelled"
    assert result["status_code"] == 400
    assert result["error_type"] == "request_cancelled"
    control = sandbox.control(ok(submitted)["request_id"])
    assert control["status"] == "canceled"
    assert control["started_at"] is None
    assert control["calls"]["cancel"] == 1


def test_cancel_while_running_stops_it(sandbox: RunningSandbox) -> None:
    # 2 s queued, then at least 2 s running: the cancel comes well inside that
    submitted, running, canceled, status = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": {**SMALL, "sandbox_delay": 4}},
        {"op": "poll", "until": ["InProgress"], "with_logs": False},
        {"op": "cancel"},
        {"op": "status", "with_logs": False},
    )
    assert ok(running)[-1]["status"] == "InProgress"
    assert ok(canceled) == "ok"
    assert ok(status)["error_type"] == "request_cancelled"
    control = sandbox.control(ok(submitted)["request_id"])
    assert control["status"] == "canceled"
    assert control["started_at"] is not None
    assert control["output"] is None


def test_cancel_after_completion_is_already_completed(sandbox: RunningSandbox) -> None:
    submitted, _, canceled, result = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": SMALL},
        {"op": "poll", "until": ["Completed"], "with_logs": False},
        {"op": "cancel"},
        {"op": "result"},
    )
    assert canceled["error"] == "FalClientHTTPError"
    assert canceled["status_code"] == 400
    assert canceled["body"] == {"status": "ALREADY_COMPLETED"}
    assert ok(result)["video"]["url"]
    control = sandbox.control(ok(submitted)["request_id"])
    assert (control["status"], control["calls"]["cancel"]) == ("succeeded", 1)


def test_cancel_of_an_unknown_request_is_not_found(sandbox: RunningSandbox) -> None:
    (canceled,) = sandbox.fal({"op": "cancel_by_id", "app": VIDEO, "request_id": "nosuchrequest"})
    assert canceled["status_code"] == 404
    assert canceled["body"] == {"status": "NOT_FOUND"}


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_cancel_race_the_request_completes_as_the_cancel_arrives(
    sandbox: RunningSandbox, mode: str
) -> None:
    arguments = {**SMALL, "sandbox_delay": 4, "sandbox_fault": "cancel_race"}
    submitted, running, canceled, result = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": arguments},
        {"op": "poll", "until": ["InProgress"], "with_logs": False},
        {"op": "cancel"},
        {"op": "result"},
        mode=mode,
    )
    assert ok(running)[-1]["status"] == "InProgress"
    # the provider confirms completion, not the cancel: that is what wins
    assert canceled["status_code"] == 400
    assert canceled["body"] == {"status": "ALREADY_COMPLETED"}
    video = ok(result)["video"]
    assert httpx.get(video["url"], timeout=30).content[4:8] == b"ftyp"
    control = sandbox.control(ok(submitted)["request_id"])
    assert (control["status"], control["calls"]["cancel"]) == ("succeeded", 1)


def test_cancel_race_while_still_queued_also_completes(sandbox: RunningSandbox) -> None:
    arguments = {**SMALL, "sandbox_delay": 20, "sandbox_fault": "cancel_race"}
    submitted, canceled, status = sandbox.fal(
        {"op": "submit", "app": VIDEO, "arguments": arguments},
        {"op": "cancel"},
        {"op": "status", "with_logs": False},
    )
    assert canceled["body"] == {"status": "ALREADY_COMPLETED"}
    assert ok(status)["status"] == "Completed"
    assert ok(status)["error"] is None
    assert sandbox.control(ok(submitted)["request_id"])["status"] == "succeeded"
