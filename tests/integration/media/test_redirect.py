"""Redirect mode: a 307 to a short-lived presigned S3 URL that serves the right bytes and headers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from reelhouse.common.settings import SigningSettings, StorageSettings
from reelhouse.media.settings import DeliverySettings, Settings
from tests.integration.media.conftest import SIGNING_KEYS
from tests.integration.media.media_server import MediaServer, running_media_server

KEY = "outputs/job-1/0.mp4"
DATA = bytes(range(256)) * 1000


@pytest.fixture
async def media(s3_store_settings: StorageSettings) -> AsyncIterator[MediaServer]:
    settings = Settings(
        storage=s3_store_settings,
        signing=SigningSettings(keys=SIGNING_KEYS, active_key_id="k1"),
        delivery=DeliverySettings(mode="redirect", redirect_ttl_seconds=120),
    )
    async with running_media_server(settings) as server:
        await server.put(KEY, DATA, content_type="video/mp4")
        yield server


async def test_a_signed_url_is_redirected_to_a_short_lived_presigned_one(
    media: MediaServer, s3_store_settings: StorageSettings
) -> None:
    response = await media.client.get(media.url(KEY))

    assert response.status_code == 307
    assert response.headers["cache-control"] == "no-store"
    location = urlsplit(response.headers["location"])
    assert location.netloc == s3_store_settings.s3.endpoint
    query = parse_qs(location.query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["response-content-type"] == ["video/mp4"]


async def test_following_the_redirect_serves_ranges_with_the_stored_type(
    media: MediaServer,
) -> None:
    response = await media.client.get(
        media.url(KEY), headers={"range": "bytes=1000-1999"}, follow_redirects=True
    )
    assert response.status_code == 206
    assert response.content == DATA[1000:2000]
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(DATA)}"


async def test_a_download_is_redirected_with_an_attachment_disposition(media: MediaServer) -> None:
    response = await media.client.get(f"{media.url(KEY)}&download=1", follow_redirects=True)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-disposition"].startswith('attachment; filename="job-1-0.mp4"')


async def test_head_is_redirected_to_a_url_presigned_for_head(media: MediaServer) -> None:
    response = await media.client.head(media.url(KEY), follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))


async def test_the_presigned_url_never_outlives_the_signed_one(media: MediaServer) -> None:
    # signed 30 s before expiry, with redirects configured for 120 s
    url = media.url(KEY, ttl=30)
    location = urlsplit((await media.client.get(url)).headers["location"])
    assert int(parse_qs(location.query)["X-Amz-Expires"][0]) <= 30


async def test_bad_signatures_and_missing_objects_are_not_redirected(media: MediaServer) -> None:
    expired = await media.client.get(media.url(KEY, ttl=60, now=time.time() - 3600))
    assert expired.status_code == 410
    forged = await media.client.get(f"{media.base_url}/o/{KEY}?exp=1&kid=k1&sig=x")
    assert forged.status_code == 403
    missing = await media.client.get(media.url("outputs/none/0.mp4"))
    assert missing.status_code == 404


def test_redirect_mode_over_local_disk_is_refused_naming_the_variables() -> None:
    with pytest.raises(ValidationError, match="REELHOUSE_DELIVERY__MODE=redirect needs"):
        Settings(
            storage=StorageSettings(backend="local"),
            signing=SigningSettings(keys=SIGNING_KEYS),
            delivery=DeliverySettings(mode="redirect"),
        )
