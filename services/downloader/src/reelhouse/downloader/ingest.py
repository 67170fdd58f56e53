"""The use case: copy a job's provider outputs into our storage and describe them.

For each output: stream it to a temporary file (sha256 and limits on the way, magic bytes
judged from the first bytes), probe it with PyAV, make it ready to play (``moov`` moved to
the front when it trails, a poster JPEG for a video), store everything under deterministic
keys, so a redelivered job overwrites its own objects instead of adding new ones. Temporary
files are removed on every path. The result is ONE ``GenerationStored`` with a deterministic
id, so the broker drops the duplicate a redelivery would publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reelhouse.common.diskspace import disk_full_error
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import Asset, GenerationOutputReady, GenerationStored, OutputFile
from reelhouse.common.media.faststart import needs_faststart, remux_faststart
from reelhouse.common.media.poster import make_poster
from reelhouse.common.media.probe import MediaInfo, probe
from reelhouse.common.media.sniff import MediaType, require_media
from reelhouse.common.storage import ObjectStore, StorageUnavailableError
from reelhouse.downloader.fetch import Fetcher, Head
from reelhouse.downloader.retry import RetryPolicy

log = structlog.get_logger(__name__)

TEMP_PREFIX = "reelhouse-download-"
TEMP_SUFFIX = ".part"
# a new temporary file swept by another replica's start before it was locked: try again
NEW_TEMP_ATTEMPTS = 3


def output_key(job_id: str, index: int, ext: str) -> str:
    return f"outputs/{job_id}/{index}.{ext}"


def poster_key(job_id: str, index: int) -> str:
    return f"posters/{job_id}/{index}.jpg"


def stored_event_id(job_id: str) -> str:
    return f"{job_id}:stored"


def hold_temp_file(fd: int) -> bool:
    """Lock a new temporary file for this worker until it closes ``fd``; False when a sweep
    removed the file before the lock was ours (make another)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: the sweep goes by age there
        return True
    return os.fstat(fd).st_nlink > 0


def sweep_stale_downloads(temp_dir: Path, *, older_than: float, now: float | None = None) -> int:
    """Remove partial downloads a dead worker left behind; the count removed.

    A worker holds a lock on each of its temporary files while it uses them
    (``hold_temp_file``) and the kernel drops it when the worker dies, however it dies: a file
    nobody holds is a dead worker's and goes at once, while replicas sharing the directory
    keep theirs. On a file system without locks only files untouched for ``older_than``
    seconds go: longer than any live download lasts.
    """
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    for path in temp_dir.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # its worker finished with it, or another replica swept it first
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live worker's
            except OSError:
                if os.fstat(fd).st_mtime >= cutoff:
                    continue
            # removed while locked: a worker that made it a moment ago sees it gone and
            # makes another (hold_temp_file)
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


def classify(head: Head) -> MediaType:
    """Judge the first bytes: a supported media type, or ``not_media``."""
    return require_media(head.data, claimed_type=head.claimed_type, size=head.size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Finishing:
    """How outputs are made ready to play and how hard storing them is tried."""

    poster_width: int = 640
    poster_scan_seconds: float = 5.0
    store_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=3))


@dataclass(frozen=True, slots=True)
class Prepared:
    """The file to store (the download, or its remux) and the poster beside it."""

    path: Path
    size: int
    sha256: str
    poster: Path | None


@dataclass(slots=True)
class TempFiles:
    """One output's temporary files, and the descriptors that hold their locks."""

    paths: list[Path] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Ingestor:
    fetcher: Fetcher
    store: ObjectStore
    temp_dir: Path | None = None
    finishing: Finishing = field(default_factory=Finishing)

    async def ingest(self, event: GenerationOutputReady) -> GenerationStored:
        """Store every output of ``event``; the event to publish once all are stored."""
        if not event.outputs:
            raise PermanentError("provider_no_output")
        outputs = sorted(event.outputs, key=lambda o: o.index)
        try:
            assets = [await self._ingest_one(event, output) for output in outputs]
        except OSError as exc:
            # the temp files are gone already (``_temp_files``)
            full = disk_full_error(exc, self.temp_dir, event="download.disk_full")
            if full is None:
                raise
            raise full from exc
        return GenerationStored(
            event_id=stored_event_id(event.job_id), job_id=event.job_id, assets=assets
        )

    @contextlib.contextmanager
    def _temp_files(self) -> Iterator[TempFiles]:
        """Temporary files held for this block; every one is removed when it ends."""
        temps = TempFiles()
        try:
            yield temps
        finally:
            for path in temps.paths:
                path.unlink(missing_ok=True)
            for fd in temps.held:
                os.close(fd)

    def _new_temp(self, temps: TempFiles, suffix: str = "") -> Path:
        """A new temporary file, locked for as long as ``temps`` lives (see the sweep)."""
        for _ in range(NEW_TEMP_ATTEMPTS):
            fd, name = tempfile.mkstemp(
                prefix=TEMP_PREFIX, suffix=suffix + TEMP_SUFFIX, dir=self.temp_dir
            )
            if hold_temp_file(fd):
                temps.held.append(fd)
                temps.paths.append(Path(name))
                return temps.paths[-1]
            os.close(fd)
        raise TransientError("download_failed", "Temporary files kept being swept away.")

    async def _ingest_one(self, event: GenerationOutputReady, output: OutputFile) -> Asset:
        job_id = event.job_id
        with (
            structlog.contextvars.bound_contextvars(output_index=output.index),
            self._temp_files() as temps,
        ):
            path = self._new_temp(temps)
            with path.open("wb") as sink:
                fetched = await self.fetcher.fetch(
                    output.url,
                    sink,
                    classify,
                    provider=event.provider,
                    expires_at=output.expires_at,
                )
            media = fetched.verdict
            info = await probe(path, media)
            prepared = await asyncio.to_thread(
                self._prepare, path, media, info, temps, fetched.size, fetched.sha256
            )
            key = output_key(job_id, output.index, media.ext)
            stored_poster = None
            if prepared.poster is not None:
                stored_poster = poster_key(job_id, output.index)
                await self._store(stored_poster, prepared.poster, "image/jpeg")
            await self._store(key, prepared.path, media.content_type)
            log.info(
                "download.stored",
                key=key,
                poster_key=stored_poster,
                bytes=prepared.size,
                sha256=prepared.sha256,
                content_type=media.content_type,
                claimed_type=fetched.claimed_type,
                remuxed=prepared.path != path,
            )
            return Asset(
                index=output.index,
                key=key,
                content_type=media.content_type,
                size=prepared.size,
                sha256=prepared.sha256,
                poster_key=stored_poster,
                # kind, duration, dimensions, fps, codecs, bit rate: what the probe found
                **dataclasses.asdict(info),
            )

    def _prepare(
        self,
        path: Path,
        media: MediaType,
        info: MediaInfo,
        temps: TempFiles,
        size: int,
        sha256: str,
    ) -> Prepared:
        """Blocking: remux when ``moov`` trails, and draw the poster of a video."""
        if needs_faststart(path, media):
            remuxed = self._new_temp(temps, ".faststart")
            remux_faststart(path, remuxed, media)
            path, size, sha256 = remuxed, remuxed.stat().st_size, file_sha256(remuxed)
        poster = None
        if info.kind == "video":
            poster = self._new_temp(temps, ".poster")
            made = make_poster(
                path,
                poster,
                max_width=self.finishing.poster_width,
                scan_seconds=self.finishing.poster_scan_seconds,
            )
            poster = poster if made is not None else None
        return Prepared(path=path, size=size, sha256=sha256, poster=poster)

    async def _store(self, key: str, path: Path, content_type: str) -> None:
        """Upload, retried a few times in place before the broker's redelivery takes over."""
        policy = self.finishing.store_retry
        for attempt in range(1, policy.attempts + 1):
            try:
                await self.store.put_file(key, path, content_type=content_type)
                return
            except StorageUnavailableError as exc:
                if attempt >= policy.attempts:
                    raise TransientError("storage_unavailable", detail=str(exc)) from exc
                pause = policy.delay(attempt)
                log.warning("download.store_retrying", key=key, attempt=attempt, error=str(exc))
                await asyncio.sleep(pause)
