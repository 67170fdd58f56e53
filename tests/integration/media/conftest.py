"""Fixtures for the media service: the app on a real socket over local-disk and S3 storage."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from reelhouse.common.settings import SigningSettings, StorageSettings
from reelhouse.media.settings import Settings
from tests.integration.media.media_server import MediaServer, running_media_server

SIGNING_KEYS = {"k0": SecretStr("retired-but-still-trusted"), "k1": SecretStr("media-test-secret")}
# spans several storage chunks (256 KiB) and ends mid-chunk
BLOB_SIZE = 3 * 256 * 1024 + 12_345
BLOB_KEY = "outputs/job-1/0.mp4"


@pytest.fixture(params=["local", "s3"])
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSettings:
    if request.param == "local":
        return StorageSettings(backend="local", local_root=tmp_path / "objects")
    s3: StorageSettings = request.getfixturevalue("s3_store_settings")
    return s3


@pytest.fixture
def media_settings(storage_settings: StorageSettings) -> Settings:
    return Settings(
        storage=storage_settings,
        signing=SigningSettings(keys=SIGNING_KEYS, active_key_id="k1"),
    )


@pytest.fixture
async def media(media_settings: Settings) -> AsyncIterator[MediaServer]:
    async with running_media_server(media_settings) as server:
        yield server


@pytest.fixture(scope="session")
def blob_data() -> bytes:
    return random.Random(20250301).randbytes(BLOB_SIZE)


@pytest.fixture
async def blob(media: MediaServer, blob_data: bytes) -> str:
    """The key of a stored multi-chunk ``video/mp4`` object holding ``blob_data``."""
    await media.put(BLOB_KEY, blob_data, content_type="video/mp4")
    return BLOB_KEY
