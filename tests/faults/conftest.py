"""One drill system for the whole fault suite (stopped after its last drill), rebuilt after a
drill that failed.

Starting every role costs tens of seconds on two cores, so the drills share one system; each
drill begins by starting whatever the last one left stopped (``DrillSystem.ensure_running``).
A failed drill may leave it in any state: the next one gets a new system.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.system import DrillSystem, drill_system
from tests.support.databases import postgres_server_url
from tests.support.webhook_receiver import WebhookReceiver

_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@dataclass
class Drills:
    """The shared system, made on first use and remade after a failure."""

    factory: pytest.TempPathFactory
    server_url: str
    stack: ExitStack = field(default_factory=ExitStack)
    current: DrillSystem | None = None
    builds: int = 0

    def system(self) -> DrillSystem:
        if self.current is None:
            self.builds += 1
            workdir = Path(self.factory.mktemp(f"drills-{self.builds}"))
            self.current = self.stack.enter_context(drill_system(workdir, self.server_url))
        return self.current

    def discard(self) -> None:
        self.current = None
        self.stack.close()
        self.stack = ExitStack()


@pytest.fixture(scope="package")
def drills(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drills]:
    server_url = postgres_server_url()
    if server_url is None:
        pytest.skip("the fault drills run on PostgreSQL: set TEST_DATABASE_URL")
    holder = Drills(tmp_path_factory, server_url)
    try:
        yield holder
    finally:
        holder.discard()


@pytest.fixture(scope="package")
def receiver() -> Iterator[WebhookReceiver]:
    """The client's webhook endpoint, shared by every drill."""
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def system(drills: Drills, request: pytest.FixtureRequest) -> Iterator[DrillSystem]:
    """The shared system, whole again; remade for the next drill if this one fails."""
    current = drills.system()
    try:
        yield current
    finally:
        if request.node.stash.get(_FAILED, False):
            request.node.add_report_section("teardown", "drill system logs", current.report())
            drills.discard()
