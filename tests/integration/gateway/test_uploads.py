"""``/v1/uploads`` against real S3 (SeaweedFS) and SQLite/PostgreSQL, through the whole app.

The body guard, the streamed multipart reader, the decode, the store and the database all run
for real; only the HTTP transport is in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from minio import Minio
from PIL import Image
from sqlalchemy import update

from reelhouse.common.events import GenerationFailed, GenerationRequested, JobError, utcnow
from reelhouse.common.settings import StorageSettings
from reelhouse.common.storage import ObjectNotFoundError, ObjectStore, build_object_store
from reelhouse.gateway.db.models import Upload as UploadRow
from reelhouse.gateway.settings import Settings
from reelhouse.gateway.uploads.settings import UploadSettings
from reelhouse.gateway.uploads.sweep import UploadSweeper
from tests.integration.gateway.harness import (
    MEDIA_BASE_URL,
    Gateway,
    event_publisher,
    eventually,
    gateway_settings,
    messages_on,
    running_gateway,
)
from tests.support.nats import NatsServer
from tests.unit.gateway.upload_samples import audio_bytes, jpeg_with_exif, png_bytes

MAX_BYTES = 2 * 1024 * 1024
MODEL = "minimax/video-01"  # its `first_frame_image` is declared "format": "uri"


@pytest.fixture
def settings(
    database_url: str, nats_server: NatsServer, s3_store_settings: StorageSettings
) -> Settings:
    return gateway_settings(database_url=database_url, nats_url=nats_server.url).model_copy(
        update={"storage": s3_store_settings, "uploads": UploadSettings(max_bytes=MAX_BYTES)}
    )


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with running_gateway(settings) as running:
        yield running


@pytest.fixture
def store(settings: Settings) -> ObjectStore:
    return build_object_store(settings.storage)


def _bucket_keys(settings: Settings) -> list[str]:
    s3 = settings.storage.s3
    client = Minio(
        s3.endpoint,
        access_key=s3.access_key.get_secret_value(),
        secret_key=s3.secret_key.get_secret_value(),
        secure=s3.secure,
    )
    return [o.object_name or "" for o in client.list_objects(s3.bucket, recursive=True)]


async def _read(store: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read_range(key)])


async def upload(
    gateway: Gateway, data: bytes, *, name: str = "photo.png", key: str | None = None
) -> Any:
    headers = gateway.auth(key) if key else gateway.auth()
    return await gateway.client.post(
        "/v1/uploads", files={"file": (name, data, "application/octet-stream")}, headers=headers
    )


def _noisy_png(side: int) -> bytes:
    """A PNG that does not compress: about 3 × side² bytes."""
    noise = random.Random(3).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_upload_is_stored_clean_read_listed_and_deleted(
    gateway: Gateway, store: ObjectStore, settings: Settings
) -> None:
    created = await upload(gateway, jpeg_with_exif(width=40, height=20), name="me.jpg")

    assert created.status_code == 201, created.text
    body = created.json()
    upload_id = body["id"]
    assert upload_id.startswith("upl_")
    assert len(upload_id) == 36
    assert created.headers["location"] == f"/v1/uploads/{upload_id}"
    assert body["kind"] == "image"
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"], body["duration"]) == (20, 40, None)
    assert body["reference"] == f"upload://{upload_id}"
    assert body["last_used_at"] is None
    assert body["url"].startswith(f"{MEDIA_BASE_URL}/o/uploads/dev/{upload_id}.jpg?")
    assert "sig=" in body["url"]
    key = f"uploads/dev/{upload_id}.jpg"
    stored = await _read(store, key)
    assert len(stored) == body["size"]
    assert hashlib.sha256(stored).hexdigest() == body["sha256"]
    assert b"SecretCam" not in stored

    read = await gateway.client.get(f"/v1/uploads/{upload_id}", headers=gateway.auth())
    assert read.status_code == 200
    assert {k: v for k, v in read.json().items() if k != "url"} == {
        k: v for k, v in body.items() if k != "url"
    }
    listed = await gateway.client.get("/v1/uploads", headers=gateway.auth())
    assert [u["id"] for u in listed.json()["data"]] == [upload_id]

    other = gateway.auth(await gateway.new_key("owner-b"))
    for method in ("GET", "DELETE"):
        refused = await gateway.client.request(method, f"/v1/uploads/{upload_id}", headers=other)
        assert refused.status_code == 404, method
        assert refused.json()["code"] == "not_found"
    assert (await gateway.client.get("/v1/uploads", headers=other)).json()["data"] == []

    deleted = await gateway.client.delete(f"/v1/uploads/{upload_id}", headers=gateway.auth())
    assert deleted.status_code == 204
    with pytest.raises(ObjectNotFoundError):
        await store.stat(key)
    gone = await gateway.client.get(f"/v1/uploads/{upload_id}", headers=gateway.auth())
    assert gone.status_code == 404
    assert _bucket_keys(settings) == []


async def test_a_file_above_the_json_body_limit_is_accepted_below_the_upload_limit(
    gateway: Gateway, store: ObjectStore
) -> None:
    data = _noisy_png(700)
    assert gateway.settings.max_body_bytes < len(data) < MAX_BYTES

    created = await upload(gateway, data)

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["width"], body["height"]) == (700, 700)
    assert (await store.stat(f"uploads/dev/{body['id']}.png")).size == body["size"]


async def test_refused_uploads_keep_nothing(gateway: Gateway, settings: Settings) -> None:
    too_big = _noisy_png(900)
    assert len(too_big) > MAX_BYTES

    declared = await upload(gateway, too_big)
    assert declared.status_code == 413
    assert declared.json()["code"] == "upload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        boundary = b"--b0undary"
        yield (
            boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\n'
        )
        for start in range(0, len(too_big), 64 * 1024):
            yield too_big[start : start + 64 * 1024]
        yield b"\r\n" + boundary + b"--\r\n"

    streamed = await gateway.client.post(
        "/v1/uploads",
        content=chunks(),
        headers={**gateway.auth(), "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["code"] == "upload_too_large"

    whole = png_bytes(64, 64)
    truncated = await upload(gateway, whole[: len(whole) // 2])
    assert truncated.status_code == 422
    assert truncated.json()["code"] == "corrupt_media"

    text = await upload(gateway, b"just some text\n" * 10, name="notes.txt")
    assert text.status_code == 415
    assert text.json()["code"] == "unsupported_media"

    as_json = await gateway.client.post("/v1/uploads", json={"file": "x"}, headers=gateway.auth())
    assert as_json.status_code == 415
    assert as_json.json()["code"] == "unsupported_media_type"

    no_file = await gateway.client.post(
        "/v1/uploads", files={"other": ("a.png", png_bytes(), "image/png")}, headers=gateway.auth()
    )
    assert no_file.status_code == 422
    assert no_file.json()["errors"] == [{"path": "file", "message": "required"}]

    read_only = await gateway.client.post(
        "/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers={}
    )
    assert read_only.status_code == 401

    assert _bucket_keys(settings) == []
    assert (await gateway.client.get("/v1/uploads", headers=gateway.auth())).json()["data"] == []


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [("m4a", "audio/mp4"), ("mp3", "audio/mpeg"), ("wav", "audio/wav")],
)
async def test_audio_is_stored_as_sent_with_its_length_and_no_frame_size(
    gateway: Gateway, store: ObjectStore, extension: str, content_type: str
) -> None:
    data = audio_bytes(extension, seconds=2.0)

    created = await upload(gateway, data, name=f"score.{extension}")

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["content_type"]) == ("audio", content_type)
    assert (body["width"], body["height"]) == (None, None)
    assert body["duration"] == pytest.approx(2.0, abs=0.1)
    key = f"uploads/dev/{body['id']}.{extension}"
    assert await _read(store, key) == data
    assert (await store.stat(key)).content_type == content_type
    read = await gateway.client.get(f"/v1/uploads/{body['id']}", headers=gateway.auth())
    assert (read.json()["kind"], read.json()["width"]) == ("audio", None)


async def test_an_mp3_signature_on_garbage_is_corrupt_and_kept_nowhere(
    gateway: Gateway, settings: Settings
) -> None:
    fake = b"ID3\x03\x00\x00\x00\x00\x00\x00" + random.Random(5).randbytes(4000)

    refused = await upload(gateway, fake, name="song.mp3")

    assert refused.status_code == 422
    assert refused.json()["code"] == "corrupt_media"
    assert "audio/mpeg" in refused.json()["detail"]
    assert _bucket_keys(settings) == []


async def test_audio_referenced_where_an_image_is_wanted_is_refused(gateway: Gateway) -> None:
    song = (await upload(gateway, audio_bytes("m4a"), name="song.m4a")).json()

    refused = await gateway.client.post(
        "/v1/generations",
        json={"model": MODEL, "input": {"prompt": "x", "first_frame_image": song["reference"]}},
        headers=gateway.auth(),
    )

    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == [
        {
            "path": "input.first_frame_image",
            "message": f"{song['reference']} is audio/mp4; this input takes image/*",
        }
    ]
    # a refused submit does not count as a use
    unused = (await gateway.client.get(f"/v1/uploads/{song['id']}", headers=gateway.auth())).json()
    assert unused["last_used_at"] is None


async def _requested(nats_url: str, job_id: str) -> GenerationRequested:
    """The job's ``gen.requested.v1`` once the outbox relay has published it."""

    async def published() -> GenerationRequested | None:
        for message in await messages_on(nats_url, GenerationRequested.subject):
            event = GenerationRequested.model_validate(json.loads(message.data or b"{}"))
            if event.job_id == job_id:
                return event
        return None

    return await eventually(published, what=f"gen.requested.v1 of {job_id}")


async def test_a_submit_resolves_upload_references_of_its_owner_only(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    mine = (await upload(gateway, png_bytes())).json()
    other_key = await gateway.new_key("owner-b")
    theirs = (await upload(gateway, png_bytes(), key=other_key)).json()

    job = await gateway.submit_to(MODEL, {"prompt": "move", "first_frame_image": mine["reference"]})

    assert job["input"]["first_frame_image"] == mine["reference"]
    event = await _requested(nats_server.url, job["id"])
    assert event.input_objects == {mine["reference"]: f"uploads/dev/{mine['id']}.png"}
    used = (await gateway.client.get(f"/v1/uploads/{mine['id']}", headers=gateway.auth())).json()
    assert used["last_used_at"] is not None
    assert used["expires_at"] > mine["expires_at"]

    for reference in (
        theirs["reference"],
        "upload://upl_" + "0" * 32,
        "upload://not-an-id",
    ):
        refused = await gateway.client.post(
            "/v1/generations",
            json={"model": MODEL, "input": {"prompt": "x", "first_frame_image": reference}},
            headers=gateway.auth(),
        )
        assert refused.status_code == 422, reference
        problem = refused.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"] == [
            {"path": "input.first_frame_image", "message": f"no such upload: {reference}"}
        ]
        assert theirs["id"] not in problem["detail"]


async def test_a_retry_resolves_its_uploads_again(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    mine = (await upload(gateway, png_bytes())).json()
    job = await gateway.submit_to(MODEL, {"prompt": "move", "first_frame_image": mine["reference"]})
    async with event_publisher(nats_server.url) as publish:

        async def fail(job_id: str) -> None:
            await publish(
                GenerationFailed(
                    event_id=f"{job_id}:failed",
                    job_id=job_id,
                    error=JobError(stage="provider", code="provider_model_error", message="x"),
                )
            )
            await gateway.wait_for_status(job_id, "failed")

        await fail(job["id"])
        retried = await gateway.client.post(
            f"/v1/generations/{job['id']}/retry", headers=gateway.auth()
        )
        assert retried.status_code == 202, retried.text
        retry_id = retried.json()["id"]
        event = await _requested(nats_server.url, retry_id)
        assert event.input_objects == {mine["reference"]: f"uploads/dev/{mine['id']}.png"}

        await fail(retry_id)
        await gateway.client.delete(f"/v1/uploads/{mine['id']}", headers=gateway.auth())
        refused = await gateway.client.post(
            f"/v1/generations/{retry_id}/retry", headers=gateway.auth()
        )
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
    assert refused.json()["errors"][0]["path"] == "input.first_frame_image"


async def test_the_sweep_removes_uploads_unused_for_the_retention_period(
    gateway: Gateway, store: ObjectStore
) -> None:
    old = (await upload(gateway, png_bytes())).json()
    fresh = (await upload(gateway, png_bytes())).json()
    long_ago = utcnow() - timedelta(days=30)
    async with gateway.sessions.begin() as session:
        await session.execute(
            update(UploadRow)
            .where(UploadRow.id == old["id"])
            .values(created_at=long_ago, last_used=long_ago)
        )
    sweeper = UploadSweeper(
        sessions=gateway.sessions, store=store, settings=gateway.settings.uploads
    )

    assert await sweeper.sweep_once() == 1
    assert await sweeper.sweep_once() == 0

    for upload_id, status in ((old["id"], 404), (fresh["id"], 200)):
        read = await gateway.client.get(f"/v1/uploads/{upload_id}", headers=gateway.auth())
        assert read.status_code == status
    with pytest.raises(ObjectNotFoundError):
        await store.stat(f"uploads/dev/{old['id']}.png")
    assert (await store.stat(f"uploads/dev/{fresh['id']}.png")).size == fresh["size"]
