"""Image-to-video: a slow zoom and pan over a still image (Ken Burns), with a caption.

The first frame shows the whole image (fitted to the frame by a centred crop); the camera
then pushes in to ``ZOOM_END`` while drifting towards a seed-chosen point. The source is
scaled once to the largest size any frame needs, so each frame is one box-resize of it
plus the caption pasted on top. Encoding is ``render.encode_mp4``'s.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from reelhouse.sandbox.render import (
    Encoding,
    ProgressCallback,
    Rendered,
    StopCheck,
    encode_mp4,
)

ZOOM_END = 1.2
# how far (as a fraction of the frame) the view centre may drift by the end
MAX_DRIFT = 0.08
LONG_SIDE = 640
MIN_SIDE = 64
MAX_SIDE = 1920


@dataclass(frozen=True, slots=True)
class MotionSpec:
    caption: str
    duration: float
    width: int
    height: int
    fps: int
    seed: int


def _even(value: float) -> int:
    return max(MIN_SIDE, min(MAX_SIDE, round(value / 2) * 2))


def frame_size(
    image_size: tuple[int, int], width: int | None, height: int | None
) -> tuple[int, int]:
    """The output size: as asked; one side asked, the other from the image's aspect ratio;
    neither, the image's aspect ratio fitted into ``LONG_SIDE`` pixels on its long side.
    Always even (H.264 with yuv420p needs it) and within 64–1920."""
    source_width, source_height = image_size
    aspect = source_width / source_height
    if width is not None and height is not None:
        return width, height
    if width is not None:
        return width, _even(width / aspect)
    if height is not None:
        return _even(height * aspect), height
    if aspect >= 1:
        return LONG_SIDE, _even(LONG_SIDE / aspect)
    return _even(LONG_SIDE * aspect), LONG_SIDE


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` scaled to cover ``width``×``height`` and cropped to it, centred."""
    scale = max(width / image.width, height / image.height)
    scaled_width = max(width, round(image.width * scale))
    scaled_height = max(height, round(image.height * scale))
    resized = image.resize((scaled_width, scaled_height), Image.Resampling.LANCZOS)
    left = (scaled_width - width) // 2
    top = (scaled_height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def caption_layer(caption: str, width: int, height: int) -> Image.Image | None:
    """The caption, wrapped, on a translucent band at the bottom (None without a caption)."""
    if not caption.strip():
        return None
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(8, height // 20))
    columns = max(8, int(width / max(1.0, draw.textlength("M", font=font))) * 3 // 2)
    lines = textwrap.wrap(caption, width=columns, max_lines=2, placeholder=" …") or [" "]
    text = "\n".join(lines)
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, align="center")
    pad = max(2, height // 60)
    x = (width - (right - left)) // 2 - left
    y = height - (bottom - top) - 2 * pad - top
    draw.rectangle((0, y + top - pad, width, height), fill=(0, 0, 0, 140))
    draw.multiline_text((x, y), text, font=font, fill=(255, 255, 255, 255), align="center")
    return layer


def _ease(t: float) -> float:
    """Smooth start and end (smoothstep)."""
    return t * t * (3 - 2 * t)


class KenBurns:
    """The frames of one clip: ``frame(index)`` for ``index`` in ``0 … total - 1``."""

    def __init__(self, source: Image.Image, spec: MotionSpec, total_frames: int) -> None:
        self._spec = spec
        self._total = total_frames
        # the largest view any frame needs, at the resolution the deepest zoom needs
        self._base = _cover(source, round(spec.width * ZOOM_END), round(spec.height * ZOOM_END))
        rng = random.Random(spec.seed)  # noqa: S311 (a camera path, not cryptography)
        self._drift = (rng.uniform(-1, 1) * MAX_DRIFT, rng.uniform(-1, 1) * MAX_DRIFT)
        self._caption = caption_layer(spec.caption, spec.width, spec.height)

    def view(self, index: int) -> tuple[float, float, float, float]:
        """The box of the base image frame ``index`` shows."""
        progress = _ease(index / max(1, self._total - 1))
        zoom = 1 + (ZOOM_END - 1) * progress
        base_width, base_height = self._base.size
        view_width, view_height = base_width / zoom, base_height / zoom
        centre_x = base_width * (0.5 + self._drift[0] * progress)
        centre_y = base_height * (0.5 + self._drift[1] * progress)
        left = min(max(0.0, centre_x - view_width / 2), base_width - view_width)
        top = min(max(0.0, centre_y - view_height / 2), base_height - view_height)
        return left, top, left + view_width, top + view_height

    def frame(self, index: int) -> Image.Image:
        size = (self._spec.width, self._spec.height)
        image = self._base.resize(size, Image.Resampling.BILINEAR, box=self.view(index))
        if self._caption is not None:
            image.paste(self._caption, (0, 0), self._caption)
        return image


def render_motion(
    source: Image.Image,
    spec: MotionSpec,
    target: Path,
    *,
    progress: ProgressCallback,
    should_stop: StopCheck,
) -> Rendered:
    """Encode the zoom over ``source`` described by ``spec`` as an MP4 at ``target``."""
    encoding = Encoding(width=spec.width, height=spec.height, fps=spec.fps, duration=spec.duration)
    frames = KenBurns(source, spec, encoding.total_frames)
    return encode_mp4(encoding, frames.frame, target, progress=progress, should_stop=should_stop)
