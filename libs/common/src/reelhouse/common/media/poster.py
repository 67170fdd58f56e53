"""A poster for a video: the first frame near the start that is not black, as a JPEG.

Many generated videos fade in from black; a black poster looks like a broken player. Frames
are decoded from the start for at most ``scan_seconds`` (and ``MAX_FRAMES``); each is judged
on a small grey thumbnail, and the first with visible content wins (the first frame when
none has any). The poster is scaled down to ``max_width``, keeping its aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from reelhouse.common.errors import PermanentError

MAX_FRAMES = 300
THUMB_WIDTH = 64
# a frame shows something when 1% of its pixels are brighter than this (0–255 grey)
VISIBLE_LEVEL = 40
VISIBLE_PERCENTILE = 99
JPEG_QUALITY = 82


@dataclass(frozen=True, slots=True)
class Poster:
    width: int
    height: int
    # seconds into the video of the frame used
    at: float


def is_visible(frame: av.VideoFrame) -> bool:
    """Whether ``frame`` shows something (judged on a small grey copy)."""
    height = max(2, round(frame.height * THUMB_WIDTH / max(1, frame.width)))
    grey = frame.reformat(width=THUMB_WIDTH, height=height, format="gray").to_ndarray()
    return bool(np.percentile(grey, VISIBLE_PERCENTILE) > VISIBLE_LEVEL)


def _pick_frame(path: Path, scan_seconds: float) -> av.VideoFrame | None:
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        stream = next(iter(container.streams.video), None)
        if stream is None:
            return None
        first: av.VideoFrame | None = None
        for count, frame in enumerate(container.decode(stream)):
            first = first or frame
            if is_visible(frame):
                return frame
            if count >= MAX_FRAMES or (frame.time or 0.0) > scan_seconds:
                break
        return first


def make_poster(path: Path, target: Path, *, max_width: int, scan_seconds: float) -> Poster | None:
    """Write the poster of the video at ``path`` to ``target`` (JPEG); None without frames."""
    try:
        frame = _pick_frame(path, scan_seconds)
    except (av.FFmpegError, ValueError) as exc:
        raise PermanentError(
            "corrupt_media", f"No poster frame could be decoded from the video: {exc}."
        ) from exc
    if frame is None:
        return None
    image = Image.fromarray(frame.to_ndarray(format="rgb24"), "RGB")
    if image.width > max_width:
        height = max(2, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    image.save(target, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Poster(width=image.width, height=image.height, at=float(frame.time or 0.0))
