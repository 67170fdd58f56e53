"""When a retry re-downloads the old job's provider output instead of generating again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from reelhouse.common.events import GenerationOutputReady, OutputFile, utcnow
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs.retry import redownload_outputs
from reelhouse.gateway.settings import RetrySettings

NOW = utcnow()
POLICY = RetrySettings(redownload_window_seconds=3600, redownload_margin_seconds=60)


def failed_job(stage: str = "download", code: str = "not_media") -> Job:
    return Job(
        id="gen_" + "a" * 32,
        status="failed",
        error={"stage": stage, "code": code, "message": "m", "retryable": False},
    )


def output(*, age: float = 10, expires_in: float | None = 600) -> dict[str, Any]:
    event = GenerationOutputReady(
        event_id="x:output",
        job_id="gen_" + "a" * 32,
        occurred_at=NOW - timedelta(seconds=age),
        provider="sandbox",
        provider_request_id="pred-1",
        outputs=[
            OutputFile(
                index=0,
                url="https://p.test/o.mp4",
                expires_at=None if expires_in is None else NOW + timedelta(seconds=expires_in),
            )
        ],
    )
    payload: dict[str, Any] = json.loads(event.model_dump_json())
    return payload


def test_a_fresh_output_of_a_failed_download_is_fetched_again() -> None:
    found = redownload_outputs(failed_job(), output(), policy=POLICY, now=NOW)

    assert found is not None
    assert [o.url for o in found.outputs] == ["https://p.test/o.mp4"]


def test_an_output_without_a_stated_expiry_is_fresh_within_the_window() -> None:
    assert redownload_outputs(failed_job(), output(expires_in=None), policy=POLICY, now=NOW)
    assert (
        redownload_outputs(failed_job(), output(age=3600, expires_in=None), policy=POLICY, now=NOW)
        is None
    )


def test_an_output_expiring_within_the_margin_is_generated_again() -> None:
    assert redownload_outputs(failed_job(), output(expires_in=30), policy=POLICY, now=NOW) is None


def test_failures_a_second_fetch_cannot_fix_are_generated_again() -> None:
    for job in (
        failed_job(stage="provider", code="provider_model_error"),
        failed_job(code="output_url_expired"),
        failed_job(code="download_blocked"),
    ):
        assert redownload_outputs(job, output(), policy=POLICY, now=NOW) is None


def test_no_output_event_or_a_zero_window_means_generating_again() -> None:
    assert redownload_outputs(failed_job(), None, policy=POLICY, now=NOW) is None
    off = RetrySettings(redownload_window_seconds=0)
    assert redownload_outputs(failed_job(), output(), policy=off, now=NOW) is None
