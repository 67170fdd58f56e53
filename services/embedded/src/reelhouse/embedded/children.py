"""One child process of the launcher: how it starts, becomes ready and stops.

Children run in their own process group, so a Ctrl-C in the terminal reaches only the
launcher, which then stops them in order. On Linux each child also gets SIGKILL should the
launcher itself die without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from reelhouse.embedded.readiness import Probe

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1
PROBE_INTERVAL = 0.2


class ChildFailedError(Exception):
    """A child exited, or did not become ready in time."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(slots=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    ready: Probe
    # children stop from the highest tier down; NATS is tier 0, the services above it
    tier: int = 1


@dataclass(slots=True)
class Child:
    spec: ChildSpec
    process: asyncio.subprocess.Process
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    async def spawn(cls, spec: ChildSpec) -> Child:
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=dict(spec.env),
            stdin=asyncio.subprocess.DEVNULL,
            # stdout/stderr are inherited: the children's logs go where the launcher's go
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.info("embedded.started", part=spec.name, pid=process.pid)
        return cls(spec, process)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def ran_for(self) -> float:
        return time.monotonic() - self.started_at

    async def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise ChildFailedError(
                    f"{self.name} exited with code {self.process.returncode} while starting"
                )
            if await self.spec.ready():
                log.info(
                    "embedded.ready",
                    part=self.name,
                    pid=self.process.pid,
                    seconds=round(self.ran_for, 2),
                )
                return
            await asyncio.sleep(PROBE_INTERVAL)
        raise ChildFailedError(f"{self.name} was not ready after {within:.0f} s")

    async def stop(self, grace: float) -> None:
        """SIGTERM, then SIGKILL once ``grace`` seconds have passed."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                log.warning("embedded.kill", part=self.name, pid=self.process.pid, after=grace)
                self.kill()
                await self.process.wait()
        log.info("embedded.stopped", part=self.name, code=self.process.returncode)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
