"""The service-process helpers: start, readiness, kill, terminate, captured logs."""

from __future__ import annotations

import pytest

from tests.support.ports import free_port
from tests.support.processes import ServiceRunner, ServiceStartError


def test_started_process_becomes_ready_and_terminates(services: ServiceRunner) -> None:
    port = free_port()
    server = services.start(
        "http-server",
        {},
        module="http.server",
        args=[str(port), "--bind", "127.0.0.1"],
        ready_url=f"http://127.0.0.1:{port}/",
        ready_timeout=15,
    )

    assert server.running
    assert server.terminate(timeout=5) is not None
    assert not server.running


def test_killed_process_is_reported_dead(services: ServiceRunner) -> None:
    port = free_port()
    server = services.start(
        "http-server",
        {},
        module="http.server",
        args=[str(port), "--bind", "127.0.0.1"],
        ready_url=f"http://127.0.0.1:{port}/",
    )

    server.kill()

    assert server.returncode == -9


def test_process_that_exits_early_fails_with_its_log(services: ServiceRunner) -> None:
    with pytest.raises(ServiceStartError, match="No module named"):
        services.start(
            "missing",
            {"REELHOUSE_PROBE": "1"},
            module="reelhouse.no_such_service",
            ready_url=f"http://127.0.0.1:{free_port()}/",
            ready_timeout=15,
        )
