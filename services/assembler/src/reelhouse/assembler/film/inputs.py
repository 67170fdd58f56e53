"""Probe the scene files: what their video stream is, how long it lasts, whether they have audio.

Each scene is opened and its video stream demuxed packet by packet (cheap: only packets until
the first frame comes out are decoded) to measure the exact span of its frames, so a file that
is not media fails here with the scene's place in the film rather than half-way through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.pulse import Pulse

FALLBACK_FPS = Fraction(25)
ATTACHED_PICTURE = av.stream.Disposition.attached_pic


@dataclass(frozen=True, slots=True)
class SceneInfo:
    index: int  # the scene's place in the film, from 0
    path: Path
    video_stream: int  # which of the file's video streams is the scene's pictures
    codec: str
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    pix_fmt: str | None
    extradata: bytes | None
    # the span of its frames: first frame's pts to the end of the last one, in time_base units
    start_pts: int
    end_pts: int
    has_audio: bool

    @property
    def duration(self) -> float:
        return float((self.end_pts - self.start_pts) * self.time_base)


def _moving_video(container: Any) -> tuple[int, Any] | None:
    """The first video stream that is pictures in motion (not an attached cover image)."""
    for position, stream in enumerate(container.streams.video):
        if not stream.disposition & ATTACHED_PICTURE:
            return position, stream
    return None


def _first_frame(stream: Any, packet: Any) -> bool:
    """Decode ``packet`` (None: drain the decoder); whether a frame came out."""
    return bool(stream.decode(packet))


def probe_scene(index: int, path: Path, pulse: Pulse) -> SceneInfo:
    """Describe scene ``index`` at ``path``; ``FilmError`` when it has no decodable video."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            found = _moving_video(container)
            if found is None:
                raise FilmError(f"scene {index} has no video stream")
            position, video = found
            time_base: Fraction | None = video.time_base
            if time_base is None:
                raise FilmError(f"scene {index} has a video stream without a time base")
            fps: Fraction = video.average_rate or video.guessed_rate or FALLBACK_FPS
            frame_ticks = max(1, round(1 / (fps * time_base)))
            start: int | None = None
            end: int | None = None
            decodes = False
            # one pass: measure the frames' span, and decode until a first frame comes out
            for packet in container.demux(video):
                pulse.beat()
                if packet.pts is None:
                    continue
                start = packet.pts if start is None else min(start, packet.pts)
                stop = packet.pts + (packet.duration or frame_ticks)
                end = stop if end is None else max(end, stop)
                decodes = decodes or _first_frame(video, packet)
            decodes = decodes or _first_frame(video, None)
            if start is None or end is None or not decodes:
                raise FilmError(f"scene {index} has no decodable video frame")
            context = video.codec_context
            return SceneInfo(
                index=index,
                path=path,
                video_stream=position,
                codec=context.name,
                width=context.width,
                height=context.height,
                fps=fps,
                time_base=time_base,
                pix_fmt=context.pix_fmt,
                extradata=context.extradata,
                start_pts=start,
                end_pts=end,
                has_audio=bool(container.streams.audio),
            )
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise FilmError(f"scene {index} could not be decoded: {reason(exc)}") from exc


def probe_scenes(scenes: Sequence[Path], pulse: Pulse) -> list[SceneInfo]:
    """Probe every scene, in film order; ``FilmError`` for none, or for the first bad one."""
    if not scenes:
        raise FilmError("a film needs at least one scene")
    return [probe_scene(index, path, pulse) for index, path in enumerate(scenes)]
