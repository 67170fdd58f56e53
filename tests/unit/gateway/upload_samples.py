"""Images, videos and audio made on the spot for the upload tests (Pillow, PyAV)."""

from __future__ import annotations

import io

import av
import numpy as np
from PIL import Image

ORIENTATION = 0x0112
MAKE = 0x010F
# EXIF orientation 6: the stored pixels must be turned 90° clockwise to be upright
ROTATE_CW = 6


def png_bytes(
    width: int = 32, height: int = 24, colour: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_with_exif(width: int = 40, height: int = 20) -> bytes:
    """A JPEG whose EXIF names a camera maker and says "rotate 90° clockwise"."""
    exif = Image.Exif()
    exif[MAKE] = "SecretCam GPS-Leaker"
    exif[ORIENTATION] = ROTATE_CW
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(
        buffer, format="JPEG", exif=exif.tobytes()
    )
    return buffer.getvalue()


def animated_gif() -> bytes:
    """Two frames: red, then blue."""
    frames = [Image.new("RGB", (16, 16), (255, 0, 0)), Image.new("RGB", (16, 16), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG that declares a huge canvas (one-bit pixels compress to almost nothing)."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


AUDIO_RATE = 44_100
# (FFmpeg's muxer, its encoder) of each audio type an upload takes
AUDIO_FORMATS = {"m4a": ("ipod", "aac"), "mp3": ("mp3", "libmp3lame"), "wav": ("wav", "pcm_s16le")}


def audio_bytes(extension: str, *, seconds: float = 1.0) -> bytes:
    """A 440 Hz tone as M4A (AAC), MP3 or WAV (``extension``); the encoder converts samples."""
    muxer, codec = AUDIO_FORMATS[extension]
    buffer = io.BytesIO()
    total = round(seconds * AUDIO_RATE)
    with av.open(buffer, mode="w", format=muxer) as out:
        stream = out.add_stream(codec, rate=AUDIO_RATE, layout="mono")
        assert isinstance(stream, av.AudioStream)
        for start in range(0, total, 1024):
            t = np.arange(start, min(total, start + 1024)) / AUDIO_RATE
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buffer.getvalue()
