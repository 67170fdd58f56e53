"""Messages the dispatcher would send the downloader, made for tests."""

from __future__ import annotations

import uuid

from reelhouse.common.events import GenerationOutputReady, OutputFile


def new_job_id() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


def output_ready(
    *urls: str, job_id: str | None = None, event_id: str | None = None
) -> GenerationOutputReady:
    """The dispatcher's ``gen.output.v1`` for ``urls`` (one output each, in order)."""
    job = job_id or new_job_id()
    return GenerationOutputReady(
        event_id=event_id or f"{job}:output",
        job_id=job,
        provider="sandbox",
        provider_request_id=f"pred-{job}",
        outputs=[OutputFile(index=i, url=url) for i, url in enumerate(urls)],
    )
