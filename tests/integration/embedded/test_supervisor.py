"""The supervisor with real child processes: a part that dies comes back, with backoff."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from reelhouse.embedded.children import ChildSpec
from reelhouse.embedded.restarts import RestartPolicy
from reelhouse.embedded.supervisor import Supervisor

pytestmark = pytest.mark.timeout(60)

# exits 0 on SIGTERM, as the services do
PART = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "time.sleep(600)\n"
)


async def always_ready() -> bool:
    return True


def spec(name: str) -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", PART], dict(os.environ), always_ready)


async def until(condition: Callable[[], bool], *, within: float = 20.0) -> None:
    """Wait, bounded, until ``condition`` holds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def wait_for_new_pid(supervisor: Supervisor, index: int, old: int) -> int:
    await until(lambda: supervisor.children[index].process.pid != old)
    return supervisor.children[index].process.pid


def logged(logs: list[MutableMapping[str, Any]], event: str, **fields: object) -> bool:
    return any(e["event"] == event and all(e.get(k) == v for k, v in fields.items()) for e in logs)


async def test_a_killed_part_is_restarted_with_growing_delays_while_the_others_run() -> None:
    supervisor = Supervisor(
        start_timeout=10,
        stop_timeout=5,
        restarts=RestartPolicy(base_delay=0.05, max_delay=1.0),
    )
    await supervisor.start_all([spec("worker"), spec("other")])
    other_pid = supervisor.children[1].process.pid
    stop = asyncio.Event()

    with capture_logs() as logs:
        supervising = asyncio.create_task(supervisor.supervise(stop))
        try:
            first = supervisor.children[0].process.pid
            os.kill(first, signal.SIGKILL)
            second = await wait_for_new_pid(supervisor, 0, first)
            os.kill(second, signal.SIGKILL)
            await wait_for_new_pid(supervisor, 0, second)
            await until(lambda: logged(logs, "embedded.part_restarted", attempt=2))
        finally:
            stop.set()
            await supervising
            await supervisor.stop_all()

    restarting = [e for e in logs if e["event"] == "embedded.part_restarting"]
    assert [(e["part"], e["code"], e["attempt"], e["delay"]) for e in restarting] == [
        ("worker", -signal.SIGKILL, 1, 0.05),
        ("worker", -signal.SIGKILL, 2, 0.1),
    ]
    assert all(e["log_level"] == "warning" for e in restarting)
    # the other part ran on untouched, and every part was stopped by SIGTERM at the end (a
    # part stopped before its handler is installed dies of the signal itself)
    assert supervisor.children[1].process.pid == other_pid
    assert {child.returncode for child in supervisor.children} <= {0, -signal.SIGTERM}


async def test_a_stop_during_the_backoff_restarts_nothing() -> None:
    supervisor = Supervisor(
        start_timeout=10, stop_timeout=5, restarts=RestartPolicy(base_delay=30.0)
    )
    await supervisor.start_all([spec("worker")])
    stop = asyncio.Event()
    with capture_logs() as logs:
        supervising = asyncio.create_task(supervisor.supervise(stop))
        first = supervisor.children[0].process.pid
        os.kill(first, signal.SIGKILL)
        await until(lambda: logged(logs, "embedded.part_restarting"))
        stop.set()
        await supervising
        await supervisor.stop_all()

    assert supervisor.children[0].process.pid == first
    assert not any(e["event"] == "embedded.started" for e in logs)
