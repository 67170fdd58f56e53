"""CORS limited to configured origins: allowed ones see the range headers, others see nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reelhouse.common.settings import SigningSettings, StorageSettings
from reelhouse.media.settings import CorsSettings, Settings
from tests.integration.media.conftest import SIGNING_KEYS
from tests.integration.media.media_server import MediaServer, running_media_server

KEY = "outputs/job-1/0.mp4"
ALLOWED = "https://app.example"


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[MediaServer]:
    settings = Settings(
        storage=StorageSettings(backend="local", local_root=tmp_path / "objects"),
        signing=SigningSettings(keys=SIGNING_KEYS, active_key_id="k1"),
        cors=CorsSettings(allowed_origins=[ALLOWED, "https://other.example"]),
    )
    async with running_media_server(settings) as server:
        await server.put(KEY, b"0123456789", content_type="video/mp4")
        yield server


async def test_an_allowed_origin_is_named_and_sees_the_range_headers(media: MediaServer) -> None:
    response = await media.client.get(
        media.url(KEY), headers={"origin": ALLOWED, "range": "bytes=2-4"}
    )
    assert response.status_code == 206
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in response.headers["vary"].lower()
    exposed = response.headers["access-control-expose-headers"].lower()
    for name in ("content-range", "accept-ranges", "content-length", "etag"):
        assert name in exposed


async def test_another_origin_gets_no_cors_headers(media: MediaServer) -> None:
    response = await media.client.get(media.url(KEY), headers={"origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_from_another_origin_is_refused(media: MediaServer) -> None:
    headers = {"origin": "https://evil.example", "access-control-request-method": "GET"}
    refused = await media.client.options(media.url(KEY), headers=headers)
    assert refused.status_code == 400

    allowed = await media.client.options(media.url(KEY), headers={**headers, "origin": ALLOWED})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
