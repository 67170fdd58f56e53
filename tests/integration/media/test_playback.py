"""A real media client (FFmpeg through PyAV) plays and seeks a served MP4 over HTTP.

The store behind the service records every read, so the tests see what FFmpeg
asked for: range requests that jump to the index and to the seek target, never
one download of the whole file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import ObjectStore, build_object_store
from reelhouse.media.s3reader import S3Reader
from reelhouse.media.settings import Settings
from tests.integration.media.clips import Clip, write_mp4
from tests.integration.media.media_server import serving
from tests.support.recording_store import RecordingStore

KEY = "outputs/job-av/0.mp4"
SMALL = Clip(width=320, height=240, fps=25, seconds=2, keyframe_every=12)
# 3 s of incompressible 720p frames (about 50 MB): far more than socket buffers hold
LARGE = Clip(
    width=1280, height=720, fps=12, seconds=3, keyframe_every=6, faststart=True, noise=True, crf=1
)


@dataclass
class Served:
    url: str
    store: RecordingStore
    size: int


async def serve_clip(media_settings: Settings, tmp_path: Path, clip: Clip) -> AsyncIterator[Served]:
    storage = media_settings.storage
    inner: ObjectStore = (
        S3Reader(storage.s3) if storage.backend == "s3" else build_object_store(storage)
    )
    store = RecordingStore(inner)
    source = tmp_path / "clip.mp4"
    write_mp4(source, clip)
    await store.ensure_ready()
    info = await store.put_file(KEY, source, content_type="video/mp4")
    signer = UrlSigner(media_settings.signing.require_keys(), media_settings.signing.active_key_id)
    try:
        async with serving(media_settings, store=store) as base_url:
            yield Served(signer.signed_url(base_url, KEY, ttl_seconds=600), store, info.size)
    finally:
        if isinstance(inner, S3Reader):
            await inner.close()


@pytest.fixture
async def small_clip(media_settings: Settings, tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve_clip(media_settings, tmp_path, SMALL):
        yield served


@pytest.fixture
async def large_clip(media_settings: Settings, tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve_clip(media_settings, tmp_path, LARGE):
        yield served


def play_and_seek(url: str, seek_to: float) -> tuple[tuple[int, int], float, float]:
    """(size of the first frame, its time, the time of the first frame decoded after a seek)."""
    with av.open(url, timeout=10.0) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        container.seek(int(seek_to * av.time_base), backward=True)
        after_seek = next(container.decode(stream))
        assert first.time is not None
        assert after_seek.time is not None
        return (first.width, first.height), first.time, after_seek.time


async def test_pyav_plays_and_seeks_an_mp4_whose_index_is_at_the_end(
    small_clip: Served,
) -> None:
    size, first_time, seek_time = await asyncio.wait_for(
        asyncio.to_thread(play_and_seek, small_clip.url, 1.5), timeout=60
    )

    assert size == (SMALL.width, SMALL.height)
    assert first_time == 0
    # seeking lands on the keyframe at or before 1.5 s (there is one every half second)
    assert 1.0 <= seek_time <= 1.5


async def test_pyav_seeking_to_the_middle_reads_ranges_not_the_whole_file(
    large_clip: Served,
) -> None:
    middle = LARGE.seconds / 2
    _, _, seek_time = await asyncio.wait_for(
        asyncio.to_thread(play_and_seek, large_clip.url, middle), timeout=60
    )

    assert middle - 0.5 <= seek_time <= middle
    reads = large_clip.store.reads
    assert len(reads) >= 2
    # the seek became a request that starts in the middle of the file …
    assert any(large_clip.size // 4 < start < large_clip.size * 3 // 4 for start, _ in reads)
    # … and the service read well under the whole file from storage
    assert large_clip.store.bytes_read < large_clip.size * 3 // 4
