"""A real media client (FFmpeg through PyAV) plays and seeks a served MP4 over HTTP.

The MP4 keeps its index (moov) at the end, so opening it already needs range requests.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.integration.media.media_server import MediaServer

WIDTH, HEIGHT, FPS, SECONDS = 320, 240, 25, 2
SAMPLE_RATE = 48_000
KEYFRAME_EVERY = FPS // 2
KEY = "outputs/job-av/0.mp4"


def write_mp4(path: Path) -> None:
    """A small H.264 + AAC file, moving colours so frames differ."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.gop_size = KEYFRAME_EVERY
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        for index in range(FPS * SECONDS):
            image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
            image[:, :, 0] = (index * 5) % 256
            image[:, : (index * 4) % WIDTH, 1] = 200
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples_per_frame = 1024
        for index in range(SAMPLE_RATE * SECONDS // samples_per_frame):
            t = np.arange(samples_per_frame) + index * samples_per_frame
            tone = (0.2 * np.sin(2 * np.pi * 440 * t / SAMPLE_RATE)).astype(np.float32)
            sound = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
            sound.sample_rate = SAMPLE_RATE
            sound.pts = index * samples_per_frame
            sound.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))


def play_and_seek(url: str) -> tuple[tuple[int, int], float, float]:
    """(size of the first frame, its time, the time of the first frame decoded after a seek)."""
    with av.open(url, timeout=10.0) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        container.seek(int(1.5 * av.time_base), backward=True)
        after_seek = next(container.decode(stream))
        assert first.time is not None
        assert after_seek.time is not None
        return (first.width, first.height), first.time, after_seek.time


async def test_pyav_plays_and_seeks_a_served_mp4(media: MediaServer, tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    write_mp4(source)
    await media.store.put_file(KEY, source, content_type="video/mp4")

    size, first_time, seek_time = await asyncio.wait_for(
        asyncio.to_thread(play_and_seek, media.url(KEY)), timeout=60
    )

    assert size == (WIDTH, HEIGHT)
    assert first_time == 0
    # seeking lands on the keyframe at or before 1.5 s (there is one every half second)
    assert 1.0 <= seek_time <= 1.5
