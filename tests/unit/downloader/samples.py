"""Real media files made on the spot with PyAV and Pillow, for the probe and the download tests."""

from __future__ import annotations

import io
import random
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

AUDIO_RATE = 44_100
AUDIO_FRAME = 1024


def _frame(index: int, width: int, height: int, noise: random.Random | None) -> av.VideoFrame:
    if noise is not None:
        image = Image.frombytes("RGB", (width, height), noise.randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), ((index * 8) % 256, 200, 60))
    return av.VideoFrame.from_bytes(image.convert("RGBA").tobytes(), width, height, format="rgba")


def _black(width: int, height: int) -> av.VideoFrame:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    return av.VideoFrame.from_bytes(image.tobytes(), width, height, format="rgba")


def _silence(index: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="fltp", layout="mono", samples=AUDIO_FRAME)
    frame.planes[0].update(bytes(frame.planes[0].buffer_size))
    frame.sample_rate = AUDIO_RATE
    frame.pts = index * AUDIO_FRAME
    frame.time_base = Fraction(1, AUDIO_RATE)
    return frame


def _encode_silence(
    out: av.container.OutputContainer, stream: av.AudioStream, seconds: float
) -> None:
    for i in range(round(seconds * AUDIO_RATE / AUDIO_FRAME)):
        for packet in stream.encode(_silence(i)):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def write_mp4(
    path: Path,
    *,
    seconds: float = 1.0,
    width: int = 64,
    height: int = 48,
    fps: int = 24,
    audio: bool = True,
    noisy: bool = False,
    faststart: bool = False,
    black_frames: int = 0,
) -> Path:
    """An H.264 (+ AAC) MP4; ``noisy`` frames make it large, for slow and oversized transfers.

    ``faststart`` puts ``moov`` first (as the downloader stores it); without it ``moov``
    trails ``mdat``, as many encoders write it. The first ``black_frames`` are black.
    """
    noise = random.Random(7) if noisy else None
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", format="mp4", container_options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=AUDIO_RATE) if audio else None
        for i in range(round(seconds * fps)):
            frame = _black(width, height) if i < black_frames else _frame(i, width, height, noise)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            _encode_silence(out, sound, seconds)
    return path


def write_m4a(path: Path, *, seconds: float = 1.0) -> Path:
    """AAC audio alone in an MP4 container (the container says video, the streams say audio)."""
    with av.open(str(path), mode="w", format="mp4") as out:
        _encode_silence(out, out.add_stream("aac", rate=AUDIO_RATE), seconds)
    return path


def image_bytes(fmt: str, *, width: int = 32, height: int = 24) -> bytes:
    """A small image in a Pillow format (``PNG``, ``JPEG``, ``GIF``, ``WEBP``)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(buffer, format=fmt)
    return buffer.getvalue()
