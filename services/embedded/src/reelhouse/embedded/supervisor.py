"""The launcher's children as a whole: start them in tiers, restart any that dies, stop in order.

A part that dies while the system runs is started again after a backoff (``RestartPolicy``),
logged ``embedded.part_restarting`` with the part, its exit code, the attempt and the delay;
the other parts carry on, and the work it held is redelivered by JetStream once it is back.
Stopping is tier by tier from the top (workers first, NATS last), the parts of a tier together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from reelhouse.embedded.children import Child, ChildFailedError, ChildSpec
from reelhouse.embedded.restarts import RestartPolicy

log = structlog.get_logger(__name__)


class Supervisor:
    def __init__(
        self,
        *,
        start_timeout: float,
        stop_timeout: float,
        restarts: RestartPolicy | None = None,
    ) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.restarts = restarts or RestartPolicy()
        # the current process of every part, in start order (a restart replaces its entry)
        self.children: list[Child] = []
        self._spawning: set[asyncio.Task[Child]] = set()

    async def start(self, spec: ChildSpec) -> Child:
        child = await Child.spawn(spec)
        self.children.append(child)
        return child

    async def start_all(self, specs: Sequence[ChildSpec]) -> None:
        """Start ``specs`` together and wait until every one is ready (or raise)."""
        started = [await self.start(spec) for spec in specs]
        await asyncio.gather(*(child.wait_ready(self.start_timeout) for child in started))

    async def supervise(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set, start again every part that dies."""
        keepers = [asyncio.create_task(self._keep(index)) for index in range(len(self.children))]
        try:
            await stop.wait()
        finally:
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            # a restart cut short still recorded its process, so stop_all() stops it too
            await asyncio.gather(*self._spawning, return_exceptions=True)

    async def _keep(self, index: int) -> None:
        attempt = 0
        while True:
            child = self.children[index]
            await child.process.wait()
            attempt = self.restarts.next_attempt(attempt, ran_for=child.ran_for)
            delay = self.restarts.delay_for(attempt)
            log.warning(
                "embedded.part_restarting",
                part=child.name,
                code=child.returncode,
                attempt=attempt,
                delay=delay,
            )
            await asyncio.sleep(delay)
            replacement = await self._respawn(index)
            try:
                await replacement.wait_ready(self.start_timeout)
            except ChildFailedError as exc:
                log.error(
                    "embedded.restart_failed", part=child.name, attempt=attempt, error=str(exc)
                )
                await replacement.stop(self.stop_timeout)
                continue
            log.info(
                "embedded.part_restarted",
                part=child.name,
                pid=replacement.process.pid,
                attempt=attempt,
            )

    async def _respawn(self, index: int) -> Child:
        """Start the part at ``index`` again; shielded, so a stop never loses the new process."""

        async def spawn() -> Child:
            child = await Child.spawn(self.children[index].spec)
            self.children[index] = child
            return child

        task = asyncio.create_task(spawn())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)
        return await asyncio.shield(task)

    async def stop_all(self) -> None:
        """Stop every child, tier by tier from the top, the children of a tier together."""
        for tier in sorted({c.spec.tier for c in self.children}, reverse=True):
            group = [c for c in self.children if c.spec.tier == tier]
            await asyncio.gather(*(c.stop(self.stop_timeout) for c in group))

    def kill_all(self) -> None:
        for child in self.children:
            child.kill()
