"""Deleting uploads nobody used for the retention period: a bounded periodic sweep.

Each round lists at most ``sweep_batch`` uploads last used before the cutoff and, one by one,
deletes the row only if it is still unused (``DELETE … WHERE last_used < cutoff``: a submit
that used it meanwhile wins), then its object. Several gateways may sweep at once: a row
deleted by another is simply skipped. An object whose delete fails after its row went is
logged (``upload.sweep_object_left``); nothing refers to it any more.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.events import utcnow
from reelhouse.common.storage import ObjectStore
from reelhouse.gateway.background import stop_loop
from reelhouse.gateway.problems import DATABASE_DOWN
from reelhouse.gateway.uploads import repository
from reelhouse.gateway.uploads.settings import UploadSettings

log = structlog.get_logger(__name__)

SHUTDOWN_SECONDS = 5.0


class UploadSweeper:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        settings: UploadSettings,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self._stopping = asyncio.Event()

    def request_stop(self) -> None:
        self._stopping.set()

    async def sweep_once(self, *, now: datetime | None = None) -> int:
        """One round; the number of uploads deleted."""
        cutoff = (now or utcnow()) - timedelta(days=self._settings.retention_days)
        async with self._sessions() as session:
            expired = await repository.list_expired(
                session, cutoff=cutoff, limit=self._settings.sweep_batch
            )
        deleted = 0
        for upload_id, key in expired:
            if self._stopping.is_set():
                break
            async with self._sessions() as session:
                gone = await repository.delete_if_expired(
                    session, upload_id=upload_id, cutoff=cutoff
                )
                await session.commit()
            if not gone:
                continue
            deleted += 1
            try:
                await self._store.delete(key)
            except Exception as exc:
                log.warning("upload.sweep_object_left", upload_id=upload_id, error=repr(exc))
            else:
                log.info("upload.expired", upload_id=upload_id)
        return deleted

    async def run(self) -> None:
        """Sweep every ``sweep_interval_seconds`` until ``request_stop``."""
        while not self._stopping.is_set():
            try:
                await self.sweep_once()
            except DATABASE_DOWN as exc:
                log.warning("upload.sweep_failed", error=repr(exc))
            except Exception:
                log.exception("upload.sweep_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self._settings.sweep_interval_seconds
                )


async def _stop(sweeper: UploadSweeper, task: asyncio.Task[None]) -> None:
    await stop_loop(
        sweeper.request_stop,
        task,
        seconds=SHUTDOWN_SECONDS,
        timeout_event="upload.sweep_stop_timeout",
    )


def start_sweeper(
    stack: AsyncExitStack,
    *,
    sessions: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    settings: UploadSettings,
) -> UploadSweeper:
    """Start the sweep task; ``stack`` stops it within bounded time."""
    sweeper = UploadSweeper(sessions=sessions, store=store, settings=settings)
    task = asyncio.create_task(sweeper.run(), name="gateway-upload-sweep")
    stack.push_async_callback(_stop, sweeper, task)
    return sweeper
