"""The projector over real JetStream: forward-only, idempotent, errors and assets recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import nats

from reelhouse.common.broker import consumer_config
from reelhouse.common.events import (
    Asset,
    Event,
    GenerationFailed,
    GenerationProgressed,
    GenerationStored,
    GenerationSubmitted,
    JobError,
)
from reelhouse.common.signing import UrlSigner
from reelhouse.common.streams import ensure_stream
from reelhouse.gateway.projector import DURABLE, FILTER_SUBJECTS
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import (
    MEDIA_BASE_URL,
    SIGNING_KEYS,
    Gateway,
    event_publisher,
    eventually,
    messages_on,
    publish_raw,
    running_gateway,
    wait_until_projected,
)
from tests.integration.gateway.job_events import output
from tests.support.nats import NatsServer

Publish = Callable[[Event], Awaitable[None]]


def _submitted(job_id: str) -> GenerationSubmitted:
    return GenerationSubmitted(
        event_id=f"{job_id}:submitted",
        job_id=job_id,
        provider="sandbox",
        provider_request_id="pred-1",
    )


def _running(job_id: str) -> GenerationProgressed:
    return GenerationProgressed(
        event_id=f"{job_id}:progress:processing",
        job_id=job_id,
        provider_status="processing",
        running=True,
        percent=40.0,
    )


def _stored(job_id: str) -> GenerationStored:
    return GenerationStored(
        event_id=f"{job_id}:stored",
        job_id=job_id,
        assets=[
            Asset(
                index=0,
                key=f"outputs/{job_id}/0.mp4",
                content_type="video/mp4",
                size=123_456,
                sha256="ab" * 32,
                kind="video",
                duration=3.0,
                width=640,
                height=360,
                fps=24.0,
                video_codec="h264",
                audio_codec=None,
                bit_rate=329_216,
                poster_key=None,
            )
        ],
    )


def _failed(job_id: str) -> GenerationFailed:
    return GenerationFailed(
        event_id=f"{job_id}:failed",
        job_id=job_id,
        error=JobError(
            stage="download",
            code="not_media",
            message="The provider's output is not a media file.",
            retryable=False,
            provider_detail="got text/html",
        ),
    )


async def test_events_move_a_job_through_every_state_to_succeeded(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (await gateway.submit())["id"]
    steps: list[tuple[Event, str]] = [
        (_submitted(job_id), "submitted"),
        (_running(job_id), "running"),
        (output(job_id), "downloading"),
        (_stored(job_id), "succeeded"),
    ]

    for event, status in steps:
        await publish(event)
        await gateway.wait_for_status(job_id, status)

    history = await gateway.events(job_id)
    assert [e["status"] for e in history] == [
        "queued",
        "submitted",
        "running",
        "downloading",
        "succeeded",
    ]
    assert all("url" not in str(e["data"]) for e in history)


async def test_stored_outputs_are_served_as_freshly_signed_media_urls(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(_stored(job_id))

    job = await gateway.wait_for_status(job_id, "succeeded")

    [output] = job["outputs"]
    key = f"outputs/{job_id}/0.mp4"
    url = urlsplit(output["url"])
    assert f"{url.scheme}://{url.netloc}" == MEDIA_BASE_URL
    assert url.path == f"/o/{key}"
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    signer = UrlSigner({k: v.get_secret_value().encode() for k, v in SIGNING_KEYS.items()}, "k1")
    signer.verify(key, exp=query["exp"], kid=query["kid"], sig=query["sig"])
    assert "provider.test" not in output["url"]
    assert output["content_type"] == "video/mp4"
    assert output["size"] == 123_456
    assert output["sha256"] == "ab" * 32
    assert (output["duration"], output["width"], output["height"]) == (3.0, 640, 360)
    assert (output["fps"], output["video_codec"], output["audio_codec"]) == (24.0, "h264", None)
    assert output["poster_url"] is None


async def test_duplicate_and_late_events_never_move_a_job_back(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(output(job_id))
    await gateway.wait_for_status(job_id, "downloading")

    # late events, and the same event again under a new message id (no broker de-duplication)
    await publish(_running(job_id))
    await publish(_submitted(job_id))
    await publish_raw(nats_server.url, output(job_id), msg_id="redelivered-output")
    await wait_until_projected(nats_server.url)

    job = await gateway.job(job_id)
    assert job["status"] == "downloading"
    history = {e["id"]: e for e in await gateway.events(job_id)}
    assert list(history) == [
        f"{job_id}:requested",
        f"{job_id}:output",
        f"{job_id}:progress:processing",
        f"{job_id}:submitted",
    ]
    assert history[f"{job_id}:output"]["status"] == "downloading"
    assert history[f"{job_id}:progress:processing"]["status"] is None
    assert history[f"{job_id}:submitted"]["status"] is None


async def test_failure_is_recorded_with_its_error_and_is_final(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(_submitted(job_id))
    await publish(_failed(job_id))

    job = await gateway.wait_for_status(job_id, "failed")

    assert job["error"] == {
        "stage": "download",
        "code": "not_media",
        "message": "The provider's output is not a media file.",
        "retryable": False,
        "provider_detail": "got text/html",
    }
    await publish(_stored(job_id))
    await gateway.wait_for_event(job_id, f"{job_id}:stored")
    job = await gateway.job(job_id)
    assert job["status"] == "failed"
    assert job["outputs"] == []


async def test_event_for_an_unknown_job_is_dead_lettered_and_does_not_block_others(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    await publish(_submitted("gen_nobody_knows_this_job"))
    job_id = (await gateway.submit())["id"]
    await publish(_submitted(job_id))

    await gateway.wait_for_status(job_id, "submitted")
    await wait_until_projected(nats_server.url)

    nc = await nats.connect(nats_server.url)
    try:
        info = await nc.jetstream().consumer_info(gateway.settings.nats.stream, DURABLE)
        assert info.num_redelivered == 0
    finally:
        await nc.close()


async def test_projector_resumes_after_a_nats_restart(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job_id = (await gateway.submit())["id"]
    await wait_until_projected(nats_server.url)

    nats_server.stop()
    nats_server.start()

    async with event_publisher(nats_server.url) as publish_again:
        await publish_again(_submitted(job_id))
        await gateway.wait_for_status(job_id, "submitted")
        await publish_again(_stored(job_id))
        await gateway.wait_for_status(job_id, "succeeded")


async def test_the_projector_does_not_hear_the_gateways_own_events_back(
    settings: Settings, nats_server: NatsServer
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        stream = settings.nats.stream
        # the consumer as a gateway before this change made it: every gen.> event
        await ensure_stream(js, settings.nats)
        await js.add_consumer(
            stream, consumer_config(settings.nats, durable=DURABLE, filter_subjects=["gen.>"])
        )
        async with running_gateway(settings) as gateway:
            info = await js.consumer_info(stream, DURABLE)
            assert sorted(info.config.filter_subjects or []) == sorted(FILTER_SUBJECTS)
            assert "gen.requested.v1" not in FILTER_SUBJECTS

            job_id = (await gateway.submit())["id"]
            assert (await gateway.cancel(job_id)).status_code == 202

            async def relayed() -> bool | None:
                subjects = [m.subject for m in await messages_on(nats_server.url, "gen.>")]
                return subjects == ["gen.requested.v1", "gen.cancel.v1"] or None

            await eventually(relayed, what="the job's requested and cancel events on NATS")
            info = await js.consumer_info(stream, DURABLE)
            # both are in the job's history already; the projector was handed neither
            assert info.delivered.stream_seq == 0
            events = [e["id"] for e in await gateway.events(job_id)]
            assert events[:2] == [f"{job_id}:requested", f"{job_id}:cancel"]
    finally:
        await nc.close()
