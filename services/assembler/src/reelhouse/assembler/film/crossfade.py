"""Lay the scenes end to end, each one's last frames blended into the next one's first.

A crossfade of ``m`` frames between scenes ``i`` and ``i + 1`` shows, for ``j = 0 … m - 1``,
``(1 - a) · tail_i[j] + a · head_{i+1}[j]`` with ``a = (j + 1) / (m + 1)``: a linear ramp.
Only the tail of one scene is held (``m`` frames); everything else streams through.
A cut is the same walk with ``m = 0``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np
import structlog

from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.normalise import Fitter, Pixels, frame_count, scene_frames
from reelhouse.assembler.film.pulse import Pulse
from reelhouse.assembler.film.segments import Segment

log = structlog.get_logger(__name__)


def overlaps(scenes: Sequence[SceneInfo], seconds: float, fps: Fraction) -> list[int]:
    """Frames shared by each pair of neighbours: ``seconds`` at ``fps``, at most half of the
    shorter of the two (so a scene is never faded out before it has faded in)."""
    asked = round(seconds * fps)
    shared: list[int] = []
    for before, after in itertools.pairwise(scenes):
        limit = min(frame_count(before, fps), frame_count(after, fps)) // 2
        if asked > limit:
            log.warning(
                "film.crossfade_clamped",
                after_scene=before.index,
                asked_seconds=seconds,
                seconds=float(limit / fps),
            )
        shared.append(min(asked, limit))
    return shared


def segments(scenes: Sequence[SceneInfo], shared: Sequence[int], fps: Fraction) -> list[Segment]:
    """Each scene's span in the film, in seconds, up to where the next one starts fading in
    (the last scene runs to the end), and how long it overlaps the next."""
    spans: list[Segment] = []
    start = 0
    for position, scene in enumerate(scenes):
        count = frame_count(scene, fps)
        overlap = shared[position] if position < len(shared) else 0
        length = count - overlap
        spans.append(Segment(float(start / fps), float(length / fps), float(overlap / fps)))
        start += length
    return spans


def _blend(tail: Pixels, head: Pixels, alpha: float) -> Pixels:
    mixed = tail.astype(np.float32) * (1.0 - alpha) + head.astype(np.float32) * alpha
    blended: Pixels = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return blended


def film_frames(
    scenes: Sequence[SceneInfo],
    shared: Sequence[int],
    fps: Fraction,
    fit: Fitter,
    pulse: Pulse,
) -> Iterator[Pixels]:
    """Every frame of the film, in order: scenes at ``fps``, fitted, crossfaded by ``shared``."""
    tail: deque[Pixels] = deque()  # the previous scene's last frames, waiting to blend
    for position, scene in enumerate(scenes):
        fade_in = shared[position - 1] if position > 0 else 0
        fade_out = shared[position] if position < len(shared) else 0
        keep_from = frame_count(scene, fps) - fade_out
        for number, pixels in enumerate(scene_frames(scene, fps, fit, pulse)):
            if number < fade_in:
                yield _blend(tail.popleft(), pixels, (number + 1) / (fade_in + 1))
            elif number >= keep_from:
                tail.append(pixels)
            else:
                yield pixels
    yield from tail  # empty (the last scene holds nothing back); kept so no frame is lost
