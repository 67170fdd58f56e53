"""One containerised system per test module: 3 downloader and 2 dispatcher replicas.

Started once per module (building images costs a minute) and taken down when the module ends,
so the rest of the suite never runs beside it: compose down with its volumes, then the engine
by its pid when this module started it. Under ``CI=true`` a missing engine fails the run;
elsewhere the tier skips and says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.containers.stack import SCALE, Engine, EngineUnavailableError, Stack


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"container tier cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"container tier skipped: {reason}")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    running = Engine()
    try:
        running.start()
    except EngineUnavailableError as exc:
        _unavailable(str(exc))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # testcontainers' reaper container (Ryuk) cannot be pulled here; we clean up ourselves
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    system = Stack(tmp_path_factory.mktemp("compose"), engine)
    try:
        system.up(scale=SCALE)
        yield system
    finally:
        system.down()
