"""Fixtures for the downloader: a local origin, real NATS and S3, the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver
from faststream import TestApp

from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.downloader.app import build_app
from reelhouse.downloader.fetch import SocketFactory
from reelhouse.downloader.settings import Settings
from tests.integration.downloader.origin import Origin, running_origin
from tests.unit.downloader.samples import write_mp4

RunDownloader = Callable[..., AbstractAsyncContextManager[Settings]]


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real one-second H.264/AAC MP4 (a few KiB), ``moov`` first: stored byte for byte."""
    return write_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", faststart=True).read_bytes()


@pytest.fixture(scope="session")
def large_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MP4 of noise, large enough (~1.6 MB) to be slow, big, or cut short."""
    path = tmp_path_factory.mktemp("media") / "noise.mp4"
    return write_mp4(
        path, seconds=2.0, width=320, height=240, noisy=True, faststart=True
    ).read_bytes()


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    async with running_origin() as served:
        yield served


@pytest.fixture
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSettings:
    """S3 by default; ``parametrize("storage", ["s3", "local"], indirect=True)`` adds local disk."""
    if getattr(request, "param", "s3") == "local":
        return StorageSettings(backend="local", local_root=tmp_path / "objects")
    s3: StorageSettings = request.getfixturevalue("s3_store_settings")
    return s3


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


@pytest.fixture
def run_downloader(
    nats_settings: NatsSettings, storage: StorageSettings, temp_dir: Path
) -> RunDownloader:
    """Run the downloader app in-process: ``async with run_downloader(max_bytes=...) as settings``.

    ``resolver`` and ``socket_factory`` replace DNS and sockets (the SSRF tests).
    """

    @asynccontextmanager
    async def run(
        *,
        resolver: AbstractResolver | None = None,
        socket_factory: SocketFactory | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Settings]:
        values: dict[str, Any] = {
            "nats": nats_settings,
            "storage": storage,
            "allow_loopback": True,
            "allowed_schemes": ["http", "https"],
            "temp_dir": temp_dir,
            # quick retries: a test waits for outcomes, not for backoff
            "retry_base_delay": 0.05,
            "retry_max_delay": 0.2,
            **overrides,
        }
        settings = Settings(**values)
        app = build_app(settings, resolver=resolver, socket_factory=socket_factory)
        async with TestApp(app):
            yield settings

    return run
