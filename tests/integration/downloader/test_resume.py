"""A transfer cut part-way resumes with ``Range`` instead of starting over; retries finish."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from reelhouse.common.events import GenerationFailed, GenerationStored, OutputFile
from reelhouse.common.settings import StorageSettings
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route
from tests.integration.downloader.test_ingest_flow import OUTCOME, read_object

CUT_AT = 300_000


async def test_a_connection_cut_mid_file_resumes_with_a_range_for_the_rest(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    large_mp4: bytes,
) -> None:
    path = "/cut-once.mp4"
    url = origin.serve(path, Route(large_mp4, ranges=True, truncate_at=CUT_AT, cut_answers=1))
    event = output_ready(url)

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    [asset] = outcome.assets
    assert asset.sha256 == hashlib.sha256(large_mp4).hexdigest()
    assert await read_object(storage, asset.key) == large_mp4
    first, second = origin.requests[path]
    assert "Range" not in first
    assert second["Range"] == f"bytes={CUT_AT}-"  # the rest, not the whole file
    assert second["If-Range"] == '"v1"'
    assert origin.sent[path] == len(large_mp4)  # every byte crossed the wire once


async def test_an_origin_ignoring_ranges_is_read_again_from_the_start(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, large_mp4: bytes
) -> None:
    path = "/no-ranges.mp4"
    url = origin.serve(path, Route(large_mp4, truncate_at=CUT_AT, cut_answers=1))
    event = output_ready(url)

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    assert outcome.assets[0].sha256 == hashlib.sha256(large_mp4).hexdigest()
    assert origin.hits[path] == 2


async def test_an_origin_that_keeps_truncating_ends_truncated_after_its_attempts(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, large_mp4: bytes
) -> None:
    path = "/always-short.mp4"
    url = origin.serve(path, Route(large_mp4, ranges=True, truncate_at=100_000))
    event = output_ready(url)

    async with run_downloader(fetch_attempts=3):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationFailed), outcome
    assert outcome.error.code == "truncated"
    assert "3 times in a row" in outcome.error.message
    ranges = [r.get("Range") for r in origin.requests[path]]
    assert ranges == [None, "bytes=100000-", "bytes=200000-"]  # each try resumed


async def test_retries_stop_at_the_url_expiry_and_report_it_expired(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader
) -> None:
    path = "/busy-then-gone.mp4"
    url = origin.serve(path, Route(b"busy", status=503, content_type="text/plain"))
    expired = datetime.now(UTC) - timedelta(seconds=5)
    event = output_ready(url).model_copy(
        update={"outputs": [OutputFile(index=0, url=url, expires_at=expired)]}
    )

    async with run_downloader(fetch_attempts=10):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationFailed), outcome
    assert outcome.error.code == "output_url_expired"
    assert "HTTP 503" in outcome.error.message
    assert origin.hits[path] == 1  # past its expiry, a URL is not tried again
