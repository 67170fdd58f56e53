"""``composition.ready.v1`` messages made for tests, with their scenes stored for real."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

from reelhouse.common.composition_events import CompositionReady, SceneClip
from reelhouse.common.events import Asset
from reelhouse.common.storage import ObjectStore
from tests.unit.downloader.samples import write_mp4


def new_composition_id() -> str:
    return f"cmp_{uuid.uuid4().hex[:12]}"


async def make_scene(workdir: Path, key: str, *, seconds: float) -> tuple[Path, Asset]:
    """A real H.264/AAC clip of ``seconds`` made with PyAV, and its asset as if under ``key``."""
    path = workdir / f"{uuid.uuid4().hex}.mp4"
    await asyncio.to_thread(write_mp4, path, seconds=seconds, faststart=True)
    data = path.read_bytes()
    return path, Asset(
        index=0,
        key=key,
        content_type="video/mp4",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        kind="video",
        duration=seconds,
        width=64,
        height=48,
        fps=24.0,
    )


async def store_scene(store: ObjectStore, workdir: Path, key: str, *, seconds: float) -> Asset:
    """``make_scene``, stored under ``key``."""
    path, asset = await make_scene(workdir, key, seconds=seconds)
    await store.put_file(key, path, content_type="video/mp4")
    return asset


def composition_ready(
    composition_id: str, scenes: list[Asset], *, assembly: int = 1
) -> CompositionReady:
    return CompositionReady(
        event_id=f"{composition_id}:ready:{assembly}",
        job_id=composition_id,
        owner_id="owner-1",
        assembly=assembly,
        scenes=[
            SceneClip(index=i, job_id=f"job-{composition_id}-{i}", asset=asset)
            for i, asset in enumerate(scenes)
        ],
        key=f"compositions/{composition_id}/film.mp4",
        poster_key=f"compositions/{composition_id}/poster.jpg",
    )


async def wait_until(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Until ``condition()`` holds (bounded wait)."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.1)
