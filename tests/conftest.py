"""Real-server fixtures shared by every test: NATS, S3, databases, free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import pytest

from reelhouse.common.settings import S3Settings, StorageSettings
from tests.support.databases import (
    TEST_DATABASE_URL_ENV,
    postgres_database,
    postgres_server_url,
    process_database,
)
from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess, ServiceRunner
from tests.support.s3 import create_bucket, remove_bucket, s3_server, unique_bucket


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on a free port; ``stop()``/``start()`` keep its data."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A SQLAlchemy async URL of an empty database: SQLite always, PostgreSQL with TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    server_url = postgres_server_url()
    if server_url is None:
        pytest.skip(
            f"PostgreSQL variant skipped: set {TEST_DATABASE_URL_ENV} "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run it"
        )
    async with postgres_database(server_url) as url:
        yield url


@pytest.fixture
def process_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for a test of several processes (gateways, CLI) on one backend.

    PostgreSQL with TEST_DATABASE_URL (what several processes share in production), else SQLite:
    tests of multi-process behaviour run once, not per backend (``database_url`` covers both
    backends in-process).
    """
    with process_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_process_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``process_database_url`` shared by a module's tests (give each test owners of its own)."""
    with process_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def module_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server with JetStream shared by a module's tests."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def s3_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Settings]:
    """A running S3 server for the session (SeaweedFS here, MinIO where Docker runs)."""
    with s3_server(tmp_path_factory.mktemp("s3")) as settings:
        yield settings


@pytest.fixture
def s3_store_settings(s3_settings: S3Settings) -> Iterator[StorageSettings]:
    """S3 storage settings with a fresh, empty bucket of this test's own (deleted after it)."""
    settings = s3_settings.model_copy(update={"bucket": unique_bucket()})
    create_bucket(settings)
    yield StorageSettings(backend="s3", s3=settings)
    remove_bucket(settings)


# each test's phase reports (setup, call, teardown), for fixtures that act on failure
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
# a module's shared service processes (``module_services``), whose logs a failing test shows
_MODULE_SERVICES = pytest.StashKey[ServiceRunner]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report so fixtures can tell whether their test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    module = item.getparent(pytest.Module)
    shared = None if module is None else module.stash.get(_MODULE_SERVICES, None)
    if report.failed and shared is not None and shared.started:
        report.sections.append((f"Captured shared service logs {report.when}", shared.report()))
    return report


@pytest.fixture
def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceRunner]:
    """Starts service processes; stops them all at teardown, and shows their logs on failure."""
    runner = ServiceRunner(tmp_path_factory.mktemp("service-logs"))
    try:
        yield runner
    finally:
        runner.stop_all()
        reports = request.node.stash.get(_REPORTS, {})
        if runner.started and any(r.failed for r in reports.values()):
            request.node.add_report_section("teardown", "service logs", runner.report())


@pytest.fixture(scope="module")
def module_services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceRunner]:
    """Service processes shared by a module's tests, stopped after the last; a failing test
    shows their logs."""
    runner = ServiceRunner(tmp_path_factory.mktemp("shared-service-logs"))
    request.node.stash[_MODULE_SERVICES] = runner
    try:
        yield runner
    finally:
        runner.stop_all()


@pytest.fixture
def start_service(services: ServiceRunner) -> Callable[..., ServiceProcess]:
    """``start_service(role, env, *, ready_url=None, ready_timeout=30)`` → a running ServiceProcess."""
    return services.start
