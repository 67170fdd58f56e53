"""Fixtures for the assembler: real NATS and S3, the app in-process with a stand-in film function."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from faststream import TestApp

from reelhouse.assembler.app import build_app
from reelhouse.assembler.filmmaker import FilmMaker
from reelhouse.assembler.settings import Settings
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.storage import ObjectStore, build_object_store
from tests.integration.assembler.fake_film import FakeFilmError, make_film
from tests.support.recording_store import RecordingStore


@dataclass(frozen=True)
class Running:
    settings: Settings
    # the store the assembler uses, recording every PUT and read
    store: RecordingStore


RunAssembler = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def storage(s3_store_settings: StorageSettings) -> StorageSettings:
    return s3_store_settings


@pytest.fixture
def store(storage: StorageSettings) -> ObjectStore:
    """The same bucket, for the test's own reads and writes."""
    return build_object_store(storage)


@pytest.fixture
def run_assembler(
    nats_settings: NatsSettings, storage: StorageSettings, tmp_path: Path
) -> RunAssembler:
    """Run the assembler app in-process: ``async with run_assembler(film_maker=...) as running``."""

    @asynccontextmanager
    async def run(
        *,
        film_maker: FilmMaker = make_film,
        storage_settings: StorageSettings | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Running]:
        values: dict[str, Any] = {
            "nats": nats_settings,
            "storage": storage_settings or storage,
            "temp_dir": tmp_path / "assembly",
            **overrides,
        }
        settings = Settings(**values)
        recording = RecordingStore(build_object_store(settings.storage))
        app = build_app(settings, film_maker=film_maker, film_error=FakeFilmError, store=recording)
        async with TestApp(app):
            yield Running(settings, recording)

    return run
