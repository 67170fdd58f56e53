"""Decide how the film is made: copy the scenes' video packets, or re-encode them.

Copying is only safe when every scene's video stream is exactly what the film's would be (same
codec, frame size, rate, time base, pixel format and decoder configuration) and scenes follow
each other with a hard cut; anything else is decoded, normalised and encoded again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.common.composition_events import OutputFormat, Transition

# video codecs the MP4 muxer takes as they are and browsers play
COPYABLE_CODECS = frozenset({"h264", "hevc", "av1", "vp9"})
FPS_TOLERANCE = 1e-3

Method = Literal["copy", "reencode"]


@dataclass(frozen=True, slots=True)
class FilmPlan:
    method: Method
    width: int
    height: int
    fps: Fraction
    crossfade: float  # seconds asked for between two scenes (0: a cut)
    reason: str  # why it is re-encoded ("" when copied)


def output_fps(value: float | None, first: SceneInfo) -> Fraction:
    """The film's frame rate as an exact fraction (29.97 → 2997/100, 23.976… → 24000/1001)."""
    if value is None:
        return first.fps
    return Fraction(value).limit_denominator(1001)


def _mismatch(scene: SceneInfo, first: SceneInfo, width: int, height: int, fps: Fraction) -> str:
    """Why ``scene``'s packets cannot be copied into the film ("" when they can)."""
    checks = (
        (scene.codec not in COPYABLE_CODECS, f"codec {scene.codec} is not copied into MP4"),
        (scene.codec != first.codec, "codec differs"),
        ((scene.width, scene.height) != (width, height), "frame size differs"),
        (abs(float(scene.fps - fps)) > FPS_TOLERANCE, "frame rate differs"),
        (scene.time_base != first.time_base, "time base differs"),
        (scene.pix_fmt != first.pix_fmt, "pixel format differs"),
        (scene.extradata != first.extradata, "decoder configuration differs"),
    )
    return next((f"scene {scene.index}: {why}" for failed, why in checks if failed), "")


def plan_film(
    scenes: Sequence[SceneInfo], transition: Transition, output: OutputFormat
) -> FilmPlan:
    """The method and the film's frame size and rate (a ``None`` field takes the first scene's)."""
    first = scenes[0]
    width = output.width or first.width
    height = output.height or first.height
    fps = output_fps(output.fps, first)
    crossfade = transition.seconds if transition.type == "crossfade" else 0.0
    if crossfade > 0:
        reason = "crossfade"
    else:
        reason = next(
            (why for scene in scenes if (why := _mismatch(scene, first, width, height, fps))), ""
        )
    if not reason:
        return FilmPlan("copy", width, height, fps, crossfade, reason)
    # yuv420p needs even sides; an odd first scene gives the film one row or column less
    return FilmPlan("reencode", width - width % 2, height - height % 2, fps, crossfade, reason)
