"""The use case: copy a job's provider outputs into our storage and describe them.

For each output: stream it to a temporary file (sha256 and limits on the way, magic bytes
judged from the first bytes), probe it with PyAV, store it under a deterministic key, so a
redelivered job overwrites its own objects instead of adding new ones. The temporary file
is removed on every path. The result is ONE ``GenerationStored`` with a deterministic id,
so the broker drops the duplicate a redelivery would publish.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import Asset, GenerationOutputReady, GenerationStored, OutputFile
from reelhouse.common.storage import ObjectStore, StorageUnavailableError
from reelhouse.downloader.fetch import Fetcher, Head
from reelhouse.downloader.probe import probe
from reelhouse.downloader.sniff import MediaType, require_media

log = structlog.get_logger(__name__)

TEMP_PREFIX = "reelhouse-download-"
TEMP_SUFFIX = ".part"


def output_key(job_id: str, index: int, ext: str) -> str:
    return f"outputs/{job_id}/{index}.{ext}"


def stored_event_id(job_id: str) -> str:
    return f"{job_id}:stored"


def sweep_stale_downloads(temp_dir: Path, *, older_than: float, now: float | None = None) -> int:
    """Remove partial downloads a killed worker left behind; the count removed.

    Only files untouched for ``older_than`` seconds go: longer than any live download lasts,
    so replicas sharing a temporary directory never lose each other's files.
    """
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    for path in temp_dir.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another replica swept it first
    return removed


def classify(head: Head) -> MediaType:
    """Judge the first bytes: a supported media type, or ``not_media``."""
    return require_media(head.data, claimed_type=head.claimed_type, size=head.size)


@dataclass(frozen=True, slots=True)
class Ingestor:
    fetcher: Fetcher
    store: ObjectStore
    temp_dir: Path | None = None

    async def ingest(self, event: GenerationOutputReady) -> GenerationStored:
        """Store every output of ``event``; the event to publish once all are stored."""
        if not event.outputs:
            raise PermanentError("provider_no_output")
        outputs = sorted(event.outputs, key=lambda o: o.index)
        assets = [await self._ingest_one(event.job_id, output) for output in outputs]
        return GenerationStored(
            event_id=stored_event_id(event.job_id), job_id=event.job_id, assets=assets
        )

    async def _ingest_one(self, job_id: str, output: OutputFile) -> Asset:
        with structlog.contextvars.bound_contextvars(output_index=output.index):
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=self.temp_dir)
            path = Path(name)
            try:
                with os.fdopen(fd, "wb") as sink:
                    fetched = await self.fetcher.fetch(output.url, sink, classify)
                media = fetched.verdict
                info = await probe(path, media)
                key = output_key(job_id, output.index, media.ext)
                await self._store(key, path, media.content_type)
                log.info(
                    "download.stored",
                    key=key,
                    bytes=fetched.size,
                    sha256=fetched.sha256,
                    content_type=media.content_type,
                    claimed_type=fetched.claimed_type,
                )
                return Asset(
                    index=output.index,
                    key=key,
                    content_type=media.content_type,
                    size=fetched.size,
                    sha256=fetched.sha256,
                    kind=info.kind,
                    duration=info.duration,
                    width=info.width,
                    height=info.height,
                    fps=info.fps,
                    video_codec=info.video_codec,
                    audio_codec=info.audio_codec,
                    bit_rate=info.bit_rate,
                )
            finally:
                await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _store(self, key: str, path: Path, content_type: str) -> None:
        try:
            await self.store.put_file(key, path, content_type=content_type)
        except StorageUnavailableError as exc:
            raise TransientError("storage_unavailable", detail=str(exc)) from exc
