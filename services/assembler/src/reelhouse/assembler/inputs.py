"""Fetch a composition's scenes and audio bed from the object store into the assembly's folder.

Each object is streamed chunk by chunk to a file (never held in memory), the total bounded by
``max_bytes``. A scene missing from storage fails the composition (``assembly_failed``, the
message names the scene); an unreachable store is transient (the message comes back later).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import structlog

from reelhouse.common.composition_events import CompositionReady
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.storage import ObjectNotFoundError, ObjectStore, StorageUnavailableError

log = structlog.get_logger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Inputs:
    """The local copies, scenes in film order."""

    scenes: list[Path]
    audio: Path | None
    size: int


def _suffix(key: str) -> str:
    """The key's extension (``.mp4``), kept so a demuxer guessing from the name guesses right."""
    suffix = PurePosixPath(key).suffix
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""


class _Budget:
    """Bytes left for this assembly's inputs."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if self.used > self.max_bytes:
            raise PermanentError(
                "assembly_failed",
                f"The scenes and audio of this composition exceed the assembler's limit of "
                f"{self.max_bytes // MIB} MiB (at {what}).",
            )


async def _fetch(
    store: ObjectStore,
    key: str,
    target: Path,
    *,
    what: str,
    budget: _Budget,
    beat: Callable[[], None],
) -> None:
    handle: BinaryIO = await asyncio.to_thread(target.open, "wb")
    try:
        async for chunk in store.read_range(key):
            budget.take(len(chunk), what)
            await asyncio.to_thread(handle.write, chunk)
            beat()
    except ObjectNotFoundError as exc:
        raise PermanentError(
            "assembly_failed", f"{what} is missing from storage (key {key!r})."
        ) from exc
    except StorageUnavailableError as exc:
        raise TransientError("storage_unavailable", detail=f"{what}: {exc}") from exc
    finally:
        await asyncio.to_thread(handle.close)


async def fetch_inputs(
    store: ObjectStore,
    event: CompositionReady,
    workdir: Path,
    *,
    max_bytes: int,
    beat: Callable[[], None],
) -> Inputs:
    """Copy every scene of ``event`` (in ``index`` order) and its audio bed into ``workdir``."""
    budget = _Budget(max_bytes)
    claimed = sum(scene.asset.size for scene in event.scenes)
    if claimed > max_bytes:
        budget.take(claimed, f"{len(event.scenes)} scenes of {claimed // MIB} MiB")
    scenes: list[Path] = []
    for position, scene in enumerate(sorted(event.scenes, key=lambda s: s.index)):
        target = workdir / f"scene-{position:03d}{_suffix(scene.asset.key)}"
        what = f"Scene {scene.index} (job {scene.job_id})"
        await _fetch(store, scene.asset.key, target, what=what, budget=budget, beat=beat)
        scenes.append(target)
    audio = None
    if event.audio is not None:
        audio = workdir / f"audio{_suffix(event.audio.key)}"
        what = f"The audio track ({event.audio.source} {event.audio.reference})"
        await _fetch(store, event.audio.key, audio, what=what, budget=budget, beat=beat)
    log.info(
        "assembly.inputs_fetched", scenes=len(scenes), audio=audio is not None, bytes=budget.used
    )
    return Inputs(scenes=scenes, audio=audio, size=budget.used)
