"""The film from its scenes: probe, plan, make the video, lay the audio, mux with faststart."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from reelhouse.assembler.film.audio_bed import track_seconds, write_bed
from reelhouse.assembler.film.concat import concat_video
from reelhouse.assembler.film.crossfade import film_frames, overlaps
from reelhouse.assembler.film.crossfade import segments as crossfade_segments
from reelhouse.assembler.film.encode import encode_video
from reelhouse.assembler.film.inputs import SceneInfo, probe_scenes
from reelhouse.assembler.film.mux import mux_film
from reelhouse.assembler.film.normalise import Fitter
from reelhouse.assembler.film.plan import FilmPlan, plan_film
from reelhouse.assembler.film.pulse import Pulse
from reelhouse.assembler.film.scene_audio import write_scene_audio
from reelhouse.assembler.film.segments import Segment, film_duration
from reelhouse.common.composition_events import OutputFormat, Transition

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FilmResult:
    # copy: the scenes' video streams matched and were joined without re-encoding
    method: Literal["copy", "reencode"]
    duration: float  # seconds, of the written film
    width: int
    height: int
    fps: float


def _video(
    scenes: Sequence[SceneInfo], plan: FilmPlan, target: Path, pulse: Pulse
) -> list[Segment]:
    """Write the film's video stream into ``target``; returns each scene's span in the film."""
    if plan.method == "copy":
        return concat_video(scenes, target, pulse)
    shared = overlaps(scenes, plan.crossfade, plan.fps)
    frames = film_frames(scenes, shared, plan.fps, Fitter(plan.width, plan.height), pulse)
    encode_video(frames, target, plan.width, plan.height, plan.fps, pulse)
    return crossfade_segments(scenes, shared, plan.fps)


@dataclass(frozen=True, slots=True)
class _Bed:
    path: Path
    seconds: float


def _audio(
    scenes: Sequence[SceneInfo],
    source: _Bed | Literal["scenes", "none"],
    spans: Sequence[Segment],
    workdir: Path,
    pulse: Pulse,
) -> Path | None:
    """Write the film's one audio track into ``workdir`` (None: the film is silent)."""
    target = workdir / "audio.mp4"
    if isinstance(source, _Bed):
        write_bed(source.path, source.seconds, film_duration(spans), target, pulse)
        return target
    if source == "scenes":
        write_scene_audio(scenes, spans, target, pulse)
        return target
    return None


def assemble_film(
    *,
    scenes: Sequence[Path],
    audio: Path | None,
    transition: Transition,
    output: OutputFormat,
    target: Path,
    workdir: Path,
    heartbeat: Callable[[], None] | None = None,
) -> FilmResult:
    """Join ``scenes`` (in film order) into one MP4 at ``target``, ``audio`` laid under it.

    Blocking (decoding and encoding in C): run it in a worker thread. Raises ``FilmError``
    when a scene or the track cannot be used; scratch files go to ``workdir`` only.
    """
    pulse = Pulse(heartbeat)
    infos = probe_scenes(scenes, pulse)
    plan = plan_film(infos, transition, output)
    source: _Bed | Literal["scenes", "none"]
    if audio is not None:
        source = _Bed(audio, track_seconds(audio, pulse))
    else:
        source = "scenes" if all(scene.has_audio for scene in infos) else "none"
    log.info(
        "film.planned",
        method=plan.method,
        reason=plan.reason or None,
        scenes=len(infos),
        width=plan.width,
        height=plan.height,
        fps=float(plan.fps),
        crossfade=plan.crossfade,
        audio="bed" if isinstance(source, _Bed) else source,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    video = workdir / "video.mp4"
    spans = _video(infos, plan, video, pulse)
    track = _audio(infos, source, spans, workdir, pulse)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        mux_film(video, track, partial, pulse)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    duration = film_duration(spans)
    log.info(
        "film.written",
        method=plan.method,
        duration=round(duration, 3),
        bytes=target.stat().st_size,
        audio=track is not None,
    )
    return FilmResult(plan.method, duration, plan.width, plan.height, float(plan.fps))
