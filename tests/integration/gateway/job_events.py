"""Events as the dispatcher and downloader publish them, for driving the projector by hand."""

from __future__ import annotations

from reelhouse.common.events import (
    Asset,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationOutputReady,
    GenerationStored,
    GenerationSubmitted,
    JobError,
    OutputFile,
)


def submitted(
    job_id: str, provider: str = "sandbox", request_id: str = "pred-1"
) -> GenerationSubmitted:
    # one id per attempt: a fallback's submission is a different event from the first
    return GenerationSubmitted(
        event_id=f"{job_id}:submitted:{provider}:{request_id}",
        job_id=job_id,
        provider=provider,
        provider_request_id=request_id,
    )


def attempt_failed(
    job_id: str,
    *,
    attempt: int,
    provider: str,
    request_id: str | None,
    error: JobError,
    next_provider: str,
) -> GenerationAttemptFailed:
    return GenerationAttemptFailed(
        event_id=f"{job_id}:attempt_failed:{attempt}",
        job_id=job_id,
        attempt=attempt,
        provider=provider,
        provider_request_id=request_id,
        error=error,
        next_provider=next_provider,
    )


def output(
    job_id: str, provider: str = "sandbox", request_id: str = "pred-1"
) -> GenerationOutputReady:
    return GenerationOutputReady(
        event_id=f"{job_id}:output",
        job_id=job_id,
        provider=provider,
        provider_request_id=request_id,
        outputs=[OutputFile(index=0, url="http://provider.test/files/out.mp4?exp=1")],
    )


def stored(job_id: str) -> GenerationStored:
    return GenerationStored(
        event_id=f"{job_id}:stored",
        job_id=job_id,
        assets=[
            Asset(
                index=0,
                key=f"outputs/{job_id}/0.mp4",
                content_type="video/mp4",
                size=1000,
                sha256="cd" * 32,
                kind="video",
                duration=3.0,
            )
        ],
    )


def canceled(job_id: str) -> GenerationCanceled:
    return GenerationCanceled(event_id=f"{job_id}:canceled", job_id=job_id)
