"""Fixtures for the runner tests: a fake clock, output files and a runner on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.runner import Runner
from tests.unit.sandbox.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outputs(tmp_path: Path) -> OutputFiles:
    return OutputFiles(tmp_path, "http://sandbox.test", secret=b"unit-secret")


@pytest.fixture
async def runner(clock: FakeClock, outputs: OutputFiles) -> AsyncIterator[Runner]:
    executor = ThreadPoolExecutor(max_workers=2)
    runner = Runner(clock=clock, executor=executor, outputs=outputs, output_ttl_seconds=3600)
    yield runner
    await runner.aclose()
    executor.shutdown(wait=True, cancel_futures=True)
