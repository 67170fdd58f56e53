"""The gateway's background loops (outbox relay, webhook worker, upload sweep), stopped in bounded time.

A loop is asked to stop and given ``seconds`` to finish the round under way (so its transaction
commits); one that will not is cancelled, again within ``seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


async def stop_loop(
    request_stop: Callable[[], None],
    task: asyncio.Task[None],
    *,
    seconds: float,
    timeout_event: str,
) -> None:
    """Ask the loop to stop, wait for ``task``, cancel it (logged as ``timeout_event``) if late."""
    request_stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=seconds)
    except TimeoutError:
        log.warning(timeout_event, after=seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=seconds)
