"""The use case: turn one ``composition.ready.v1`` into a stored film and its event.

A replayed assembly (its record exists) announces the recorded film again. Otherwise: fetch
the scenes and the audio bed into a folder of this message's own, run the film function in a
worker thread, finish the film (faststart, probe, poster, sha256), store the poster and the
film under this run's own keys (``run_keys``), and announce ``CompositionAssembled`` under
the assembly's deterministic id. The broker keeps the first announcement of an id: the run
whose announcement was first saves the record and deletes the films of the composition's
earlier assemblies; a run that comes second (it overlapped another, ADR 0014) deletes its
own film and poster. The folder is removed on every path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from reelhouse.assembler.filmmaker import FilmFacts, FilmMaker
from reelhouse.assembler.finishing import FilmLimits, FinishedFilm, finish_film
from reelhouse.assembler.inputs import fetch_inputs
from reelhouse.assembler.progress import Progress
from reelhouse.assembler.record import AssemblyRecord, load_record, record_key, save_record
from reelhouse.assembler.run_keys import new_run, run_key
from reelhouse.common.composition_events import CompositionAssembled, CompositionReady
from reelhouse.common.diskspace import disk_full_error
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import Asset
from reelhouse.common.storage import ObjectStore, StorageUnavailableError

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


# announces an assembly: False when the broker already had an announcement with its id
Announce = Callable[[CompositionAssembled], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Assembled:
    event: CompositionAssembled
    # answered from the record of an earlier delivery: nothing fetched, encoded or stored
    replayed: bool
    # another run of this assembly announced first: this run's film and poster were deleted
    superseded: bool = False


@dataclass(frozen=True, slots=True)
class Assembler:
    store: ObjectStore
    make_film: FilmMaker
    # what ``make_film`` raises for a scene or track it cannot use
    film_error: type[Exception]
    limits: Limits
    # None: the system temporary directory
    temp_dir: Path | None = None

    async def assemble(
        self, event: CompositionReady, progress: Progress, announce: Announce
    ) -> Assembled:
        record = await load_record(self.store, event)
        if record is not None:
            log.info("assembly.replayed", key=record.asset.key, method=record.method)
            replayed = _assembled(event, record)
            await announce(replayed)
            return Assembled(replayed, replayed=True)
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
            return await self._assemble_in_temp(event, progress, announce)
        except OSError as exc:
            # the work dir is gone already
            full = disk_full_error(exc, self.temp_dir, event="assembly.disk_full")
            if full is None:
                raise
            raise full from exc

    async def _assemble_in_temp(
        self, event: CompositionReady, progress: Progress, announce: Announce
    ) -> Assembled:
        workdir = Path(
            await asyncio.to_thread(tempfile.mkdtemp, prefix=TEMP_PREFIX, dir=self.temp_dir)
        )
        try:
            return await self._assemble_in(event, workdir, progress, announce)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _assemble_in(
        self, event: CompositionReady, workdir: Path, progress: Progress, announce: Announce
    ) -> Assembled:
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
        run = new_run()
        asset = _asset(event, finished, run)
        if asset.poster_key is not None and finished.poster is not None:
            await self._store(asset.poster_key, finished.poster, POSTER_CONTENT_TYPE)
        await self._store(asset.key, finished.path, FILM_CONTENT_TYPE)
        record = AssemblyRecord(assembly=event.assembly, asset=asset, method=facts.method)
        assembled = _assembled(event, record)
        if not await announce(assembled):
            await self._discard(asset)
            log.info("assembly.superseded", run=run, key=asset.key)
            return Assembled(assembled, replayed=False, superseded=True)
        await self._save_record(event, record, workdir)
        await self._drop_earlier(event)
        log.info(
            "assembly.stored",
            run=run,
            key=asset.key,
            poster_key=asset.poster_key,
            bytes=finished.size,
            sha256=finished.sha256,
            method=facts.method,
            duration=finished.info.duration,
            scenes=len(inputs.scenes),
        )
        return Assembled(assembled, replayed=False)

    async def _save_record(
        self, event: CompositionReady, record: AssemblyRecord, workdir: Path
    ) -> None:
        """The announced film's record, so a redelivery announces it again without assembling;
        without it a redelivery assembles again and is superseded, so a failure only costs time."""
        try:
            await save_record(self.store, event, record, workdir)
        except TransientError as exc:
            log.warning("assembly.record_unsaved", key=record.asset.key, error=str(exc))

    async def _drop_earlier(self, event: CompositionReady) -> None:
        """Delete the films of the composition's earlier assemblies, now that this one is
        announced (a retried composition cleared its outputs when it was retried)."""
        for assembly in range(1, event.assembly):
            try:
                earlier = await load_record(self.store, event, assembly)
                if earlier is None:
                    continue
                await self._discard(earlier.asset)
                await self.store.delete(record_key(event, assembly))
            except (TransientError, StorageUnavailableError) as exc:
                log.warning("assembly.earlier_kept", earlier=assembly, error=str(exc))
                continue
            log.info("assembly.earlier_dropped", earlier=assembly, key=earlier.asset.key)

    async def _discard(self, asset: Asset) -> None:
        """Delete a superseded run's film and poster (best effort: at worst they are left over)."""
        for key in (asset.key, asset.poster_key):
            if key is None:
                continue
            try:
                await self.store.delete(key)
            except StorageUnavailableError as exc:
                log.warning("assembly.discard_failed", key=key, error=str(exc))

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


def _asset(event: CompositionReady, finished: FinishedFilm, run: str) -> Asset:
    return Asset(
        index=0,
        key=run_key(event.key, run),
        content_type=FILM_CONTENT_TYPE,
        size=finished.size,
        sha256=finished.sha256,
        poster_key=run_key(event.poster_key, run) if finished.poster is not None else None,
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
