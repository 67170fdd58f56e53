"""Decode a scene into the film's frames: its size (aspect kept, black bars) and its rate.

One frame at a time: the scene is decoded as a stream, and each output instant ``k / fps``
shows the source frame on screen at that time (frames dropped or repeated by timestamp).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.pulse import Pulse

Pixels = npt.NDArray[np.uint8]  # height × width × 3, RGB
EPSILON = 1e-6  # seconds: rounding in timestamps never skips a frame


def frame_count(scene: SceneInfo, fps: Fraction) -> int:
    """How many frames the scene lasts at the film's rate (at least one)."""
    return max(1, round(scene.duration * fps))


def fitted_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """``width × height`` scaled to fit in the box with its aspect kept (even sides)."""
    scale = min(box_width / width, box_height / height)
    fitted_width = min(box_width, max(2, round(width * scale / 2) * 2))
    fitted_height = min(box_height, max(2, round(height * scale / 2) * 2))
    return fitted_width, fitted_height


class Fitter:
    """Scale a decoded frame into the film's frame, letterboxed or pillarboxed in black."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height

    def __call__(self, frame: av.VideoFrame) -> Pixels:
        inner_width, inner_height = fitted_size(frame.width, frame.height, self.width, self.height)
        rgb = frame.reformat(width=inner_width, height=inner_height, format="rgb24")
        scaled: Pixels = np.asarray(rgb.to_ndarray(), dtype=np.uint8)
        if (inner_width, inner_height) == (self.width, self.height):
            return scaled
        canvas = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        top = (self.height - inner_height) // 2
        left = (self.width - inner_width) // 2
        canvas[top : top + inner_height, left : left + inner_width] = scaled
        return canvas


def _decoded(scene: SceneInfo, pulse: Pulse) -> Iterator[tuple[float, av.VideoFrame]]:
    """The scene's frames with their time from the scene's first frame, in seconds."""
    try:
        with av.open(str(scene.path), mode="r", metadata_errors="ignore") as container:
            video = container.streams.video[scene.video_stream]
            video.thread_type = "AUTO"
            for frame in container.decode(video):
                pulse.beat()
                if frame.pts is None:
                    continue
                yield float((frame.pts - scene.start_pts) * scene.time_base), frame
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise FilmError(f"scene {scene.index} could not be decoded: {reason(exc)}") from exc


def scene_frames(scene: SceneInfo, fps: Fraction, fit: Fitter, pulse: Pulse) -> Iterator[Pixels]:
    """The scene's ``frame_count`` frames at ``fps``, each fitted into the film's frame."""
    count = frame_count(scene, fps)
    emitted = 0
    current: av.VideoFrame | None = None
    pixels: Pixels | None = None  # ``current`` fitted, once it is shown
    for time, frame in _decoded(scene, pulse):
        # show the current frame at every output instant before this frame's time
        while current is not None and emitted < count and emitted / fps < time - EPSILON:
            if pixels is None:
                pixels = fit(current)
            yield pixels
            emitted += 1
        if emitted >= count:
            return
        current, pixels = frame, None
    if current is None:
        raise FilmError(f"scene {scene.index} has no decodable video frame")
    while emitted < count:
        if pixels is None:
            pixels = fit(current)
        yield pixels
        emitted += 1
