"""Tiny real media for the film tests: solid-colour clips (with a moving box) and tones."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

AUDIO_RATE = 48_000
AAC_FRAME = 1024

RED = (220, 30, 30)
BLUE = (30, 30, 220)
GREEN = (30, 200, 30)


@dataclass(frozen=True, slots=True)
class Clip:
    width: int = 160
    height: int = 90
    fps: int = 12
    seconds: float = 1.0
    colour: tuple[int, int, int] = RED
    tone_hz: float | None = None  # a sine audio track too
    codec: str = "libx264"
    box: bool = True  # a small white box moving across (so frames differ)

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)


def _picture(clip: Clip, index: int) -> npt.NDArray[np.uint8]:
    pixels = np.empty((clip.height, clip.width, 3), dtype=np.uint8)
    pixels[:, :] = clip.colour
    if clip.box:
        side = max(2, clip.height // 8)
        left = (index * 3) % max(1, clip.width - side)
        pixels[:side, left : left + side] = 255
    return pixels


def _tone(hz: float, start: int, count: int, amplitude: float = 0.3) -> npt.NDArray[np.float32]:
    n = np.arange(start, start + count, dtype=np.float64)
    return (amplitude * np.sin(math.tau * hz * n / AUDIO_RATE)).astype(np.float32)[None, :]


def write_clip(path: Path, clip: Clip) -> Path:
    """Encode ``clip`` at ``path`` (MP4 or WebM by suffix)."""
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(clip.codec, rate=Fraction(clip.fps))
        assert isinstance(video, av.VideoStream)
        video.width = clip.width
        video.height = clip.height
        video.pix_fmt = "yuv420p"
        audio: av.AudioStream | None = None
        if clip.tone_hz is not None:
            codec = "libopus" if path.suffix == ".webm" else "aac"
            added = container.add_stream(codec, rate=AUDIO_RATE, layout="mono")
            assert isinstance(added, av.AudioStream)
            audio = added
        total_samples = round(clip.seconds * AUDIO_RATE)
        written = 0
        for index in range(clip.frames):
            frame = av.VideoFrame.from_ndarray(_picture(clip, index), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
            if audio is not None and clip.tone_hz is not None:
                until = min(total_samples, round((index + 1) / clip.fps * AUDIO_RATE))
                while written < until:
                    count = min(AAC_FRAME, until - written)
                    if path.suffix == ".webm":
                        count = min(960, until - written)
                    chunk = av.AudioFrame.from_ndarray(
                        _tone(clip.tone_hz, written, count), format="fltp", layout="mono"
                    )
                    chunk.sample_rate = AUDIO_RATE
                    chunk.pts = written
                    container.mux(audio.encode(chunk))
                    written += count
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))
    return path


def write_tone(path: Path, seconds: float, hz: float = 440.0, amplitude: float = 0.5) -> Path:
    """A steady sine, ``seconds`` long, as AAC in an M4A (or MP3/WAV by suffix)."""
    codec = {".mp3": "libmp3lame", ".wav": "pcm_s16le"}.get(path.suffix, "aac")
    container_format = "ipod" if path.suffix == ".m4a" else None
    total = round(seconds * AUDIO_RATE)
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=AUDIO_RATE, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame_size = stream.codec_context.frame_size or AAC_FRAME
        written = 0
        while written < total:
            count = min(frame_size, total - written)
            if codec == "pcm_s16le":
                samples = (_tone(hz, written, count, amplitude) * 32767).astype(np.int16)
                chunk = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            else:
                chunk = av.AudioFrame.from_ndarray(
                    _tone(hz, written, count, amplitude), format="fltp", layout="mono"
                )
            chunk.sample_rate = AUDIO_RATE
            chunk.pts = written
            container.mux(stream.encode(chunk))
            written += count
        container.mux(stream.encode(None))
    return path


def top_level_boxes(path: Path) -> list[str]:
    """The types of the MP4's top-level boxes, in file order (reading only their headers)."""
    boxes: list[str] = []
    size_total = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= size_total:
            handle.seek(offset)
            size, kind = struct.unpack(">I4s", handle.read(8))
            if size == 1:
                (size,) = struct.unpack(">Q", handle.read(8))
            elif size == 0:
                size = size_total - offset
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes
