"""Issue 3's table, through the whole stack: every sandbox fault, over both provider protocols.

The official `replicate` and `fal-client` packages run inside the dispatcher against the
sandbox; the jobs go through the real broker and end in the documented state and code.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import submit, wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

MODELS = ("sandbox/text-to-video", "sandbox-fal/text-to-video")

SUCCEEDS = (
    None,
    "slow_queue",
    "rate_limit_submit",
    "server_error_poll",
    "duplicate_webhook",
    "out_of_order_webhook",
    "no_webhook",
    "bad_signature",
)
FAILS = {
    "model_error": "provider_model_error",
    "unknown_status": "provider_protocol_error",
    "never_starts": "provider_timeout",
    "never_finishes": "provider_timeout",
    "html_instead_of_media": "not_media",
    "truncated": "truncated",
}
DEADLINE_SECONDS = 12


@pytest.fixture(scope="module")
def jobs(system: EmbeddedSystem) -> dict[tuple[str, str | None], str]:
    """Every (model, fault) job submitted up front, so they run side by side."""
    submitted: dict[tuple[str, str | None], str] = {}
    with system.client() as client:
        for model in MODELS:
            for fault in (*SUCCEEDS, *FAILS):
                job_input: dict[str, Any] = {
                    "prompt": f"fox {fault}",
                    "duration": 1,
                    "width": 160,
                    "height": 90,
                    "sandbox_delay": 1,
                }
                if fault is not None:
                    job_input["sandbox_fault"] = fault
                response = client.post(
                    "/v1/generations",
                    json={"model": model, "input": job_input, "deadline_seconds": DEADLINE_SECONDS},
                )
                assert response.status_code == 202, response.text
                submitted[(model, fault)] = response.json()["id"]
    return submitted


def _subjects(client: httpx.Client, job_id: str) -> list[str]:
    events = client.get(f"/v1/generations/{job_id}/events").json()
    items = events["data"] if isinstance(events, dict) else events
    return [e.get("subject") or e.get("type") for e in items]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fault", SUCCEEDS)
def test_recoverable_faults_end_succeeded_with_exactly_one_output(
    system: EmbeddedSystem, jobs: dict[tuple[str, str | None], str], model: str, fault: str | None
) -> None:
    with system.client() as client:
        final, _ = wait_final(client, jobs[(model, fault)], timeout=120)
        subjects = _subjects(client, final["id"])
    assert final["status"] == "succeeded", final
    assert len(final["outputs"]) == 1
    assert final["outputs"][0]["content_type"] == "video/mp4"
    # one provider result and one download, however many webhooks and polls there were
    assert sum("output" in str(s) for s in subjects) == 1, subjects
    assert sum("stored" in str(s) for s in subjects) == 1, subjects
    [attempt] = final["attempts"]
    view = system.provider_view(attempt["provider_request_id"])
    assert view["calls"]["create"] >= 1


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(("fault", "code"), sorted(FAILS.items()))
def test_unrecoverable_faults_fail_with_the_documented_code(
    system: EmbeddedSystem,
    jobs: dict[tuple[str, str | None], str],
    model: str,
    fault: str,
    code: str,
) -> None:
    with system.client() as client:
        final, _ = wait_final(client, jobs[(model, fault)], timeout=120)
    assert final["status"] == "failed", final
    assert final["outputs"] == []
    error = final["error"]
    assert error["code"] == code, error
    assert error["message"]
    for field in ("stage", "retryable", "provider_detail"):
        assert field in error
    if code == "provider_model_error":
        assert error["provider_detail"], "the provider's own message must reach the user"
    if code == "provider_timeout":
        request_id = final["attempts"][-1]["provider_request_id"]
        assert system.provider_view(request_id)["calls"]["cancel"] >= 1, "provider never told"


@pytest.mark.parametrize("model", MODELS)
def test_cancel_reaches_the_provider_and_ends_canceled(system: EmbeddedSystem, model: str) -> None:
    with system.client() as client:
        job = submit(client, model, {"prompt": "fox", "duration": 1, "sandbox_delay": 40})
        wait_submitted(client, job["id"])
        response = client.post(f"/v1/generations/{job['id']}/cancel")
        assert response.status_code == 202
        assert response.json()["cancel_requested"] is True
        final, _ = wait_final(client, job["id"], timeout=60)
    assert final["status"] == "canceled", final
    assert final["outputs"] == []
    request_id = final["attempts"][-1]["provider_request_id"]
    assert system.provider_view(request_id)["calls"]["cancel"] >= 1


@pytest.mark.parametrize("model", MODELS)
def test_cancel_racing_completion_ends_one_way_only(system: EmbeddedSystem, model: str) -> None:
    with system.client() as client:
        job = submit(
            client,
            model,
            {"prompt": "fox", "duration": 1, "sandbox_delay": 30, "sandbox_fault": "cancel_race"},
        )
        wait_submitted(client, job["id"])
        client.post(f"/v1/generations/{job['id']}/cancel")
        final, _ = wait_final(client, job["id"], timeout=60)
        subjects = _subjects(client, final["id"])
    assert final["status"] in {"canceled", "succeeded"}
    if final["status"] == "canceled":
        assert final["outputs"] == [], "a canceled job must never show a stored file"
        assert not any("stored" in str(s) for s in subjects)
    else:
        assert len(final["outputs"]) == 1
        assert not any("canceled" in str(s) for s in subjects)


def test_forged_webhook_is_refused_and_changes_nothing(system: EmbeddedSystem) -> None:
    with system.client() as client:
        job = submit(client, "sandbox/text-to-video", {"prompt": "fox", "sandbox_delay": 30})
        wait_submitted(client, job["id"])
        before = client.get(f"/v1/generations/{job['id']}/events").json()
        forged = httpx.post(
            f"{system.dispatcher}/webhooks/sandbox/{job['id']}",
            content=b'{"id":"x","status":"succeeded","output":["https://evil.invalid/x.mp4"]}',
            headers={
                "webhook-id": "msg_forged",
                "webhook-timestamp": "1700000000",
                "webhook-signature": "v1,AAAA",
            },
            timeout=10.0,
        )
        after = client.get(f"/v1/generations/{job['id']}/events").json()
        current = client.get(f"/v1/generations/{job['id']}").json()
    assert forged.status_code == 401
    assert after == before
    assert current["status"] in {"submitted", "running"}


def wait_submitted(client: httpx.Client, job_id: str) -> None:
    """Until the provider has the job (so a cancel has something to cancel)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/generations/{job_id}").json()
        if job["attempts"] and job["attempts"][-1]["provider_request_id"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the provider")
