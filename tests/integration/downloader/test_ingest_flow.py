"""``gen.output.v1`` in, objects and ``gen.stored.v1``/``gen.failed.v1`` out: real NATS, S3, HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from reelhouse.common.events import GenerationFailed, GenerationOutputReady, GenerationStored
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.storage import build_object_store
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents, stored_keys
from tests.integration.downloader.origin import Origin, Route
from tests.support.ports import free_port
from tests.unit.downloader.samples import image_bytes

OUTCOME = (GenerationStored.subject, GenerationFailed.subject)


async def read_object(storage: StorageSettings, key: str) -> bytes:
    store = build_object_store(storage)
    return b"".join([chunk async for chunk in store.read_range(key)])


async def keys(storage: StorageSettings, job_id: str) -> list[str]:
    return await asyncio.to_thread(stored_keys, storage, f"outputs/{job_id}/")


async def fails_with(
    events: JetStreamEvents, origin_url: str, run_downloader: RunDownloader, **settings: object
) -> GenerationFailed:
    event = output_ready(origin_url)
    async with run_downloader(**settings):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)
    assert isinstance(outcome, GenerationFailed), outcome
    assert outcome.event_id == f"{event.job_id}:failed"
    assert outcome.error.stage == "download"
    return outcome


BOTH_STORES = pytest.mark.parametrize("storage", ["s3", "local"], indirect=True)


@BOTH_STORES
async def test_an_output_is_stored_with_its_bytes_sha256_and_media_facts(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    sample_mp4: bytes,
    temp_dir: Path,
) -> None:
    # the provider claims a generic type: the bytes decide
    url = origin.serve("/out/0.mp4", Route(sample_mp4, content_type="application/octet-stream"))
    event = output_ready(url)

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    assert outcome.event_id == f"{event.job_id}:stored"
    [asset] = outcome.assets
    key = f"outputs/{event.job_id}/0.mp4"
    assert asset.key == key
    assert asset.content_type == "video/mp4"
    assert asset.kind == "video"
    assert asset.size == len(sample_mp4)
    assert asset.sha256 == hashlib.sha256(sample_mp4).hexdigest()
    assert (asset.width, asset.height, asset.fps) == (64, 48, 24.0)
    assert (asset.video_codec, asset.audio_codec) == ("h264", "aac")
    assert asset.duration is not None
    assert asset.duration > 0.9
    assert await keys(storage, event.job_id) == [key]
    assert await read_object(storage, key) == sample_mp4
    assert await asyncio.to_thread(os.listdir, temp_dir) == []


async def test_every_output_of_a_job_becomes_one_asset_of_one_event(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    sample_mp4: bytes,
) -> None:
    video = origin.serve("/multi/video", Route(sample_mp4))
    still = origin.serve("/multi/still", Route(image_bytes("PNG"), content_type="image/png"))
    event = output_ready(video, still)

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    assert [(a.index, a.key, a.kind) for a in outcome.assets] == [
        (0, f"outputs/{event.job_id}/0.mp4", "video"),
        (1, f"outputs/{event.job_id}/1.png", "image"),
    ]
    assert await keys(storage, event.job_id) == [a.key for a in outcome.assets]


async def test_html_posing_as_video_fails_not_media_and_stores_nothing(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    temp_dir: Path,
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Rate limit exceeded</title></head><body>"
    url = origin.serve("/fake.mp4", Route(page * 40, content_type="video/mp4"))
    refusals = {"service": "downloader", "code": "not_media"}
    refused_before = REGISTRY.get_sample_value("reelhouse_validation_failures_total", refusals)

    failed = await fails_with(events, url, run_downloader)

    refused = REGISTRY.get_sample_value("reelhouse_validation_failures_total", refusals)
    assert (refused or 0) - (refused_before or 0) == 1  # what /metrics shows the operator
    assert failed.error.code == "not_media"
    assert failed.error.retryable is False
    message = failed.error.message
    assert "an HTML page" in message
    assert "claimed Content-Type video/mp4" in message
    assert f"{len(page) * 40:,} bytes" in message
    assert "<title>Rate limit exceeded</title>" in message
    assert await keys(storage, failed.job_id) == []
    assert await asyncio.to_thread(os.listdir, temp_dir) == []


async def test_a_body_cut_short_fails_truncated(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, large_mp4: bytes
) -> None:
    url = origin.serve("/cut.mp4", Route(large_mp4, truncate_at=len(large_mp4) // 2))

    failed = await fails_with(events, url, run_downloader)

    assert failed.error.code == "truncated"
    assert f"of its {len(large_mp4):,} announced bytes" in failed.error.message


async def test_a_forbidden_url_fails_output_url_expired(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader
) -> None:
    body = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    url = origin.serve("/signed.mp4", Route(body, status=403, content_type="application/xml"))

    failed = await fails_with(events, url + "?X-Amz-Signature=secret", run_downloader)

    assert failed.error.code == "output_url_expired"
    assert "HTTP 403" in failed.error.message
    assert "secret" not in failed.error.message
    assert failed.error.provider_detail is not None
    assert "Request has expired" in failed.error.provider_detail
    assert origin.hits["/signed.mp4"] == 1  # permanent: not retried


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_output_over_max_bytes_fails_too_large(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    large_mp4: bytes,
    chunked: bool,
) -> None:
    url = origin.serve("/huge.mp4", Route(large_mp4, chunked=chunked))

    failed = await fails_with(events, url, run_downloader, max_bytes=len(large_mp4) // 4)

    assert failed.error.code == "too_large"
    assert await keys(storage, failed.job_id) == []
    if not chunked:  # refused from Content-Length, before any body was read
        assert "the limit is" in failed.error.message


@BOTH_STORES
async def test_a_redelivered_output_stores_one_object_and_one_stored_event(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    sample_mp4: bytes,
) -> None:
    url = origin.serve("/again.mp4", Route(sample_mp4))
    first = output_ready(url)
    # the same output published again under another event id: the broker cannot drop it
    second = first.model_copy(update={"event_id": f"{first.job_id}:output:again"})

    async with run_downloader():
        await events.publish(first)
        await events.wait_for((GenerationStored.subject,), first.job_id)
        await events.publish(second)
        await origin.wait_hits("/again.mp4", 2)
        await events.wait_settled()

    assert origin.hits["/again.mp4"] == 2  # both deliveries were really downloaded
    assert await keys(storage, first.job_id) == [f"outputs/{first.job_id}/0.mp4"]
    stored = await events.events(GenerationStored.subject, first.job_id)
    assert [e.event_id for e in stored] == [f"{first.job_id}:stored"]
    assert await events.events(GenerationFailed.subject, first.job_id) == []


async def test_a_failing_origin_is_retried_until_it_serves(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, sample_mp4: bytes
) -> None:
    url = origin.serve("/busy.mp4", Route(sample_mp4, fail_first=1))
    event = output_ready(url)

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    assert origin.hits["/busy.mp4"] == 2


async def test_unreachable_storage_is_retried_then_the_job_fails_with_the_reason(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    nats_settings: NatsSettings,
    s3_store_settings: StorageSettings,
    sample_mp4: bytes,
    temp_dir: Path,
) -> None:
    url = origin.serve("/ok.mp4", Route(sample_mp4))
    nowhere = s3_store_settings.model_copy(
        update={
            "s3": s3_store_settings.s3.model_copy(update={"endpoint": f"127.0.0.1:{free_port()}"})
        }
    )
    event = output_ready(url)

    async with run_downloader(
        storage=nowhere, nats=nats_settings.model_copy(update={"max_deliver": 2})
    ):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationFailed), outcome
    assert outcome.error.code == "max_deliveries_exceeded"
    assert "Object storage is unreachable" in outcome.error.message
    assert origin.hits["/ok.mp4"] == 2
    assert await asyncio.to_thread(os.listdir, temp_dir) == []


async def test_a_transfer_longer_than_the_ack_wait_is_kept_alive_by_heartbeats(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    nats_settings: NatsSettings,
    large_mp4: bytes,
) -> None:
    # ~1.6 MB in 32 KiB steps 60 ms apart: about three times the one-second ack wait
    url = origin.serve("/long.mp4", Route(large_mp4, chunk=32 * 1024, pause=0.06))
    event = output_ready(url)

    async with run_downloader(nats=nats_settings.model_copy(update={"ack_wait_seconds": 1.0})):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)
        await events.wait_settled()

    assert isinstance(outcome, GenerationStored), outcome
    assert origin.hits["/long.mp4"] == 1  # never redelivered while it was being worked on


async def test_a_malformed_message_is_dropped_without_looping(
    events: JetStreamEvents, run_downloader: RunDownloader
) -> None:
    async with run_downloader():
        await events.publish_raw(GenerationOutputReady.subject, b'{"job_id": 42, "outputs": "x"}')
        await events.wait_settled()

    assert await events.events(GenerationFailed.subject) == []
    assert await events.events(GenerationStored.subject) == []
