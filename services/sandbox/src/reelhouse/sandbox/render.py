"""Real media rendering: short H.264/AAC MP4 videos and PNG images showing the prompt.

Pure and synchronous: the runner calls these in a worker thread. Files are written to a
temporary name beside the target and renamed into place, so a reader never sees half a file.
A render can report progress and be stopped between frames.
"""

from __future__ import annotations

import functools
import math
import os
import random
import struct
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

AUDIO_RATE = 48_000
AUDIO_FRAME_SAMPLES = 1024  # the AAC encoder's frame size
TONE_HZ = 440.0

ProgressCallback = Callable[[int, int], None]
StopCheck = Callable[[], bool]


class RenderStoppedError(Exception):
    """The render was asked to stop before it finished."""


@dataclass(frozen=True, slots=True)
class VideoSpec:
    prompt: str
    duration: float
    width: int
    height: int
    fps: int
    seed: int
    # ``moov`` before ``mdat`` (ready to stream); False writes it at the end, as many encoders do
    faststart: bool = True
    # the first seconds are plain black frames (a fade-in, or a model warming up)
    black_seconds: float = 0.0
    # grow the file to about this many bytes with a ``free`` box at the end (still valid media)
    pad_to_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ImageSpec:
    prompt: str
    width: int
    height: int
    seed: int


@dataclass(frozen=True, slots=True)
class Rendered:
    path: Path
    content_type: str
    size: int


def _never_stop() -> bool:
    return False


def _no_progress(_done: int, _total: int) -> None:
    return None


def _palette(seed: int) -> tuple[float, float, float]:
    rng = random.Random(seed)  # noqa: S311 (colours, not cryptography)
    return (rng.random() * math.tau, rng.random() * math.tau, rng.random() * math.tau)


def _background(
    width: int, height: int, phase: float, palette: tuple[float, float, float]
) -> npt.NDArray[np.uint8]:
    """A diagonal colour wave; ``phase`` moves it, so consecutive frames differ."""
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    wave = (xs * 2.0 + ys) * math.tau - phase
    channels = [127.5 + 100.0 * np.sin(wave + offset) for offset in palette]
    pixels: npt.NDArray[np.uint8] = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    return pixels


@functools.lru_cache(maxsize=16)
def _font(height: int, divisor: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, height // divisor))


def _text_layer(prompt: str, width: int, height: int) -> Image.Image:
    """The prompt, wrapped and centred on a translucent band (drawn once per render)."""
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(height, 12)
    columns = max(8, int(width / max(1.0, draw.textlength("M", font=font))) * 3 // 2)
    lines = textwrap.wrap(prompt, width=columns, max_lines=4, placeholder=" …") or [" "]
    text = "\n".join(lines)
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, align="center")
    x = (width - (right - left)) // 2 - left
    y = (height - (bottom - top)) // 2 - top
    pad = max(2, height // 40)
    draw.rectangle(
        (x + left - pad, y + top - pad, x + right + pad, y + bottom + pad), fill=(0, 0, 0, 140)
    )
    draw.multiline_text((x, y), text, font=font, fill=(255, 255, 255, 255), align="center")
    return layer


def _frame(
    spec_width: int,
    spec_height: int,
    t: float,
    palette: tuple[float, float, float],
    text: Image.Image,
    label: str,
) -> Image.Image:
    image = Image.fromarray(_background(spec_width, spec_height, t * math.pi, palette), "RGB")
    image.paste(text, (0, 0), text)
    draw = ImageDraw.Draw(image)
    # a ball bouncing along the bottom, and a running clock in the corner
    radius = max(3, spec_height // 16)
    span = max(1, spec_width - 2 * radius)
    cx = radius + int(abs((t * 0.5 % 2.0) - 1.0) * span)
    cy = spec_height - 2 * radius
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255))
    draw.text((4, 4), label, font=_font(spec_height, 18), fill=(255, 255, 255))
    return image


def _tone(start_sample: int, count: int) -> npt.NDArray[np.float32]:
    n = np.arange(start_sample, start_sample + count, dtype=np.float64)
    return (0.2 * np.sin(math.tau * TONE_HZ * n / AUDIO_RATE)).astype(np.float32)[None, :]


PAD_BLOCK = 1024 * 1024


def pad_with_free_box(path: Path, total_bytes: int) -> None:
    """Append one ISO-BMFF ``free`` box so ``path`` reaches ``total_bytes`` (if it is smaller).

    Players and demuxers skip ``free`` boxes, so the file still decodes exactly as before; the
    filler is a repeated random block, so nothing on the way can compress it away.
    """
    missing = total_bytes - path.stat().st_size
    if missing < 16:
        return
    header = struct.pack(">I4sQ", 1, b"free", missing)  # 64-bit size: works past 4 GiB
    block = random.Random(missing).randbytes(PAD_BLOCK)  # noqa: S311 (filler, not crypto)
    remaining = missing - len(header)
    with path.open("ab") as handle:
        handle.write(header)
        while remaining > 0:
            piece = block[: min(PAD_BLOCK, remaining)]
            handle.write(piece)
            remaining -= len(piece)


def _replace(tmp: Path, target: Path, content_type: str) -> Rendered:
    os.replace(tmp, target)
    return Rendered(path=target, content_type=content_type, size=target.stat().st_size)


FrameSource = Callable[[int], Image.Image]


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a clip is written: its frame size, rate and length, and the file's layout."""

    width: int
    height: int
    fps: int
    duration: float
    # ``moov`` before ``mdat`` (ready to stream); False writes it at the end
    faststart: bool = True
    # grow the file to about this many bytes with a ``free`` box at the end
    pad_to_bytes: int | None = None

    @property
    def total_frames(self) -> int:
        return max(1, round(self.duration * self.fps))


def encode_mp4(
    encoding: Encoding,
    frame_at: FrameSource,
    target: Path,
    *,
    progress: ProgressCallback = _no_progress,
    should_stop: StopCheck = _never_stop,
) -> Rendered:
    """Encode the frames ``frame_at(0 … total_frames - 1)`` (RGB, the encoding's size) with a
    440 Hz tone as an MP4 (H.264 yuv420p + AAC) at ``target``; stops between frames."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    fps = encoding.fps
    total_frames = encoding.total_frames
    total_samples = round(total_frames / fps * AUDIO_RATE)
    options = {"movflags": "+faststart"} if encoding.faststart else {}
    try:
        with av.open(str(tmp), mode="w", format="mp4", container_options=options) as container:
            video = container.add_stream(
                "libx264", rate=Fraction(fps), options={"preset": "veryfast", "crf": "26"}
            )
            video.width = encoding.width
            video.height = encoding.height
            video.pix_fmt = "yuv420p"
            video.codec_context.gop_size = fps  # a keyframe every second: cheap seeking
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            samples_written = 0
            for index in range(total_frames):
                if should_stop():
                    raise RenderStoppedError
                frame = av.VideoFrame.from_ndarray(np.asarray(frame_at(index)), format="rgb24")
                frame.pts = index
                container.mux(video.encode(frame))
                # keep the audio up to the end of this video frame
                audio_until = min(total_samples, round((index + 1) / fps * AUDIO_RATE))
                while samples_written < audio_until:
                    count = min(AUDIO_FRAME_SAMPLES, total_samples - samples_written)
                    chunk = av.AudioFrame.from_ndarray(
                        _tone(samples_written, count), format="fltp", layout="mono"
                    )
                    chunk.sample_rate = AUDIO_RATE
                    chunk.pts = samples_written
                    container.mux(audio.encode(chunk))
                    samples_written += count
                progress(index + 1, total_frames)
            container.mux(video.encode(None))
            container.mux(audio.encode(None))
        if encoding.pad_to_bytes is not None:
            pad_with_free_box(tmp, encoding.pad_to_bytes)
        return _replace(tmp, target, "video/mp4")
    finally:
        tmp.unlink(missing_ok=True)


def render_video(
    spec: VideoSpec,
    target: Path,
    *,
    progress: ProgressCallback = _no_progress,
    should_stop: StopCheck = _never_stop,
) -> Rendered:
    """Encode ``spec`` as an MP4 (H.264 yuv420p + AAC, ``moov`` first unless asked) at ``target``."""
    palette = _palette(spec.seed)
    text = _text_layer(spec.prompt, spec.width, spec.height)
    black = Image.new("RGB", (spec.width, spec.height))

    def frame_at(index: int) -> Image.Image:
        t = index / spec.fps
        if t < spec.black_seconds:
            return black
        label = f"{t:05.2f}s  #{index + 1}"
        return _frame(spec.width, spec.height, t, palette, text, label)

    encoding = Encoding(
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        duration=spec.duration,
        faststart=spec.faststart,
        pad_to_bytes=spec.pad_to_bytes,
    )
    return encode_mp4(encoding, frame_at, target, progress=progress, should_stop=should_stop)


def render_image(
    spec: ImageSpec,
    target: Path,
    *,
    progress: ProgressCallback = _no_progress,
    should_stop: StopCheck = _never_stop,
) -> Rendered:
    """Draw ``spec`` as a PNG at ``target``."""
    if should_stop():
        raise RenderStoppedError
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    palette = _palette(spec.seed)
    text = _text_layer(spec.prompt, spec.width, spec.height)
    image = Image.fromarray(_background(spec.width, spec.height, 0.0, palette), "RGB")
    image.paste(text, (0, 0), text)
    try:
        image.save(tmp, format="PNG")
        progress(1, 1)
        return _replace(tmp, target, "image/png")
    finally:
        tmp.unlink(missing_ok=True)
