"""The use case: turn one ``composition.ready.v1`` into a stored film and its event.

A replayed assembly (its record exists) answers from the record. Otherwise: fetch the
scenes and the audio bed into a folder of this message's own, run the film function in a
worker thread, finish the film (faststart, probe, poster, sha256), store the poster, the
film and then the record, and answer ``CompositionAssembled`` with a deterministic id. The
folder is removed on every path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from reelhouse.assembler.filmmaker import FilmFacts, FilmMaker
from reelhouse.assembler.finishing import FilmLimits, FinishedFilm, finish_film
from reelhouse.assembler.inputs import fetch_inputs
from reelhouse.assembler.progress import Progress
from reelhouse.assembler.record import AssemblyRecord, load_record, save_record
from reelhouse.common.composition_events import CompositionAssembled, CompositionReady
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import Asset
from reelhouse.common.storage import ObjectStore, StorageUnavailableError

# a write that failed for lack of space (or quota): retried, never the composition's failure
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

log = structlog.get_logger(__name__)

TEMP_PREFIX = "reelhouse-assembly-"
FILM_CONTENT_TYPE = "video/mp4"
POSTER_CONTENT_TYPE = "image/jpeg"


def assembled_event_id(composition_id: str, assembly: int) -> str:
    return f"{composition_id}:assembled:{assembly}"


def failed_event_id(composition_id: str, assembly: int) -> str:
    return f"{composition_id}:assembly_failed:{assembly}"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one assembly may take and make (from the settings, ``app.build_limits``)."""

    max_scenes: int
    max_input_bytes: int
    film: FilmLimits
    storage_attempts: int
    # the pause before upload attempt n+1 is n times this
    storage_retry_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class Assembled:
    event: CompositionAssembled
    # answered from the record of an earlier delivery: nothing fetched, encoded or stored
    replayed: bool


@dataclass(frozen=True, slots=True)
class Assembler:
    store: ObjectStore
    make_film: FilmMaker
    # what ``make_film`` raises for a scene or track it cannot use
    film_error: type[Exception]
    limits: Limits
    # None: the system temporary directory
    temp_dir: Path | None = None

    async def assemble(self, event: CompositionReady, progress: Progress) -> Assembled:
        record = await load_record(self.store, event)
        if record is not None:
            log.info("assembly.replayed", key=event.key, method=record.method)
            return Assembled(_assembled(event, record), replayed=True)
        if len(event.scenes) > self.limits.max_scenes:
            raise PermanentError(
                "assembly_failed",
                f"The composition has {len(event.scenes)} scenes; the assembler joins at most "
                f"{self.limits.max_scenes}.",
            )
        known = sum(scene.asset.duration or 0.0 for scene in event.scenes)
        if known > self.limits.film.max_seconds:
            raise PermanentError(
                "assembly_failed",
                f"The scenes last {known:.1f} s together, longer than the assembler's limit of "
                f"{self.limits.film.max_seconds:g} s for a film.",
            )
        try:
            record = await self._assemble_in_temp(event, progress)
        except OSError as exc:
            if exc.errno not in DISK_FULL_ERRNOS:
                raise
            # the machine's trouble, not the scenes': the work dir is gone already, and a
            # later delivery finds the space freed
            where = str(self.temp_dir or tempfile.gettempdir())
            log.warning("assembly.disk_full", temp_dir=where, error=str(exc))
            raise TransientError(
                "disk_full", f"No space left in the temporary directory {where}."
            ) from exc
        return Assembled(_assembled(event, record), replayed=False)

    async def _assemble_in_temp(
        self, event: CompositionReady, progress: Progress
    ) -> AssemblyRecord:
        workdir = Path(
            await asyncio.to_thread(tempfile.mkdtemp, prefix=TEMP_PREFIX, dir=self.temp_dir)
        )
        try:
            return await self._assemble_in(event, workdir, progress)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _assemble_in(
        self, event: CompositionReady, workdir: Path, progress: Progress
    ) -> AssemblyRecord:
        inputs = await fetch_inputs(
            self.store,
            event,
            workdir,
            max_bytes=self.limits.max_input_bytes,
            beat=progress.beat,
        )
        target = workdir / "film.mp4"
        facts = await asyncio.to_thread(
            self._make, event, inputs.scenes, inputs.audio, target, workdir, progress
        )
        progress.beat()
        finished = await asyncio.to_thread(finish_film, target, workdir, self.limits.film)
        progress.beat()
        if finished.poster is not None:
            await self._store(event.poster_key, finished.poster, POSTER_CONTENT_TYPE)
        await self._store(event.key, finished.path, FILM_CONTENT_TYPE)
        record = AssemblyRecord(
            assembly=event.assembly, asset=_asset(event, finished), method=facts.method
        )
        await save_record(self.store, event, record, workdir)
        log.info(
            "assembly.stored",
            key=event.key,
            poster_key=event.poster_key if finished.poster is not None else None,
            bytes=finished.size,
            sha256=finished.sha256,
            method=facts.method,
            duration=finished.info.duration,
            scenes=len(inputs.scenes),
        )
        return record

    def _make(
        self,
        event: CompositionReady,
        scenes: list[Path],
        audio: Path | None,
        target: Path,
        workdir: Path,
        progress: Progress,
    ) -> FilmFacts:
        """Blocking: the film function, its refusal turned into ``assembly_failed``."""
        filmdir = workdir / "film"
        filmdir.mkdir()
        try:
            return self.make_film(
                scenes=scenes,
                audio=audio,
                transition=event.transition,
                output=event.output,
                target=target,
                workdir=filmdir,
                heartbeat=progress.beat,
            )
        except self.film_error as exc:
            raise PermanentError("assembly_failed", str(exc) or None) from exc

    async def _store(self, key: str, path: Path, content_type: str) -> None:
        """Upload, tried a few times in place: a redelivery would assemble the film again."""
        attempts = self.limits.storage_attempts
        for attempt in range(1, attempts + 1):
            try:
                await self.store.put_file(key, path, content_type=content_type)
                return
            except StorageUnavailableError as exc:
                if attempt >= attempts:
                    raise TransientError("storage_unavailable", detail=str(exc)) from exc
                log.warning("assembly.store_retrying", key=key, attempt=attempt, error=str(exc))
                await asyncio.sleep(self.limits.storage_retry_seconds * attempt)


def _asset(event: CompositionReady, finished: FinishedFilm) -> Asset:
    return Asset(
        index=0,
        key=event.key,
        content_type=FILM_CONTENT_TYPE,
        size=finished.size,
        sha256=finished.sha256,
        poster_key=event.poster_key if finished.poster is not None else None,
        # kind, duration, dimensions, fps, codecs, bit rate: what the probe found
        **dataclasses.asdict(finished.info),
    )


def _assembled(event: CompositionReady, record: AssemblyRecord) -> CompositionAssembled:
    return CompositionAssembled(
        event_id=assembled_event_id(event.job_id, event.assembly),
        job_id=event.job_id,
        assembly=event.assembly,
        asset=record.asset,
        method=record.method,
    )
